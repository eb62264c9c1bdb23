use super::random_base62;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;

/// A bearer access token in plaintext (`kta_` + 256 random bits). Only its SHA-256 is stored:
/// with 256 bits of entropy a slow hash adds nothing, and a fast one keeps every API call cheap.
pub struct AccessToken(SecretString);

impl AccessToken {
    pub fn generate() -> Self {
        AccessToken(SecretString::from(format!("kta_{}", random_base62(43))))
    }

    /// Wraps a presented token; any string may be presented, it just will not match.
    pub fn presented(raw: &str) -> Self {
        AccessToken(SecretString::from(raw.to_owned()))
    }

    /// The value stored and looked up in the database.
    pub fn hash(&self) -> String {
        let digest = Sha256::digest(self.0.expose_secret().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}
