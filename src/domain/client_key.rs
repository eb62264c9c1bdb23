//! Public keys apps authenticate with instead of a secret (private_key_jwt, RFC 7523): what the
//! owner pastes (a JWK or a PEM public key) parsed into one normal form, a public JWK, and the
//! JWKS URLs an app may serve its keys at.
//!
//! Keys are read with OpenSSL and verified with `jsonwebtoken`: nothing here signs or checks
//! a JWS by hand.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use url::Url;

/// The JWS algorithms a client assertion may be signed with (metadata lists them). No HMAC:
/// the point of a key is that the server holds nothing that can sign.
pub const ASSERTION_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "EdDSA",
];

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// RSA keys shorter than this are refused (NIST SP 800-131A).
const MIN_RSA_BITS: usize = 2048;
/// Longer ones cost every verification too much for no gain.
const MAX_RSA_BITS: usize = 8192;
/// What the text area and the URL field accept.
pub const MAX_KEY_TEXT: usize = 20_000;
const MAX_URL_LEN: usize = 2000;

/// How an authenticated client proved who it is: which secret, or which key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Secret(i32),
    Key(i32),
}

impl Credential {
    /// The secret's id, for a token's `secret_id` column.
    pub fn secret_id(self) -> Option<i32> {
        match self {
            Credential::Secret(id) => Some(id),
            Credential::Key(_) => None,
        }
    }

    /// The key's id, for a token's `key_id` column.
    pub fn key_id(self) -> Option<i32> {
        match self {
            Credential::Key(id) => Some(id),
            Credential::Secret(_) => None,
        }
    }
}

/// Why a pasted key or a JWKS URL is refused: the message the form shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyInputError {
    #[error("Paste a public key (a JWK, or a PEM block starting with -----BEGIN PUBLIC KEY-----) or enter a JWKS URL.")]
    Empty,
    #[error("Paste a public key or enter a JWKS URL, not both.")]
    Both,
    #[error("This is a private key. Never share it: paste only the public key (for PEM, `openssl pkey -in key.pem -pubout`; for a JWK, without \"d\").")]
    PrivateKey,
    #[error("This is not a key Keyturn can read. Paste one JWK (JSON) or one PEM public key.")]
    Unreadable,
    #[error("Paste one key, not a set of several; to use a set, serve it at a JWKS URL.")]
    SeveralKeys,
    #[error("Keyturn accepts RSA keys of 2048 to 8192 bits, EC keys on P-256 and Ed25519 keys.")]
    Unsupported,
    #[error(
        "This key is not for signatures (its \"use\" is not \"sig\", or its \"key_ops\" lack \"verify\"); client assertions need a signing key."
    )]
    NotForSigning,
    #[error("The key's \"alg\" must be one of RS256, RS384, RS512, PS256, PS384, PS512 (RSA), ES256 (P-256) or EdDSA (Ed25519), matching the key.")]
    WrongAlgorithm,
    #[error("The \"kid\" must be 1 to 200 printable ASCII characters.")]
    BadKid,
    #[error("Enter an https:// URL, or http:// on this machine (localhost), of at most 2,000 characters, without a password.")]
    BadUrl,
}

/// A public key as stored: a public JWK (members Keyturn understands only), its `kid`, the
/// algorithm shown, and its RFC 7638 thumbprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: String,
    pub algorithm: String,
    pub jwk_json: String,
    pub thumbprint: String,
}

impl PublicKey {
    /// Reads what the owner pasted: one JWK, a JWKS holding exactly one key, or a PEM public
    /// key (SubjectPublicKeyInfo, PKCS#1 RSA, or a certificate).
    pub fn parse(text: &str) -> Result<Self, KeyInputError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(KeyInputError::Empty);
        }
        if text.len() > MAX_KEY_TEXT {
            return Err(KeyInputError::Unreadable);
        }
        if text.contains("PRIVATE KEY") {
            return Err(KeyInputError::PrivateKey);
        }
        if text.starts_with('{') {
            let value: Value = serde_json::from_str(text).map_err(|_| KeyInputError::Unreadable)?;
            let jwk = match value.get("keys") {
                Some(Value::Array(keys)) if keys.len() == 1 => keys[0].clone(),
                Some(Value::Array(keys)) if keys.len() > 1 => {
                    return Err(KeyInputError::SeveralKeys)
                }
                Some(_) => return Err(KeyInputError::Unreadable),
                None => value,
            };
            from_jwk_value(&jwk)
        } else if text.starts_with("-----BEGIN") {
            from_pem(text.as_bytes())
        } else {
            Err(KeyInputError::Unreadable)
        }
    }

    /// The key as `jsonwebtoken` reads it.
    pub fn jwk(&self) -> Option<Jwk> {
        serde_json::from_str(&self.jwk_json).ok()
    }
}

/// The private members of RSA, EC and OKP JWKs (RFC 7518 §6).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn from_jwk_value(value: &Value) -> Result<PublicKey, KeyInputError> {
    let (material, kid, alg) = read_jwk(value)?;
    material.into_public_key(kid, alg.as_deref())
}

/// A JWK's key, `kid` and `alg`, whether pasted or from a JWKS: the one place a JWK is read.
fn read_jwk(value: &Value) -> Result<(KeyMaterial, Option<String>, Option<String>), KeyInputError> {
    let object = value.as_object().ok_or(KeyInputError::Unreadable)?;
    if PRIVATE_MEMBERS.iter().any(|m| object.contains_key(*m)) {
        return Err(match object.get("kty").and_then(Value::as_str) {
            Some("oct") => KeyInputError::Unsupported,
            _ => KeyInputError::PrivateKey,
        });
    }
    match object.get("use") {
        None => {}
        Some(Value::String(key_use)) if key_use == "sig" => {}
        Some(_) => return Err(KeyInputError::NotForSigning),
    }
    // `key_ops`, when given, must allow verifying (RFC 7517 §4.3).
    if let Some(ops) = object.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op == "verify"));
        if !verifies {
            return Err(KeyInputError::NotForSigning);
        }
    }
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    let bytes = |name: &str| -> Result<Vec<u8>, KeyInputError> {
        text(name)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok())
            .ok_or(KeyInputError::Unreadable)
    };
    let material = match text("kty") {
        Some("RSA") => KeyMaterial::Rsa {
            n: bytes("n")?,
            e: bytes("e")?,
        },
        Some("EC") if text("crv") == Some("P-256") => KeyMaterial::P256 {
            x: bytes("x")?,
            y: bytes("y")?,
        },
        Some("OKP") if text("crv") == Some("Ed25519") => KeyMaterial::Ed25519 { x: bytes("x")? },
        Some(_) => return Err(KeyInputError::Unsupported),
        None => return Err(KeyInputError::Unreadable),
    };
    let kid = match object.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(KeyInputError::BadKid),
    };
    Ok((material, kid, text("alg").map(str::to_owned)))
}

fn from_pem(pem: &[u8]) -> Result<PublicKey, KeyInputError> {
    let key: PKey<Public> = PKey::public_key_from_pem(pem)
        .or_else(|_| openssl::rsa::Rsa::public_key_from_pem_pkcs1(pem).and_then(PKey::from_rsa))
        .or_else(|_| openssl::x509::X509::from_pem(pem).and_then(|cert| cert.public_key()))
        .map_err(|_| KeyInputError::Unreadable)?;
    let material = match key.id() {
        Id::RSA => {
            let rsa = key.rsa().map_err(|_| KeyInputError::Unreadable)?;
            KeyMaterial::Rsa {
                n: rsa.n().to_vec(),
                e: rsa.e().to_vec(),
            }
        }
        Id::EC => {
            let ec = key.ec_key().map_err(|_| KeyInputError::Unreadable)?;
            if ec.group().curve_name() != Some(Nid::X9_62_PRIME256V1) {
                return Err(KeyInputError::Unsupported);
            }
            let (x, y) = affine_coordinates(&ec).ok_or(KeyInputError::Unreadable)?;
            KeyMaterial::P256 { x, y }
        }
        Id::ED25519 => KeyMaterial::Ed25519 {
            x: key
                .raw_public_key()
                .map_err(|_| KeyInputError::Unreadable)?,
        },
        _ => return Err(KeyInputError::Unsupported),
    };
    material.into_public_key(None, None)
}

fn affine_coordinates(ec: &EcKey<Public>) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut ctx = BigNumContext::new().ok()?;
    let (mut x, mut y) = (BigNum::new().ok()?, BigNum::new().ok()?);
    ec.public_key()
        .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
        .ok()?;
    Some((x.to_vec_padded(32).ok()?, y.to_vec_padded(32).ok()?))
}

/// A public key's numbers, checked: the RSA size, the EC point on the curve.
enum KeyMaterial {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    P256 { x: Vec<u8>, y: Vec<u8> },
    Ed25519 { x: Vec<u8> },
}

impl KeyMaterial {
    fn check(&self) -> Result<(), KeyInputError> {
        match self {
            KeyMaterial::Rsa { n, e } => {
                let n = BigNum::from_slice(n).map_err(|_| KeyInputError::Unreadable)?;
                let e = BigNum::from_slice(e).map_err(|_| KeyInputError::Unreadable)?;
                let bits = n.num_bits() as usize;
                // An even or tiny exponent is no RSA key anyone should use.
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits)
                    || !e.is_bit_set(0)
                    || e.num_bits() < 2
                    || e.num_bits() > 32
                {
                    return Err(KeyInputError::Unsupported);
                }
                Ok(())
            }
            KeyMaterial::P256 { x, y } => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)
                    .map_err(|_| KeyInputError::Unsupported)?;
                let (x, y) = (
                    BigNum::from_slice(x).map_err(|_| KeyInputError::Unreadable)?,
                    BigNum::from_slice(y).map_err(|_| KeyInputError::Unreadable)?,
                );
                let key = EcKey::from_public_key_affine_coordinates(&group, &x, &y)
                    .map_err(|_| KeyInputError::Unreadable)?;
                key.check_key().map_err(|_| KeyInputError::Unreadable)
            }
            KeyMaterial::Ed25519 { x } => {
                // A point of small order (the identity, say) has no private key, and lenient
                // verifiers accept forged signatures for it; a point with a torsion part is no
                // key anyone generated either. Only a prime-order point is a public key.
                let bytes: [u8; 32] = x
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeyInputError::Unreadable)?;
                match curve25519_dalek::edwards::CompressedEdwardsY(bytes).decompress() {
                    Some(point) if !point.is_small_order() && point.is_torsion_free() => Ok(()),
                    _ => Err(KeyInputError::Unreadable),
                }
            }
        }
    }

    /// The algorithms a key of this type signs with, the first one its default.
    fn algorithms(&self) -> &'static [&'static str] {
        match self {
            KeyMaterial::Rsa { .. } => &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
            KeyMaterial::P256 { .. } => &["ES256"],
            KeyMaterial::Ed25519 { .. } => &["EdDSA"],
        }
    }

    /// The RFC 7638 members, in their lexicographic order.
    fn required_members(&self) -> Map<String, Value> {
        let b64 = |bytes: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(bytes));
        let mut members = Map::new();
        match self {
            KeyMaterial::Rsa { n, e } => {
                let strip = |v: &[u8]| {
                    v.iter()
                        .skip_while(|b| **b == 0)
                        .copied()
                        .collect::<Vec<_>>()
                };
                members.insert("e".into(), b64(&strip(e)));
                members.insert("kty".into(), "RSA".into());
                members.insert("n".into(), b64(&strip(n)));
            }
            KeyMaterial::P256 { x, y } => {
                members.insert("crv".into(), "P-256".into());
                members.insert("kty".into(), "EC".into());
                members.insert("x".into(), b64(x));
                members.insert("y".into(), b64(y));
            }
            KeyMaterial::Ed25519 { x } => {
                members.insert("crv".into(), "Ed25519".into());
                members.insert("kty".into(), "OKP".into());
                members.insert("x".into(), b64(x));
            }
        }
        members
    }

    fn into_public_key(
        self,
        kid: Option<String>,
        alg: Option<&str>,
    ) -> Result<PublicKey, KeyInputError> {
        self.check()?;
        let algorithm = match alg {
            Some(alg) if self.algorithms().contains(&alg) => alg,
            Some(_) => return Err(KeyInputError::WrongAlgorithm),
            None => self.algorithms()[0],
        };
        let members = self.required_members();
        // serde_json's map is ordered and prints without whitespace: RFC 7638's form.
        let canonical = Value::Object(members.clone()).to_string();
        let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let kid = match kid {
            // ASCII only: a right-to-left mark or a zero-width space would let two kids that
            // differ look the same on the page and in the confirmation.
            Some(kid)
                if (1..=200).contains(&kid.len())
                    && kid.bytes().all(|b| (b' '..=b'~').contains(&b)) =>
            {
                kid
            }
            Some(_) => return Err(KeyInputError::BadKid),
            None => thumbprint.clone(),
        };
        let mut jwk = members;
        jwk.insert("kid".into(), Value::String(kid.clone()));
        jwk.insert("use".into(), "sig".into());
        // Only an algorithm the owner named is pinned; otherwise any of the key type's.
        if let Some(alg) = alg {
            jwk.insert("alg".into(), alg.into());
        }
        Ok(PublicKey {
            kid,
            algorithm: algorithm.to_owned(),
            jwk_json: Value::Object(jwk).to_string(),
            thumbprint,
        })
    }
}

/// The key and the algorithms it may verify, for a JWK from a pasted key or a JWKS: its pinned
/// `alg`, or every algorithm of its type. `None` for a key that verifies no client assertion
/// (encryption keys, HMAC secrets, other curves, short RSA keys).
pub fn verifier(jwk: &Jwk) -> Option<(DecodingKey, Vec<Algorithm>)> {
    // Through the same door as a pasted key: the same checks for a key from a JWKS.
    let (material, _, pinned) = read_jwk(&serde_json::to_value(jwk).ok()?).ok()?;
    material.check().ok()?;
    let names: Vec<&str> = match pinned.as_deref() {
        Some(alg) if material.algorithms().contains(&alg) => vec![alg],
        Some(_) => return None,
        None => material.algorithms().to_vec(),
    };
    let algorithms = names
        .iter()
        .filter_map(|name| name.parse::<Algorithm>().ok())
        .collect();
    Some((DecodingKey::from_jwk(jwk).ok()?, algorithms))
}

/// Why a JWKS document is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksRefusal {
    NotAJwks,
    /// It publishes private key material: whoever can read it can sign as the app.
    PrivateKeys,
}

/// Reads a JWKS document.
pub fn parse_jwks(body: &[u8]) -> Result<JwkSet, JwksRefusal> {
    let value: Value = serde_json::from_slice(body).map_err(|_| JwksRefusal::NotAJwks)?;
    let keys = value
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(JwksRefusal::NotAJwks)?;
    let private = keys.iter().any(|k| {
        k.as_object()
            .is_some_and(|k| PRIVATE_MEMBERS.iter().any(|m| k.contains_key(*m)))
    });
    if private {
        return Err(JwksRefusal::PrivateKeys);
    }
    // Keys of types `jsonwebtoken` does not know would fail the whole set: keep the ones it
    // reads and skip the rest.
    Ok(JwkSet {
        keys: keys
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .collect(),
    })
}

/// A URL an app serves its JWKS at: https, or http to this machine only (a key server next to
/// the app, or a test), with no credentials in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksUrl(Url);

impl JwksUrl {
    pub fn parse(raw: &str) -> Result<Self, KeyInputError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(KeyInputError::Empty);
        }
        if raw.len() > MAX_URL_LEN {
            return Err(KeyInputError::BadUrl);
        }
        let url = Url::parse(raw).map_err(|_| KeyInputError::BadUrl)?;
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(KeyInputError::BadUrl);
        }
        match (url.scheme(), url.host()) {
            ("https", Some(_)) => {}
            ("http", Some(url::Host::Domain(host))) if host.eq_ignore_ascii_case("localhost") => {}
            ("http", Some(url::Host::Ipv4(ip))) if IpAddr::V4(ip).is_loopback() => {}
            ("http", Some(url::Host::Ipv6(ip))) if IpAddr::V6(ip).is_loopback() => {}
            _ => return Err(KeyInputError::BadUrl),
        }
        Ok(JwksUrl(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    /// What the table shows in the algorithm column, and what the fingerprint column holds.
    pub fn fingerprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_str().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::rsa::Rsa;
    use serde_json::json;

    fn pem_of(key: &PKey<openssl::pkey::Private>) -> String {
        String::from_utf8(key.public_key_to_pem().unwrap()).unwrap()
    }

    #[test]
    fn pem_and_jwk_of_one_key_are_the_same_key() {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let from_pem = PublicKey::parse(&pem_of(&key)).unwrap();
        assert_eq!(from_pem.algorithm, "ES256");
        let jwk: Value = serde_json::from_str(&from_pem.jwk_json).unwrap();
        let pasted =
            json!({"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"], "kid": "mine"});
        let from_jwk = PublicKey::parse(&pasted.to_string()).unwrap();
        assert_eq!(from_jwk.thumbprint, from_pem.thumbprint);
        assert_eq!(from_jwk.kid, "mine");
        assert_eq!(from_pem.kid, from_pem.thumbprint);
        assert!(verifier(&from_jwk.jwk().unwrap()).is_some());
    }

    #[test]
    fn rfc_7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk = json!({"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"});
        let key = PublicKey::parse(&jwk.to_string()).unwrap();
        assert_eq!(
            key.thumbprint,
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(key.algorithm, "RS256");
    }

    #[test]
    fn refuses_what_is_not_a_usable_public_key() {
        let rsa = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
        assert_eq!(
            PublicKey::parse(&pem_of(&rsa)),
            Err(KeyInputError::Unsupported)
        );
        let private = String::from_utf8(rsa.private_key_to_pem_pkcs8().unwrap()).unwrap();
        assert_eq!(PublicKey::parse(&private), Err(KeyInputError::PrivateKey));
        let private_jwk = json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"});
        assert_eq!(
            PublicKey::parse(&private_jwk.to_string()),
            Err(KeyInputError::PrivateKey)
        );
        let hmac = json!({"kty":"oct","k":"c2VjcmV0"});
        assert_eq!(
            PublicKey::parse(&hmac.to_string()),
            Err(KeyInputError::Unsupported)
        );
        let enc = json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","use":"enc"});
        assert_eq!(
            PublicKey::parse(&enc.to_string()),
            Err(KeyInputError::NotForSigning)
        );
        let wrong_alg = json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","alg":"RS256"});
        assert_eq!(
            PublicKey::parse(&wrong_alg.to_string()),
            Err(KeyInputError::WrongAlgorithm)
        );
        for small_order in [
            "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "7P___________________________________________38",
        ] {
            let key = json!({"kty":"OKP","crv":"Ed25519","x": small_order});
            assert_eq!(
                PublicKey::parse(&key.to_string()),
                Err(KeyInputError::Unreadable),
                "{small_order}"
            );
        }
        let ops = json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","key_ops":["encrypt"]});
        assert_eq!(
            PublicKey::parse(&ops.to_string()),
            Err(KeyInputError::NotForSigning)
        );
        let off_curve = json!({"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"});
        assert_eq!(
            PublicKey::parse(&off_curve.to_string()),
            Err(KeyInputError::Unreadable)
        );
        for garbage in [
            "",
            "hello",
            "{",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "{\"keys\":[]}",
            "[1]",
        ] {
            assert!(PublicKey::parse(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn jwks_urls_are_https_or_loopback_http() {
        for ok in [
            "https://example.com/jwks.json",
            "http://127.0.0.1:9000/jwks",
            "http://localhost/k",
            "http://[::1]:8/k",
        ] {
            assert!(JwksUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/jwks",
            "ftp://x/y",
            "https://u:p@example.com/",
            "https://example.com/#f",
            "file:///etc/passwd",
            "http://10.0.0.1/k",
            "not a url",
        ] {
            assert!(JwksUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
