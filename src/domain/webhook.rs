//! Webhook signing (Standard Webhooks): each endpoint's key is derived from the server's
//! master key and a random id stored with the endpoint, so the database alone never holds a
//! signing key, and every instance sharing the master key signs alike.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// Derives the signing key of each webhook endpoint.
#[derive(Clone)]
pub struct WebhookKeys(HmacSha256);

impl WebhookKeys {
    pub fn derive(master: &[u8]) -> Self {
        WebhookKeys(super::derived_key::derived_hmac(
            master,
            b"keyturn webhook signing keys v1",
        ))
    }

    /// A fresh random id for a new endpoint (stored; not secret by itself).
    pub fn new_key_id() -> String {
        super::random::random_base62(32)
    }

    /// The signing key of the endpoint with this key id.
    pub fn key(&self, key_id: &str) -> WebhookKey {
        let mut mac = self.0.clone();
        mac.update(key_id.as_bytes());
        WebhookKey(Zeroizing::new(mac.finalize().into_bytes().to_vec()))
    }
}

impl fmt::Debug for WebhookKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookKeys([REDACTED])")
    }
}

/// One endpoint's signing key.
pub struct WebhookKey(Zeroizing<Vec<u8>>);

impl WebhookKey {
    /// `whsec_` and the key in base64: what the endpoint's owner is shown, once.
    pub fn expose(&self) -> String {
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(self.0.as_slice())
        )
    }

    /// The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of
    /// `{id}.{timestamp}.{body}`.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &str) -> String {
        let mut mac =
            HmacSha256::new_from_slice(self.0.as_slice()).unwrap_or_else(|_| unreachable!());
        mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    }
}

impl fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_the_master_and_the_id_and_never_show_in_debug() {
        let keys = WebhookKeys::derive(b"master one");
        let a = keys.key("id-a");
        assert_eq!(a.expose(), keys.key("id-a").expose());
        assert_ne!(a.expose(), keys.key("id-b").expose());
        assert_ne!(
            a.expose(),
            WebhookKeys::derive(b"master two").key("id-a").expose()
        );
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(format!("{a:?}"), "WebhookKey([REDACTED])");
    }

    /// The example from the Standard Webhooks specification.
    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let key = WebhookKey(Zeroizing::new(key));
        let signature = key.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            "{\"test\": 2432232314}",
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
