//! The worker that finds time-based events, fans events out into deliveries and sends them.
//! Every instance runs one; the database decides who takes what (see `db::notifications`).

use super::events::{
    record, REVOCATION_REMINDER, ROTATION_COMPLETED, SECRET_EXPIRED, SECRET_EXPIRING,
};
use super::messages;
use crate::db::notifications::{self as outbox, AttemptResult, DueDelivery, NewDelivery};
use crate::db::secrets::SecretRow;
use crate::db::{self, Conn, DbPool};
use crate::domain::MailedLink;
use crate::domain::WebhookKeys;
use crate::infra::clock::Clock;
use crate::infra::mail::Mailer;
use crate::infra::webhook_client;
use crate::service::policy;
use chrono::{NaiveDateTime, TimeDelta};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// A delivery taken by a worker is its own for this long; if the worker dies, another takes it.
const LEASE: TimeDelta = TimeDelta::minutes(5);
/// A delivery still failing this long after the event is given up.
const GIVE_UP_AFTER: TimeDelta = TimeDelta::hours(25);
/// The wait before each retry: the first within 30 seconds, then growing to 8 hours.
const BACKOFF_SECONDS: [i64; 9] = [10, 30, 120, 600, 1800, 3600, 7200, 14400, 28800];
/// How often the worker looks for work (one indexed query when there is none), and every how
/// many rounds for secrets whose end is near.
const POLL: Duration = Duration::from_secs(1);
const SCAN_EVERY: u32 = 2;

/// Everything the worker and the webhook pages need.
#[derive(Debug)]
pub struct Notifier {
    pool: DbPool,
    clock: Clock,
    mailer: Option<Mailer>,
    keys: WebhookKeys,
    allow_private: bool,
    public_url: String,
}

impl Notifier {
    pub fn new(
        pool: DbPool,
        clock: Clock,
        mailer: Option<Mailer>,
        keys: WebhookKeys,
        allow_private: bool,
        public_url: String,
    ) -> Self {
        Notifier {
            pool,
            clock,
            mailer,
            keys,
            allow_private,
            public_url,
        }
    }

    pub fn keys(&self) -> &WebhookKeys {
        &self.keys
    }

    /// Mails an address invited to a team, in the background, if mail is configured. Not
    /// retried (the outbox's events belong to apps): a failure is logged, and the invitation
    /// stands either way.
    pub fn mail_invitation(self: &Arc<Self>, to: String, team_name: &str, role: &str) {
        let signup_page = format!("{}/signup", self.public_url);
        let (subject, body) = messages::invitation(team_name, role, &signup_page);
        self.mail_now(to, subject, body);
    }

    /// Whether mail is configured (`KEYTURN_SMTP_URL`): without it, addresses cannot be proven
    /// and count as verified.
    pub fn mails(&self) -> bool {
        self.mailer.is_some()
    }

    /// Mails a single-use link of an account (verify the address, reset the password) to
    /// `path?token=...` on this server, in the background. Never through the outbox, which
    /// would keep the link in the database; a lost mail is sent again on request.
    pub fn mail_account_link(self: &Arc<Self>, to: String, link: MailedLink) {
        let url = format!("{}{}", self.public_url, link.path());
        let (subject, body) = messages::account_link(&link, &url);
        self.mail_now(to, subject, body);
    }

    /// Sends a mail in the background, if mail is configured; a failure is logged.
    fn mail_now(self: &Arc<Self>, to: String, subject: String, body: String) {
        if self.mailer.is_none() {
            return;
        }
        let notifier = Arc::clone(self);
        tokio::spawn(async move {
            if let Some(mailer) = &notifier.mailer {
                if let Err(e) = mailer.send(&to, &subject, body).await {
                    tracing::warn!(error = format!("{e:#}"), "notifications: a mail failed");
                }
            }
        });
    }

    /// Whether webhooks may target loopback and private addresses (development, tests).
    pub fn allow_private(&self) -> bool {
        self.allow_private
    }

    /// Runs the worker on the current runtime until the notifier is dropped (the server
    /// stopped).
    pub fn spawn(notifier: &Arc<Notifier>) {
        let notifier: Weak<Notifier> = Arc::downgrade(notifier);
        tokio::spawn(async move {
            let mut round: u32 = 0;
            loop {
                tokio::time::sleep(POLL).await;
                let Some(notifier) = notifier.upgrade() else {
                    return;
                };
                if let Err(e) = notifier.run_once(round.is_multiple_of(SCAN_EVERY)).await {
                    tracing::warn!(error = format!("{e:#}"), "notifications: a round failed");
                }
                round = round.wrapping_add(1);
            }
        });
    }

    async fn run_once(&self, scan: bool) -> anyhow::Result<()> {
        let now = self.clock.now();
        // Each step on its own: a failing scan must not hold back deliveries.
        if scan {
            if let Err(e) = self.find_time_based(now).await {
                tracing::warn!(error = format!("{e:#}"), "notifications: the scan failed");
            }
        }
        if !db::run(&self.pool, move |conn| {
            Ok::<_, anyhow::Error>(outbox::has_work(conn, now)?)
        })
        .await?
        {
            return Ok(());
        }
        if let Err(e) = self.fan_out(now).await {
            tracing::warn!(
                error = format!("{e:#}"),
                "notifications: fanning out failed"
            );
        }
        let due = db::run(&self.pool, move |conn| {
            db::write_transaction(conn, |conn| outbox::claim_due(conn, now, now + LEASE, 20))
                .map_err(anyhow::Error::from)
        })
        .await?;
        futures_util::future::join_all(due.into_iter().map(|d| self.deliver(d, now))).await;
        Ok(())
    }

    /// Records, once each, the events that time brings: a secret's lifetime entering the
    /// warning period and its last day, a scheduled revocation a day away while the secret is
    /// still used, and a secret that has ended (with the rotation it completes). A secret
    /// already notified is not even read again.
    async fn find_time_based(&self, now: NaiveDateTime) -> anyhow::Result<()> {
        db::run(&self.pool, move |conn| {
            let policy = policy::read_in(conn)?;
            let day = TimeDelta::days(1);
            let scheduled =
                |s: &SecretRow| s.expires_at.is_some() && s.expires_at != s.lifetime_ends_at;
            // The owner chose a scheduled revocation: no "expiring" for it, only the reminder.
            for secret in
                outbox::secrets_to_notify(conn, "expiring", now + day, now + policy.warning())?
            {
                if !scheduled(&secret) {
                    notify(conn, &secret, "expiring", &[SECRET_EXPIRING], now)?;
                }
            }
            for secret in outbox::secrets_to_notify(conn, "last-day", now, now + day)? {
                if !scheduled(&secret) {
                    notify(conn, &secret, "last-day", &[SECRET_EXPIRING], now)?;
                }
            }
            for secret in outbox::secrets_to_notify(conn, "reminder", now, now + day)? {
                let in_use = secret
                    .last_used_at
                    .is_some_and(|used| used >= now - TimeDelta::hours(1));
                if scheduled(&secret) && in_use {
                    notify(conn, &secret, "reminder", &[REVOCATION_REMINDER], now)?;
                }
            }
            for secret in outbox::secrets_to_notify(conn, "ended", now - TimeDelta::days(7), now)? {
                let completes_rotation =
                    scheduled(&secret) && db::secrets::count_active(conn, secret.app_id, now)? > 0;
                let events: &[&str] = if completes_rotation {
                    &[SECRET_EXPIRED, ROTATION_COMPLETED]
                } else {
                    &[SECRET_EXPIRED]
                };
                notify(conn, &secret, "ended", events, now)?;
            }
            Ok(())
        })
        .await
    }

    /// Turns each new event into one delivery per webhook of its app and, with mail
    /// configured, one mail to each of the people who look after the app.
    async fn fan_out(&self, now: NaiveDateTime) -> anyhow::Result<()> {
        let mail = self.mailer.is_some();
        db::run(&self.pool, move |conn| {
            db::write_transaction(conn, |conn| {
                for event in outbox::claim_events(conn, 50)? {
                    let recipients = if mail && messages::for_mail(&event.event_type) {
                        outbox::app_recipients(conn, event.app_id)?
                    } else {
                        Vec::new()
                    };
                    let delivery = |webhook_id, recipient| NewDelivery {
                        event_id: event.id,
                        webhook_id,
                        recipient,
                        created_at: now,
                        next_attempt_at: now,
                    };
                    if messages::for_webhooks(&event.event_type) {
                        for webhook in db::webhooks::list_for_app(conn, event.app_id)? {
                            outbox::insert_delivery(conn, &delivery(Some(webhook.id), None))?;
                        }
                    }
                    for to in &recipients {
                        outbox::insert_delivery(conn, &delivery(None, Some(to)))?;
                    }
                    outbox::mark_fanned_out(conn, event.id, now)?;
                }
                Ok::<_, diesel::result::Error>(())
            })
            .map_err(anyhow::Error::from)
        })
        .await
    }

    /// One attempt at one delivery, and its outcome recorded.
    async fn deliver(&self, delivery: DueDelivery, now: NaiveDateTime) {
        let app_page = format!("{}/apps/{}", self.public_url, delivery.event.app_id);
        let outcome = match (
            &delivery.webhook_url,
            &delivery.webhook_key_id,
            &delivery.recipient,
        ) {
            (Some(url), Some(key_id), _) => self.send_webhook(&delivery, url, key_id, now).await,
            (_, _, Some(to)) => match &self.mailer {
                Some(mailer) => {
                    let (subject, body) = messages::mail(&delivery.event, &app_page);
                    mailer
                        .send(to, &subject, body)
                        .await
                        .map(|()| None)
                        .map_err(|e| (None, format!("{e:#}")))
                }
                None => Err((None, "mail is not configured".to_owned())),
            },
            _ => Err((None, "nowhere to send it".to_owned())),
        };
        let result = match outcome {
            Ok(status) => AttemptResult::Delivered { status },
            Err((status, error)) if now - delivery.created_at >= GIVE_UP_AFTER => {
                AttemptResult::GaveUp { status, error }
            }
            Err((status, error)) => {
                let step = usize::try_from(delivery.attempts.max(1) - 1).unwrap_or(0);
                let wait = BACKOFF_SECONDS[step.min(BACKOFF_SECONDS.len() - 1)];
                AttemptResult::Failed {
                    status,
                    error,
                    retry_at: now + TimeDelta::seconds(wait),
                }
            }
        };
        let id = delivery.id;
        let recorded = db::run(&self.pool, move |conn| {
            outbox::record_attempt(conn, id, result, now).map_err(anyhow::Error::from)
        })
        .await;
        if let Err(e) = recorded {
            tracing::warn!(
                error = format!("{e:#}"),
                "notifications: recording an attempt failed"
            );
        }
    }

    /// POSTs the event, signed, to the endpoint: the HTTP status on a 2xx answer.
    async fn send_webhook(
        &self,
        delivery: &DueDelivery,
        url: &str,
        key_id: &str,
        now: NaiveDateTime,
    ) -> Result<Option<i32>, (Option<i32>, String)> {
        let target = webhook_client::check(url, self.allow_private)
            .await
            .map_err(|e| (None, e.to_string()))?;
        let body = messages::webhook_body(&delivery.event);
        let message_id = format!("msg_{}", delivery.id);
        let timestamp = now.and_utc().timestamp();
        let signature = self.keys.key(key_id).sign(&message_id, timestamp, &body);
        let headers = [
            ("webhook-id", message_id),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ];
        match webhook_client::post(&target, &headers, body).await {
            Ok(status) if (200..300).contains(&status) => Ok(Some(i32::from(status))),
            Ok(status) => Err((Some(i32::from(status)), format!("HTTP {status}"))),
            Err(error) => Err((None, error)),
        }
    }
}

/// Marks the `kind` notice of the secret's end as sent and records its events, in one
/// transaction: either both happen or neither, and only one worker gets to do it.
fn notify(
    conn: &mut Conn,
    secret: &SecretRow,
    kind: &str,
    events: &[&str],
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    let Some(end) = secret.expires_at else {
        return Ok(());
    };
    db::write_transaction(conn, |conn| {
        if outbox::mark_notified(conn, secret.id, kind, end)? {
            for event in events {
                record(conn, event, secret, None, now, None)?;
            }
        }
        Ok(())
    })
}
