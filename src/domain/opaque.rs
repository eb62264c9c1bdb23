use super::random::random_base62;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;

/// What an opaque token is for; the prefix tells people and secret scanners which kind they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
    AuthorizationCode,
    /// A browser session's id, inside the encrypted session cookie.
    Session,
    /// A mailed single-use link: verify an address, reset a password.
    AccountLink,
    /// A personal API token, for automation.
    Personal,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Access => "kta_",
            TokenKind::Refresh => "ktr_",
            TokenKind::AuthorizationCode => "ktz_",
            TokenKind::Session => "ktb_",
            TokenKind::AccountLink => "ktl_",
            TokenKind::Personal => "ktp_",
        }
    }
}

/// A bearer value in plaintext: an access token, refresh token or authorization code (prefix +
/// 256 random bits). Only its SHA-256 is stored: with 256 bits of entropy a slow hash adds
/// nothing, and a fast one keeps every API call cheap and lets us find the row by its hash.
pub struct OpaqueToken(SecretString);

impl OpaqueToken {
    pub fn generate(kind: TokenKind) -> Self {
        OpaqueToken(SecretString::from(format!(
            "{}{}",
            kind.prefix(),
            random_base62(43)
        )))
    }

    /// Wraps a presented value; any string may be presented, it just will not match.
    pub fn presented(raw: &str) -> Self {
        OpaqueToken(SecretString::from(raw.to_owned()))
    }

    /// The value stored and looked up in the database.
    pub fn hash(&self) -> String {
        hex_sha256(self.0.expose_secret().as_bytes())
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpaqueToken([REDACTED])")
    }
}

/// Lowercase hex of the SHA-256 of `bytes`.
pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_kind_and_hash_stably() {
        let token = OpaqueToken::generate(TokenKind::Refresh);
        assert!(token.expose().starts_with("ktr_"));
        assert_eq!(token.expose().len(), 47);
        assert_eq!(OpaqueToken::presented(token.expose()).hash(), token.hash());
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
