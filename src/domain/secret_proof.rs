//! Proofs of secrets: what lets a restarted server, or another instance, accept a secret that
//! bcrypt has already accepted, without another bcrypt.
//!
//! A proof is HMAC-SHA256, under a key derived from `KEYTURN_SESSION_KEY`, of the secret's row
//! id and the presented secret. The database keeps the proof; the key is never in it. Why that
//! keeps a stolen database as useless as before: bcrypt's slowness protects secrets a person
//! could guess, and a client secret is 256 random bits that nobody guesses at any speed. Without
//! the key a proof cannot even be checked against a guess; with the key, a guess is checked at
//! HMAC speed instead of bcrypt speed, and 2^256 guesses are as far out of reach either way.

use super::secret::ClientSecret;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use subtle::ConstantTimeEq;

/// The key of the proofs, derived from the master key given in `KEYTURN_SESSION_KEY`.
#[derive(Clone)]
pub struct SecretProofKey(Hmac<Sha256>);

impl SecretProofKey {
    pub fn derive(master: &[u8]) -> Self {
        SecretProofKey(super::derived_key::derived_hmac(
            master,
            b"keyturn client secret proofs v1",
        ))
    }

    /// The proof that `secret` is the secret of row `secret_id`, to store once bcrypt said so.
    pub fn prove(&self, secret_id: i32, secret: &ClientSecret) -> String {
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(self.tag(secret_id, secret))
    }

    /// Whether `stored` is this key's proof of `secret` for row `secret_id`; in constant time.
    /// A proof made under another key, for another row or of another secret never is.
    pub fn confirms(&self, secret_id: i32, secret: &ClientSecret, stored: &str) -> bool {
        let Ok(stored) = base64::engine::general_purpose::STANDARD_NO_PAD.decode(stored) else {
            return false;
        };
        bool::from(self.tag(secret_id, secret).as_slice().ct_eq(&stored))
    }

    fn tag(&self, secret_id: i32, secret: &ClientSecret) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(&secret_id.to_be_bytes());
        mac.update(secret.expose().as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for SecretProofKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretProofKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::SecretProofKey;
    use crate::domain::ClientSecret;

    #[test]
    fn a_proof_confirms_its_secret_for_its_row_under_its_key_only() {
        let key = SecretProofKey::derive(&[7; 64]);
        let secret = ClientSecret::generate();
        let proof = key.prove(41, &secret);

        assert!(key.confirms(41, &secret, &proof));
        assert!(!key.confirms(42, &secret, &proof), "another row");
        assert!(
            !key.confirms(41, &ClientSecret::generate(), &proof),
            "another secret"
        );
        let other_key = SecretProofKey::derive(&[8; 64]);
        assert!(!other_key.confirms(41, &secret, &proof), "another key");
        assert!(!key.confirms(41, &secret, "not base64!"));
        assert!(!key.confirms(41, &secret, ""));
    }
}
