//! Authenticating a client by a signed JWT (private_key_jwt: RFC 7523 §2.2 and §3, OpenID
//! Connect Core §9) on every token, revoke and introspect request.
//!
//! Checked, in this order: the header names an accepted algorithm; `iss` names an app (and
//! agrees with any `client_id` sent); the signature verifies with one of that app's active
//! keys, read from the database on every request so a revoked key fails on the next one;
//! `sub` is the client id, `aud` this server or the endpoint, `exp` in the future but at most
//! five minutes ahead; then the `jti` is recorded, once: a copied assertion replayed, on this
//! instance or another, is refused. Every failure is the same `invalid_client`.

use crate::db::client_keys::{self, ClientKeyRow};
use crate::db::writer::Writer;
use crate::db::{self, DbPool};
use crate::domain::client_key::{verifier, ASSERTION_ALGORITHMS};
use crate::domain::{hex_sha256, ClientId, Credential, JwksUrl, RequestOrigin};
use crate::infra::jwks::JwksCache;
use crate::infra::throttle::Throttles;
use crate::service::secrets::{
    count_failed_attempt, AuthenticatedClient, ClientCheck, ClientRefusal, SecretChecks,
};
use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, TimeDelta};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// An assertion may expire at most this far ahead (5 minutes): a copied one is useless soon
/// after.
pub const MAX_LIFETIME_SECONDS: i64 = 300;
/// Clock difference tolerated between the client and Keyturn.
const LEEWAY_SECONDS: i64 = 5;
/// Longer assertions are not read (a signed JWT with an RSA-8192 signature is under 2 KB).
const MAX_ASSERTION_LEN: usize = 8 * 1024;
/// Longer `jti`s are refused.
const MAX_JTI_BYTES: usize = 256;
/// At most this many keys are tried for one assertion: an assertion without a `kid` against a
/// large JWKS must not cost many signature checks.
const MAX_CANDIDATES: usize = 4;
/// "Last Used" moves at most this often per key.
const LAST_USED_PRECISION: TimeDelta = TimeDelta::minutes(1);

/// A client assertion presented with a request.
pub struct AssertionAttempt<'a> {
    pub assertion: &'a str,
    /// `client_id`, when the request also sent it.
    pub client_id: Option<&'a str>,
    /// What `aud` may be: the issuer and the URL of the endpoint called.
    pub audiences: [String; 2],
    pub origin: RequestOrigin,
}

/// What the server keeps for checking assertions.
pub struct AssertionChecks<'a> {
    pub pool: &'a DbPool,
    pub writer: &'a Writer,
    pub jwks: &'a JwksCache,
    pub secret_checks: &'a SecretChecks,
    pub throttles: &'a Throttles,
}

#[derive(Deserialize)]
struct Claims {
    jti: String,
    exp: i64,
    nbf: Option<i64>,
}

/// Only `iss` is read before the signature is checked, to find whose keys to check it with.
#[derive(Deserialize)]
struct Issuer {
    iss: String,
}

/// Checks the assertion; failures are counted against the caller's address like wrong secrets.
pub async fn authenticate_by_assertion(
    checks: AssertionChecks<'_>,
    attempt: AssertionAttempt<'_>,
    now: NaiveDateTime,
) -> anyhow::Result<ClientCheck> {
    let refuse = |reason| {
        count_failed_attempt(
            checks.secret_checks,
            checks.throttles,
            attempt.origin.address_key(),
            reason,
            now,
        )
    };
    let Some((header_alg, kid, client_id)) = read_unverified(&attempt) else {
        return refuse(ClientRefusal::BadAssertion).await;
    };
    let lookup_id = client_id.clone();
    let found = db::run(checks.pool, move |conn| {
        client_keys::active_for_client(conn, &lookup_id).context("loading a client's keys")
    })
    .await?;
    let Some((app_id, keys)) = found else {
        return refuse(ClientRefusal::UnknownClient).await;
    };
    if keys.is_empty() {
        return refuse(ClientRefusal::Inactive).await;
    }
    let mut validation = Validation::new(header_alg);
    validation.set_audience(&attempt.audiences);
    validation.set_issuer(&[&client_id]);
    validation.sub = Some(client_id.clone());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    // Times are checked below against Keyturn's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    // Only keys of the header's algorithm's type, and only a few: each costs a signature check.
    let mut candidates = Vec::new();
    for key in &keys {
        for jwk in candidate_jwks(checks.jwks, key, kid.as_deref(), now).await {
            if candidates.len() < MAX_CANDIDATES && fits(&jwk, header_alg) {
                candidates.push((key.id, jwk));
            }
        }
    }
    let verified = candidates.iter().find_map(|(key_id, jwk)| {
        let (decoding, algorithms) = verifier(jwk)?;
        if !algorithms.contains(&header_alg) {
            return None;
        }
        jsonwebtoken::decode::<Claims>(attempt.assertion, &decoding, &validation)
            .ok()
            .map(|data| (*key_id, data.claims))
    });
    let Some((key_id, claims)) = verified else {
        return refuse(ClientRefusal::BadAssertion).await;
    };
    // Compared as numbers first: a far-away `exp` must not overflow the date arithmetic.
    let now_seconds = now.and_utc().timestamp();
    let in_time = claims.exp.saturating_add(LEEWAY_SECONDS) > now_seconds
        && claims.exp <= now_seconds + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS
        && claims
            .nbf
            .is_none_or(|nbf| nbf <= now_seconds + LEEWAY_SECONDS);
    let remember_until = timestamp(claims.exp.saturating_add(LEEWAY_SECONDS));
    let jti_ok = !claims.jti.is_empty() && claims.jti.len() <= MAX_JTI_BYTES;
    let (true, true, Some(remember_until)) = (in_time, jti_ok, remember_until) else {
        return refuse(ClientRefusal::BadAssertion).await;
    };
    let jti_hash = hex_sha256(claims.jti.as_bytes());
    // After the signature: the key is still active (a revocation that committed while this
    // request fetched a JWKS counts), the jti is new, and Last Used moves.
    let accepted = checks
        .writer
        .run_statements(move |conn| {
            client_keys::accept_assertion(
                conn,
                &client_keys::Assertion {
                    app_id,
                    key_id,
                    jti_hash: &jti_hash,
                    remember_until,
                },
                now,
                now - LAST_USED_PRECISION,
            )
            .context("recording a client assertion")
        })
        .await?;
    match accepted {
        client_keys::Accepted::Yes => {}
        client_keys::Accepted::KeyRevoked => return refuse(ClientRefusal::Inactive).await,
        client_keys::Accepted::Replayed => return refuse(ClientRefusal::ReplayedAssertion).await,
    }
    Ok(ClientCheck::Authenticated(AuthenticatedClient {
        app_id,
        client_id,
        credential: Credential::Key(key_id),
        secret_end: None,
    }))
}

/// The header's algorithm and kid, and the `iss` (which must agree with any `client_id`);
/// `None` for anything that is not a well-formed JWS with an accepted algorithm.
fn read_unverified(attempt: &AssertionAttempt) -> Option<(Algorithm, Option<String>, String)> {
    if attempt.assertion.len() > MAX_ASSERTION_LEN {
        return None;
    }
    let header = jsonwebtoken::decode_header(attempt.assertion).ok()?;
    if has_extensions(attempt.assertion) {
        return None;
    }
    let alg_name = serde_json::to_value(header.alg).ok()?;
    if !ASSERTION_ALGORITHMS.contains(&alg_name.as_str()?) {
        return None;
    }
    let mut peek = Validation::new(header.alg);
    peek.insecure_disable_signature_validation();
    peek.validate_exp = false;
    peek.validate_aud = false;
    peek.required_spec_claims.clear();
    let issuer =
        jsonwebtoken::decode::<Issuer>(attempt.assertion, &DecodingKey::from_secret(&[]), &peek)
            .ok()?
            .claims
            .iss;
    if !ClientId::may_be(&issuer) || attempt.client_id.is_some_and(|id| id != issuer) {
        return None;
    }
    Some((header.alg, header.kid, issuer))
}

/// The JWKs `key` stands for: the pasted key, or the keys at its JWKS URL (those with the
/// assertion's kid when it names one).
async fn candidate_jwks(
    jwks: &JwksCache,
    key: &ClientKeyRow,
    kid: Option<&str>,
    now: NaiveDateTime,
) -> Vec<Jwk> {
    if let Some(json) = &key.public_jwk {
        // A pasted key is tried whatever kid the assertion names: a client may not know the
        // thumbprint Keyturn gave a key that came without one, and an app has two at most.
        return serde_json::from_str::<Jwk>(json).into_iter().collect();
    }
    let Some(url) = key.jwks_url.as_deref().and_then(|u| JwksUrl::parse(u).ok()) else {
        return Vec::new();
    };
    match jwks.keys(&url, kid, now).await {
        Ok(set) => set
            .keys
            .iter()
            .filter(|k| kid.is_none() || k.common.key_id.as_deref() == kid)
            .cloned()
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Whether the JWS header asks for extensions (`crit`, RFC 7515 §4.1.11; `b64`, RFC 7797):
/// Keyturn understands none, and a JWS that needs one must be refused, not read as a plain one.
fn has_extensions(assertion: &str) -> bool {
    use base64::Engine;
    let encoded = assertion.split('.').next().unwrap_or_default();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok());
    match header {
        Some(serde_json::Value::Object(members)) => {
            members.contains_key("crit") || members.contains_key("b64")
        }
        _ => true,
    }
}

/// Whether `jwk` is of the key type `alg` signs with (read before any costly check).
fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    use jsonwebtoken::jwk::AlgorithmParameters as Params;
    matches!(
        (&jwk.algorithm, alg),
        (
            Params::RSA(_),
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ) | (Params::EllipticCurve(_), Algorithm::ES256)
            | (Params::OctetKeyPair(_), Algorithm::EdDSA)
    )
}

fn timestamp(seconds: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(seconds, 0).map(|t| t.naive_utc())
}
