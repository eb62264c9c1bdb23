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
use crate::db::{self, DbPool};
use crate::domain::client_key::{verifier, ASSERTION_ALGORITHMS};
use crate::domain::{hex_sha256, Credential, JwksUrl, RequestOrigin};
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

/// An assertion may expire at most this far ahead: a copied one is useless soon after.
pub const MAX_LIFETIME: TimeDelta = TimeDelta::minutes(5);
/// Clock difference tolerated between the client and Keyturn.
const LEEWAY: TimeDelta = TimeDelta::seconds(5);
/// Longer assertions are not read (a signed JWT with an RSA-8192 signature is under 2 KB).
const MAX_ASSERTION_LEN: usize = 8 * 1024;
/// Longer `jti`s are refused.
const MAX_JTI_LEN: usize = 256;
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
        return refuse(ClientRefusal::UnknownSecret).await;
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
    let mut verified = None;
    for key in &keys {
        for jwk in candidate_jwks(checks.jwks, key, kid.as_deref(), now).await {
            let Some((decoding, algorithms)) = verifier(&jwk) else {
                continue;
            };
            if !algorithms.contains(&header_alg) {
                continue;
            }
            if let Ok(data) =
                jsonwebtoken::decode::<Claims>(attempt.assertion, &decoding, &validation)
            {
                verified = Some((key.id, data.claims));
                break;
            }
        }
        if verified.is_some() {
            break;
        }
    }
    let Some((key_id, claims)) = verified else {
        return refuse(ClientRefusal::BadAssertion).await;
    };
    let (Some(expires_at), nbf) = (
        timestamp(claims.exp),
        claims.nbf.map(timestamp).unwrap_or(Some(now)),
    ) else {
        return refuse(ClientRefusal::BadAssertion).await;
    };
    let in_time = expires_at + LEEWAY > now
        && expires_at <= now + MAX_LIFETIME + LEEWAY
        && nbf.is_some_and(|nbf| nbf <= now + LEEWAY);
    if !in_time || claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
        return refuse(ClientRefusal::BadAssertion).await;
    }
    let jti_hash = hex_sha256(claims.jti.as_bytes());
    let first_use = db::run(checks.pool, move |conn| {
        let first = client_keys::remember_assertion(conn, app_id, &jti_hash, expires_at + LEEWAY)
            .context("recording a client assertion")?;
        if first {
            client_keys::record_use(conn, key_id, now, now - LAST_USED_PRECISION)
                .context("recording a key's use")?;
        }
        anyhow::Ok(first)
    })
    .await?;
    if !first_use {
        return refuse(ClientRefusal::ReplayedAssertion).await;
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
    if issuer.is_empty() || attempt.client_id.is_some_and(|id| id != issuer) {
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

fn timestamp(seconds: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(seconds, 0).map(|t| t.naive_utc())
}
