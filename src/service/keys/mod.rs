//! Apps' public keys: adding one (pasted, or a JWKS URL), revoking one, at most
//! [`MAX_ACTIVE_KEYS`] active at once so a rotation is add, move, revoke, as with secrets. How
//! a client authenticates with one is in [`assertion`].

pub mod assertion;

use crate::db::client_keys::{self, ClientKeyRow, NewClientKey};
use crate::db::{self, DbPool};
use crate::domain::{JwksUrl, KeyInputError, PublicKey};
use crate::infra::jwks::{JwksCache, JwksError};
use crate::infra::throttle::{Throttle, ThrottleError};
use crate::service::apps::{self, AppsError};
use crate::service::audit::{self, Actor};
use crate::service::notifications;
use anyhow::Context;
use chrono::NaiveDateTime;

/// Two, as for secrets: the one in use and the one replacing it.
pub const MAX_ACTIVE_KEYS: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("You can only have a maximum of {MAX_ACTIVE_KEYS} active public keys. Revoke one before adding another.")]
    TooManyActive,
    #[error("This key is already one of the app's active keys.")]
    AlreadyActive,
    #[error("An active key of this app already has the kid {0}: give the new key another kid.")]
    KidInUse(String),
    #[error(transparent)]
    Input(#[from] KeyInputError),
    #[error(transparent)]
    Jwks(#[from] JwksError),
    #[error("Too many JWKS URLs were tried for this app. Try again in {} minutes.", (.0 + 59) / 60)]
    TooManyTries(i64),
    #[error("Key not found.")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<AppsError> for KeyError {
    fn from(e: AppsError) -> Self {
        match e {
            AppsError::NotFound => KeyError::NotFound,
            AppsError::Forbidden(message) => KeyError::Forbidden(message),
            AppsError::Unexpected(cause) => KeyError::Unexpected(cause),
        }
    }
}

impl From<diesel::result::Error> for KeyError {
    fn from(e: diesel::result::Error) -> Self {
        KeyError::Unexpected(anyhow::Error::new(e).context("client key query"))
    }
}

/// What the owner entered in the form: a pasted key or a JWKS URL, exactly one.
pub enum NewKey {
    Pasted(PublicKey),
    Jwks(JwksUrl),
}

impl NewKey {
    pub fn parse(public_key: &str, jwks_url: &str) -> Result<Self, KeyInputError> {
        match (public_key.trim().is_empty(), jwks_url.trim().is_empty()) {
            (true, true) => Err(KeyInputError::Empty),
            (false, false) => Err(KeyInputError::Both),
            (false, true) => PublicKey::parse(public_key).map(NewKey::Pasted),
            (true, false) => JwksUrl::parse(jwks_url).map(NewKey::Jwks),
        }
    }
}

/// Adds a key to the app. A JWKS URL is fetched first: it must answer with a usable set now.
pub async fn add_key(
    pool: &DbPool,
    jwks: &JwksCache,
    tries: &Throttle,
    app_id: i32,
    key: NewKey,
    actor: Actor,
    now: NaiveDateTime,
) -> Result<ClientKeyRow, KeyError> {
    let (kid, algorithm, jwk, url, fingerprint, detail) = match key {
        NewKey::Pasted(key) => {
            let detail = format!("Added public key {} ({})", key.kid, key.algorithm);
            (
                key.kid,
                key.algorithm,
                Some(key.jwk_json),
                None,
                key.thumbprint,
                detail,
            )
        }
        NewKey::Jwks(url) => {
            // A URL that could not be added anyway is not fetched (the transaction below
            // checks again).
            let fingerprint = url.fingerprint();
            let active = db::run(pool, move |conn| {
                client_keys::active_for_app(conn, app_id).context("loading an app's keys")
            })
            .await?;
            if active.iter().any(|k| k.fingerprint == fingerprint) {
                return Err(KeyError::AlreadyActive);
            }
            if active.len() >= MAX_ACTIVE_KEYS {
                return Err(KeyError::TooManyActive);
            }
            // Counted whatever the answer (the reservation is kept).
            let _tried = match tries.reserve(&app_id.to_string(), now).await {
                Ok(tried) => tried,
                Err(ThrottleError::Exceeded(wait)) => return Err(KeyError::TooManyTries(wait)),
                Err(ThrottleError::Unexpected(e)) => return Err(KeyError::Unexpected(e)),
            };
            let set = jwks.fetch_now(&url, now).await?;
            let detail = format!(
                "Added JWKS URL {} ({} keys at the time)",
                url.as_str(),
                set.keys.len()
            );
            (
                String::new(),
                "JWKS".to_owned(),
                None,
                Some(url.as_str().to_owned()),
                fingerprint,
                detail,
            )
        }
    };
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            apps::may_still_change_in(conn, app_id, &actor)?;
            let active = client_keys::active_for_app(conn, app_id)?;
            if active.iter().any(|k| k.fingerprint == fingerprint) {
                return Err(KeyError::AlreadyActive);
            }
            if !kid.is_empty() && active.iter().any(|k| k.kid == kid) {
                return Err(KeyError::KidInUse(kid));
            }
            if active.len() >= MAX_ACTIVE_KEYS {
                return Err(KeyError::TooManyActive);
            }
            let row = client_keys::insert(
                conn,
                &NewClientKey {
                    app_id,
                    kid: &kid,
                    algorithm: &algorithm,
                    public_jwk: jwk.as_deref(),
                    jwks_url: url.as_deref(),
                    fingerprint: &fingerprint,
                    created_at: now,
                    created_by: actor.user_id,
                },
            )?;
            audit::record(conn, &actor, "key.added", Some(app_id), None, &detail, now)?;
            notifications::record_key(conn, notifications::KEY_ADDED, &row, &actor, now)?;
            Ok(row)
        })
    })
    .await
}

/// What a revoke did.
pub enum KeyRevocation {
    Revoked(ClientKeyRow),
    /// Revoking twice changes nothing, except that the tokens issued with it can go then.
    AlreadyRevoked {
        row: ClientKeyRow,
        tokens_revoked: bool,
    },
}

/// Revokes one of the app's keys, effective for the very next client assertion. Tokens issued
/// with it stay valid unless `also_tokens` is set (a leaked private key).
pub async fn revoke_key(
    pool: &DbPool,
    app_id: i32,
    key_id: i32,
    also_tokens: bool,
    actor: Actor,
    now: NaiveDateTime,
) -> Result<KeyRevocation, KeyError> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            apps::may_still_change_in(conn, app_id, &actor)?;
            let (row, revoked_now) =
                client_keys::revoke(conn, app_id, key_id, now)?.ok_or(KeyError::NotFound)?;
            let tokens_revoked =
                also_tokens && db::tokens::revoke_issued_with_key(conn, row.id, now)?;
            let name = describe(&row);
            let detail = match (revoked_now, tokens_revoked) {
                (true, true) => format!("Revoked {name} and every token issued with it"),
                (true, false) => format!("Revoked {name}"),
                (false, true) => format!("Revoked every token issued with {name}"),
                (false, false) => {
                    return Ok(KeyRevocation::AlreadyRevoked {
                        row,
                        tokens_revoked,
                    })
                }
            };
            audit::record(
                conn,
                &actor,
                "key.revoked",
                Some(app_id),
                None,
                &detail,
                now,
            )?;
            if revoked_now {
                notifications::record_key(conn, notifications::KEY_REVOKED, &row, &actor, now)?;
            }
            Ok(if revoked_now {
                KeyRevocation::Revoked(row)
            } else {
                KeyRevocation::AlreadyRevoked {
                    row,
                    tokens_revoked,
                }
            })
        })
    })
    .await
}

/// "public key <kid>" or "JWKS URL <url>", as the Activity and the messages name a key.
pub fn describe(row: &ClientKeyRow) -> String {
    match &row.jwks_url {
        Some(url) => format!("JWKS URL {url}"),
        None => format!("public key {}", row.kid),
    }
}

/// Every key of the app, newest first, with who added it.
pub async fn list_keys(
    pool: &DbPool,
    app_id: i32,
) -> Result<Vec<(ClientKeyRow, Option<String>)>, KeyError> {
    db::run(pool, move |conn| {
        client_keys::list_for_app(conn, app_id).context("listing an app's keys")
    })
    .await
    .map_err(KeyError::Unexpected)
}

/// One key of the app.
pub async fn find_key(pool: &DbPool, app_id: i32, key_id: i32) -> Result<ClientKeyRow, KeyError> {
    db::run(pool, move |conn| {
        client_keys::find(conn, app_id, key_id).context("loading a key")
    })
    .await?
    .ok_or(KeyError::NotFound)
}
