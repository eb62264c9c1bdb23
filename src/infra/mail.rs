//! Sending mail through SMTP (`KEYTURN_SMTP_URL`), with lettre.

use anyhow::Context;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// An SMTP connection's settings and the sender's address.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: show only the sender.
        write!(f, "Mailer {{ from: {} }}", self.from)
    }
}

impl Mailer {
    /// `url`: `smtp://host:port`, `smtps://user:pass@host`, or `smtp://host:port?tls=required`.
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("KEYTURN_SMTP_URL is not a usable SMTP URL: {e}"))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = from
            .parse()
            .with_context(|| format!("KEYTURN_MAIL_FROM is not an address: {from}"))?;
        Ok(Mailer { transport, from })
    }

    pub async fn send(&self, to: &str, subject: &str, body: String) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(to
                .parse()
                .with_context(|| format!("not a mail address: {to}"))?)
            .subject(subject)
            .body(body)
            .context("building a mail")?;
        self.transport
            .send(message)
            .await
            .map_err(|e| anyhow::anyhow!("sending a mail: {e}"))?;
        Ok(())
    }
}
