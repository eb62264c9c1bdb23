//! Access tokens of the client credentials grant: signed, not stored.
//!
//! Why: the grant is the machine hot path, and a stored token costs a database write per request
//! (the token endpoint's throughput halves). A signed token costs one HMAC. What the database
//! must still decide is read on every use: whether the app and the issuing secret still exist,
//! whether the token was revoked on its own (RFC 7009, a row per revoked token id until it
//! expires) and whether the issuing secret was revoked with "also revoke tokens issued with this
//! secret". Tokens of users (authorization code grant) stay stored as hashes: they carry scopes
//! and belong to a grant that can be revoked as a whole.
//!
//! Layout before base64url: version (1) | app id (4) | secret or key id (4) | issued at (8) |
//! expires at (8) | token id (16 random bytes) | HMAC-SHA256 of all of that (32). The version
//! byte says which credential the id names: 1 a secret, 2 a public key.

use super::client_key::Credential;
use super::opaque::OpaqueToken;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

const PREFIX: &str = "kta_";
/// The version byte of a token issued to a client that used a secret.
const ISSUED_FOR_SECRET: u8 = 1;
/// ... and to one that used a public key.
const ISSUED_FOR_KEY: u8 = 2;
const PAYLOAD_LEN: usize = 1 + 4 + 4 + 8 + 8 + 16;
const TAG_LEN: usize = 32;
const TOKEN_LEN: usize = PAYLOAD_LEN + TAG_LEN;
/// base64url without padding of `TOKEN_LEN` bytes.
const ENCODED_LEN: usize = (TOKEN_LEN * 4).div_ceil(3);

/// The key that signs client credentials tokens. Derived from the server's master key (the
/// session key), so every instance that shares that key accepts every instance's tokens.
#[derive(Clone)]
pub struct TokenKey(HmacSha256);

impl TokenKey {
    pub fn derive(master: &[u8]) -> Self {
        TokenKey(super::derived_key::derived_hmac(
            master,
            b"keyturn client credentials access tokens v1",
        ))
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey([REDACTED])")
    }
}

/// What a client credentials token says. Not secret by itself: without the signature these
/// values authenticate nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTokenClaims {
    pub app_id: i32,
    /// The secret or key the client authenticated with.
    pub credential: Credential,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// Random; names the token in the revocation list.
    pub token_id: [u8; 16],
}

impl ClientTokenClaims {
    pub fn new(app_id: i32, credential: Credential, now: NaiveDateTime, ttl_seconds: i64) -> Self {
        let mut token_id = [0u8; 16];
        rand::rng().fill_bytes(&mut token_id);
        // Whole seconds, so that what is signed and what is introspected agree.
        let issued_at = DateTime::from_timestamp(now.and_utc().timestamp(), 0)
            .map(|t| t.naive_utc())
            .unwrap_or(now);
        ClientTokenClaims {
            app_id,
            credential,
            issued_at,
            expires_at: issued_at + chrono::TimeDelta::seconds(ttl_seconds),
            token_id,
        }
    }

    pub fn sign(&self, key: &TokenKey) -> OpaqueToken {
        let mut bytes = Vec::with_capacity(TOKEN_LEN);
        let (version, id) = match self.credential {
            Credential::Secret(id) => (ISSUED_FOR_SECRET, id),
            Credential::Key(id) => (ISSUED_FOR_KEY, id),
        };
        bytes.push(version);
        bytes.extend_from_slice(&self.app_id.to_be_bytes());
        bytes.extend_from_slice(&id.to_be_bytes());
        bytes.extend_from_slice(&self.issued_at.and_utc().timestamp().to_be_bytes());
        bytes.extend_from_slice(&self.expires_at.and_utc().timestamp().to_be_bytes());
        bytes.extend_from_slice(&self.token_id);
        let mut mac = key.0.clone();
        mac.update(&bytes);
        bytes.extend_from_slice(&mac.finalize().into_bytes());
        OpaqueToken::presented(&format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The claims of `raw` if it is a client credentials token signed with `key`, expired or
    /// not. `None` for anything else, including every stored (user) token.
    pub fn verify(raw: &str, key: &TokenKey) -> Option<Self> {
        let encoded = raw.strip_prefix(PREFIX)?;
        if encoded.len() != ENCODED_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
        let (payload, tag) = bytes.split_at_checked(PAYLOAD_LEN)?;
        let mut mac = key.0.clone();
        mac.update(payload);
        // Constant time.
        mac.verify_slice(tag).ok()?;
        let (&version, rest) = payload.split_first()?;
        let (app_id, rest) = rest.split_first_chunk::<4>()?;
        let (id, rest) = rest.split_first_chunk::<4>()?;
        let credential = match version {
            ISSUED_FOR_SECRET => Credential::Secret(i32::from_be_bytes(*id)),
            ISSUED_FOR_KEY => Credential::Key(i32::from_be_bytes(*id)),
            _ => return None,
        };
        let (issued_at, rest) = rest.split_first_chunk::<8>()?;
        let (expires_at, token_id) = rest.split_first_chunk::<8>()?;
        let time = |bytes: &[u8; 8]| {
            DateTime::from_timestamp(i64::from_be_bytes(*bytes), 0).map(|t| t.naive_utc())
        };
        Some(ClientTokenClaims {
            app_id: i32::from_be_bytes(*app_id),
            credential,
            issued_at: time(issued_at)?,
            expires_at: time(expires_at)?,
            token_id: token_id.try_into().ok()?,
        })
    }

    /// The token id as stored in the revocation list.
    pub fn token_id_hex(&self) -> String {
        self.token_id.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        DateTime::from_timestamp(1_800_000_000, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default()
    }

    #[test]
    fn a_signed_token_verifies_with_its_key_only() {
        let key = TokenKey::derive(b"master key one");
        let claims = ClientTokenClaims::new(7, Credential::Secret(42), now(), 3600);
        let token = claims.sign(&key);
        assert!(token.expose().starts_with("kta_"));
        assert_eq!(
            ClientTokenClaims::verify(token.expose(), &key),
            Some(claims)
        );
        let other = TokenKey::derive(b"master key two");
        assert_eq!(ClientTokenClaims::verify(token.expose(), &other), None);
        assert!(!format!("{key:?}").contains("master"));
    }

    #[test]
    fn every_changed_character_breaks_the_signature() {
        let key = TokenKey::derive(b"master key");
        let token = ClientTokenClaims::new(1, Credential::Key(2), now(), 60).sign(&key);
        let raw = token.expose();
        for i in 4..raw.len() {
            let mut changed = raw.as_bytes().to_vec();
            changed[i] = if changed[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(changed).unwrap_or_default();
            assert_eq!(
                ClientTokenClaims::verify(&changed, &key),
                None,
                "position {i}"
            );
        }
        assert_eq!(ClientTokenClaims::verify(&raw[..raw.len() - 1], &key), None);
        assert_eq!(ClientTokenClaims::verify("kta_unknown", &key), None);
    }

    #[test]
    fn tokens_are_unique_and_carry_whole_seconds() {
        let key = TokenKey::derive(b"master key");
        let at = now() + chrono::TimeDelta::milliseconds(1500);
        let a = ClientTokenClaims::new(1, Credential::Secret(2), at, 60);
        let b = ClientTokenClaims::new(1, Credential::Secret(2), at, 60);
        assert_ne!(a.sign(&key).expose(), b.sign(&key).expose());
        assert_eq!(a.issued_at, now() + chrono::TimeDelta::seconds(1));
        assert_eq!(a.expires_at - a.issued_at, chrono::TimeDelta::seconds(60));
    }
}
