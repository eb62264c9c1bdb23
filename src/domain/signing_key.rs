//! The keys that sign ID tokens: RSA 2048 with RS256, which every OpenID Connect client
//! verifies without configuration.
//!
//! A private key leaves memory only sealed: AES-256-GCM under a key derived from the master key
//! (`KEYTURN_SESSION_KEY`), with a random nonce and the key's `kid` as associated data, so a
//! sealed key copied onto another row does not open. Neither the private key nor the sealing key
//! ever shows in `Debug` output, logs or errors.
//!
//! Which key signs, and which are published, is decided by [`KeyTimes`] alone: a key signs from
//! its `signs_from` until the next key's, is published from the moment it is added (ahead of
//! signing), and stays published for an ID token lifetime after it stopped signing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{NaiveDateTime, TimeDelta};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openssl::pkey::Private;
use openssl::rsa::Rsa;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// The one algorithm ID tokens are signed with.
pub const ID_TOKEN_ALGORITHM: &str = "RS256";

const RSA_BITS: u32 = 2048;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Marks the sealing format, so a later one can be told apart.
const SEALED_PREFIX: &str = "v1.";

/// The key that seals signing keys at rest, derived from the master key.
#[derive(Clone)]
pub struct SigningKeySeal(Zeroizing<[u8; 32]>);

/// A sealed key that does not open: sealed under another master key, altered, or moved to
/// another row. Says nothing else, so nothing about the key can leak through it.
#[derive(Debug, thiserror::Error)]
#[error("the signing key does not open with this server's key (was KEYTURN_SESSION_KEY changed?)")]
pub struct SealError;

impl SigningKeySeal {
    pub fn derive(master: &[u8]) -> Self {
        use hmac::Mac;
        let mac = super::derived_key::derived_hmac(master, b"keyturn signing keys v1");
        SigningKeySeal(Zeroizing::new(mac.finalize().into_bytes().into()))
    }

    /// `der` sealed for the key `kid`: `v1.` and base64url of nonce, ciphertext and tag.
    fn seal(&self, kid: &str, der: &[u8]) -> anyhow::Result<String> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut tag = [0u8; TAG_LEN];
        let ciphertext = encrypt_aead(
            Cipher::aes_256_gcm(),
            self.0.as_slice(),
            Some(&nonce),
            kid.as_bytes(),
            der,
            &mut tag,
        )
        .map_err(|_| anyhow::anyhow!("sealing a signing key failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out.extend_from_slice(&tag);
        Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    fn open(&self, kid: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let raw = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .filter(|raw| raw.len() > NONCE_LEN + TAG_LEN)
            .ok_or(SealError)?;
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        decrypt_aead(
            Cipher::aes_256_gcm(),
            self.0.as_slice(),
            Some(nonce),
            kid.as_bytes(),
            ciphertext,
            tag,
        )
        .map(Zeroizing::new)
        .map_err(|_| SealError)
    }
}

impl fmt::Debug for SigningKeySeal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKeySeal([REDACTED])")
    }
}

/// A public signing key as published in the JWKS (RFC 7517).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    #[serde(rename = "use")]
    pub key_use: String,
    pub alg: String,
    pub kid: String,
    pub n: String,
    pub e: String,
}

/// A private signing key in memory, as `jsonwebtoken` signs with it.
pub struct SigningKey {
    kid: String,
    key: EncodingKey,
    public: PublicJwk,
}

/// A new key ready to store: its public JWK and its sealed private half.
pub struct NewSigningKey {
    pub key: SigningKey,
    pub sealed: String,
}

impl SigningKey {
    /// Generates an RSA 2048 key and seals it. CPU work of a tenth of a second or more: callers
    /// run it off the async workers.
    pub fn generate(seal: &SigningKeySeal) -> anyhow::Result<NewSigningKey> {
        let rsa =
            Rsa::generate(RSA_BITS).map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
        let der = Zeroizing::new(
            rsa.private_key_to_der()
                .map_err(|_| anyhow::anyhow!("encoding a signing key failed"))?,
        );
        let key = Self::from_rsa(rsa)?;
        let sealed = seal.seal(&key.kid, &der)?;
        Ok(NewSigningKey { key, sealed })
    }

    /// Opens a stored key; [`SealError`] if it does not open under `seal` for `kid`.
    pub fn open(seal: &SigningKeySeal, kid: &str, sealed: &str) -> Result<Self, SealError> {
        let der = seal.open(kid, sealed)?;
        let rsa = Rsa::private_key_from_der(&der).map_err(|_| SealError)?;
        let key = Self::from_rsa(rsa).map_err(|_| SealError)?;
        // The thumbprint is the kid: a key that opened under another kid is not this key.
        if key.kid != kid {
            return Err(SealError);
        }
        Ok(key)
    }

    fn from_rsa(rsa: Rsa<Private>) -> anyhow::Result<Self> {
        let n = URL_SAFE_NO_PAD.encode(rsa.n().to_vec());
        let e = URL_SAFE_NO_PAD.encode(rsa.e().to_vec());
        let kid = thumbprint(&n, &e);
        let der = Zeroizing::new(
            rsa.private_key_to_der()
                .map_err(|_| anyhow::anyhow!("encoding a signing key failed"))?,
        );
        let key = EncodingKey::from_rsa_der(&der);
        Ok(SigningKey {
            public: PublicJwk {
                kty: "RSA".into(),
                key_use: "sig".into(),
                alg: ID_TOKEN_ALGORITHM.into(),
                kid: kid.clone(),
                n,
                e,
            },
            kid,
            key,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    /// A compact JWS of `claims` (RFC 7515), with `alg` RS256 and this key's `kid` in the
    /// header. CPU work: callers run it off the async workers.
    pub fn sign_jwt(&self, claims: &impl Serialize) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key)
            .map_err(|_| anyhow::anyhow!("signing an ID token failed"))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// RFC 7638 thumbprint of an RSA public key: SHA-256 of its required members in
/// lexicographic order, base64url.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The left half of SHA-256 of `value`, base64url: an ID token's `at_hash` for RS256
/// (OpenID Connect Core §3.1.3.6).
pub fn left_half_sha256(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// When a stored key was added to the order and when it signs from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTimes {
    pub sequence: i32,
    pub signs_from: NaiveDateTime,
}

/// The keys' indices in the order they sign: by `signs_from`, then by the order they were added.
fn in_signing_order(keys: &[KeyTimes]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| (keys[i].signs_from, keys[i].sequence));
    order
}

/// The index of the key that signs at `now`: the last one whose `signs_from` has come.
pub fn signing_at(keys: &[KeyTimes], now: NaiveDateTime) -> Option<usize> {
    in_signing_order(keys)
        .into_iter()
        .rev()
        .find(|&i| keys[i].signs_from <= now)
}

/// Whether a key is still of use at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Added, not signing yet: published so verifiers know it before its first token.
    Ahead,
    Signing,
    /// No longer signing, still published until the last token it signed has expired.
    Retiring,
    /// Of no more use: neither published nor needed.
    Expired,
}

impl KeyStatus {
    pub fn is_published(self) -> bool {
        self != KeyStatus::Expired
    }
}

/// The status of every key at `now`, in the order of `keys`, given how long an ID token lives.
pub fn statuses(
    keys: &[KeyTimes],
    now: NaiveDateTime,
    token_lifetime: TimeDelta,
) -> Vec<KeyStatus> {
    let order = in_signing_order(keys);
    let signing = signing_at(keys, now);
    (0..keys.len())
        .map(|i| {
            if keys[i].signs_from > now {
                return KeyStatus::Ahead;
            }
            if signing == Some(i) {
                return KeyStatus::Signing;
            }
            // It stopped signing when the key after it in the signing order started.
            let stopped = order
                .iter()
                .position(|&j| j == i)
                .and_then(|p| order.get(p + 1))
                .map(|&next| keys[next].signs_from);
            match stopped {
                Some(stopped) if stopped + token_lifetime > now => KeyStatus::Retiring,
                _ => KeyStatus::Expired,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
            + TimeDelta::minutes(minutes)
    }

    #[test]
    fn a_sealed_key_opens_only_under_its_master_key_and_kid() {
        let seal = SigningKeySeal::derive(b"master key one");
        let new = SigningKey::generate(&seal).unwrap();
        let kid = new.key.kid().to_owned();

        let opened = SigningKey::open(&seal, &kid, &new.sealed).unwrap();
        assert_eq!(opened.public_jwk(), new.key.public_jwk());
        assert!(SigningKey::open(
            &SigningKeySeal::derive(b"master key two"),
            &kid,
            &new.sealed
        )
        .is_err());
        assert!(SigningKey::open(&seal, "another kid", &new.sealed).is_err());
        assert!(SigningKey::open(&seal, &kid, "v1.garbage").is_err());
        assert!(SigningKey::open(&seal, &kid, "").is_err());
        assert!(!format!("{:?}{:?}", new.key, seal).contains(&new.sealed));
        assert_eq!(format!("{seal:?}"), "SigningKeySeal([REDACTED])");
    }

    #[test]
    fn a_signed_jwt_verifies_with_the_published_key() {
        let seal = SigningKeySeal::derive(b"master");
        let key = SigningKey::generate(&seal).unwrap().key;
        let jwt = key.sign_jwt(&serde_json::json!({"sub": "x"})).unwrap();

        let jwk = key.public_jwk();
        let decoding = jsonwebtoken::DecodingKey::from_rsa_components(&jwk.n, &jwk.e).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<serde_json::Value>(&jwt, &decoding, &validation).unwrap();
        assert_eq!(data.claims["sub"], "x");
        assert_eq!(data.header.kid.as_deref(), Some(key.kid()));
    }

    #[test]
    fn keys_sign_in_turn_and_stay_published_for_a_token_lifetime() {
        let keys = [
            KeyTimes {
                sequence: 1,
                signs_from: at(0),
            },
            KeyTimes {
                sequence: 2,
                signs_from: at(60),
            },
        ];
        let lifetime = TimeDelta::minutes(30);
        let status = |now| statuses(&keys, now, lifetime);

        assert_eq!(status(at(10)), [KeyStatus::Signing, KeyStatus::Ahead]);
        assert_eq!(signing_at(&keys, at(59)), Some(0));
        assert_eq!(status(at(60)), [KeyStatus::Retiring, KeyStatus::Signing]);
        assert_eq!(signing_at(&keys, at(60)), Some(1));
        assert_eq!(status(at(89)), [KeyStatus::Retiring, KeyStatus::Signing]);
        assert_eq!(status(at(90)), [KeyStatus::Expired, KeyStatus::Signing]);
        assert_eq!(signing_at(&keys, at(-1)), None);
    }

    #[test]
    fn of_two_keys_that_sign_from_the_same_moment_the_later_one_signs() {
        let keys = [
            KeyTimes {
                sequence: 2,
                signs_from: at(0),
            },
            KeyTimes {
                sequence: 1,
                signs_from: at(0),
            },
        ];
        assert_eq!(signing_at(&keys, at(0)), Some(0));
        assert_eq!(
            statuses(&keys, at(0), TimeDelta::minutes(1)),
            [KeyStatus::Signing, KeyStatus::Retiring]
        );
    }

    #[test]
    fn at_hash_is_the_left_half_of_sha256() {
        // OpenID Connect Core's example: "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y".
        assert_eq!(
            left_half_sha256("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
