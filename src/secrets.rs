//! The heart of Keyturn: generating, verifying, rotating and revoking client secrets.
//!
//! Rules kept here and nowhere else:
//! - a new secret never revokes an old one, and an app has at most [`MAX_ACTIVE`] active secrets,
//!   checked inside an immediate (write-locked) transaction and again by a database trigger;
//! - revocation is immediate and final: every verification reads the secret's status from the
//!   database, so the request after a revoke is refused;
//! - plaintext exists only in the [`ClientSecret`] handed back once by [`generate_secret`];
//!   the database holds a bcrypt hash and the last four characters;
//! - "Last Used" is written at most once a minute per secret, not once per request.

use crate::auth::password;
use crate::db::{self, secrets, secrets::SecretRow, DbPool};
use crate::domain::ClientSecret;
use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use subtle::ConstantTimeEq;

/// Two active secrets are enough to rotate without downtime; more would hide forgotten ones.
pub const MAX_ACTIVE: i64 = 2;
pub const MAX_ACTIVE_MESSAGE: &str =
    "You can only have a maximum of 2 active secrets. Revoke one before generating another.";
/// How stale the stored "Last Used" may get before a use writes it again.
const LAST_USED_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{MAX_ACTIVE_MESSAGE}")]
    TooManyActive,
    /// The same confirmation form was submitted twice (a reload, a double click).
    #[error("This confirmation was already used, and its secret was shown once. If you did not copy it, revoke it and generate a new one.")]
    AlreadyGenerated,
    #[error("Secret not found.")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DieselError> for SecretError {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
                if info.message().contains("request_nonce") =>
            {
                SecretError::AlreadyGenerated
            }
            // The trigger that backs up the transaction's own check.
            DieselError::DatabaseError(_, info)
                if info.message().contains("max_two_active_secrets") =>
            {
                SecretError::TooManyActive
            }
            _ => SecretError::Unexpected(anyhow::Error::from(e).context("client secret query")),
        }
    }
}

/// A secret just created: the plaintext to show once, and the stored row.
#[derive(Debug)]
pub struct GeneratedSecret {
    pub plaintext: ClientSecret,
    pub row: SecretRow,
}

/// Creates a secret for `app_id` unless it already has [`MAX_ACTIVE`] active ones.
/// `request_nonce` comes from the confirmation form and makes a resubmission harmless.
pub async fn generate_secret(
    pool: &DbPool,
    bcrypt_cost: u32,
    app_id: i32,
    request_nonce: Option<String>,
    now: NaiveDateTime,
) -> Result<GeneratedSecret, SecretError> {
    // Cheap early answer, so a full app does not cost a bcrypt; the transaction below decides.
    if count_active(pool, app_id).await? >= MAX_ACTIVE {
        return Err(SecretError::TooManyActive);
    }
    let plaintext = ClientSecret::generate();
    let hash = password::hash(plaintext.expose().to_owned(), bcrypt_cost).await?;
    let public_id = plaintext.public_id().to_owned();
    let hint = plaintext.hint().last_four().to_owned();
    let row = db::run(pool, move |conn| {
        conn.immediate_transaction(|conn| {
            if secrets::count_active(conn, app_id)? >= MAX_ACTIVE {
                return Err(SecretError::TooManyActive);
            }
            let new = secrets::NewSecret {
                app_id,
                public_id: &public_id,
                secret_hash: &hash,
                hint: &hint,
                created_at: now,
                request_nonce: request_nonce.as_deref(),
            };
            Ok(secrets::insert(conn, &new)?)
        })
    })
    .await?;
    Ok(GeneratedSecret { plaintext, row })
}

/// What a revoke did.
#[derive(Debug)]
pub enum Revocation {
    /// With how many tokens issued with the secret were revoked too (0 unless asked).
    Revoked {
        row: SecretRow,
        tokens_revoked: usize,
    },
    /// Revoking twice changes nothing.
    AlreadyRevoked(SecretRow),
}

/// Revokes one of `app_id`'s secrets, effective for the very next authentication. Tokens
/// issued with it stay valid (rotation must not log users out) unless `also_tokens` is set,
/// for the leaked-secret case.
pub async fn revoke_secret(
    pool: &DbPool,
    app_id: i32,
    secret_id: i32,
    also_tokens: bool,
    now: NaiveDateTime,
) -> Result<Revocation, SecretError> {
    db::run(pool, move |conn| {
        conn.immediate_transaction(|conn| {
            let row =
                secrets::find_for_app(conn, app_id, secret_id)?.ok_or(SecretError::NotFound)?;
            if row.revoked_at.is_some() {
                return Ok(Revocation::AlreadyRevoked(row));
            }
            secrets::revoke(conn, row.id, now)?;
            let tokens_revoked = if also_tokens {
                db::tokens::revoke_issued_with_secret(conn, row.id, now)?
            } else {
                0
            };
            let row =
                secrets::find_for_app(conn, app_id, secret_id)?.ok_or(SecretError::NotFound)?;
            Ok(Revocation::Revoked {
                row,
                tokens_revoked,
            })
        })
    })
    .await
}

/// The app's secrets, newest first.
pub async fn list_secrets(pool: &DbPool, app_id: i32) -> Result<Vec<SecretRow>, SecretError> {
    db::run(pool, move |conn| Ok(secrets::list_for_app(conn, app_id)?)).await
}

/// How many of the app's secrets still authenticate.
pub async fn count_active(pool: &DbPool, app_id: i32) -> Result<i64, SecretError> {
    db::run(pool, move |conn| Ok(secrets::count_active(conn, app_id)?)).await
}

/// One of the app's secrets, for the revoke confirmation.
pub async fn find_secret(
    pool: &DbPool,
    app_id: i32,
    secret_id: i32,
) -> Result<SecretRow, SecretError> {
    db::run(pool, move |conn| {
        secrets::find_for_app(conn, app_id, secret_id)?.ok_or(SecretError::NotFound)
    })
    .await
}

/// A client that proved it holds an active secret.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub app_id: i32,
    pub client_id: String,
    pub secret_id: i32,
}

/// Checks `client_id` + `presented` secret. `None` for every kind of failure (malformed,
/// unknown, another app's, revoked, wrong), so callers cannot leak which one it was.
/// Malformed secrets cost no database or bcrypt work; at most one bcrypt per call.
pub async fn authenticate_client(
    pool: &DbPool,
    bcrypt_cost: u32,
    client_id: &str,
    presented: &str,
    now: NaiveDateTime,
) -> anyhow::Result<Option<AuthenticatedClient>> {
    let Some(secret) = ClientSecret::parse(presented) else {
        return Ok(None);
    };
    let public_id = secret.public_id().to_owned();
    let found = db::run(pool, move |conn| {
        secrets::find_for_authentication(conn, &public_id).context("looking up a client secret")
    })
    .await?;
    let Some((row, owner_client_id)) = found else {
        return Ok(None);
    };
    let same_client = bool::from(owner_client_id.as_bytes().ct_eq(client_id.as_bytes()));
    if !same_client || row.revoked_at.is_some() {
        return Ok(None);
    }
    if !password::verify(
        secret.expose().to_owned(),
        Some(row.secret_hash.clone()),
        bcrypt_cost,
    )
    .await?
    {
        return Ok(None);
    }
    record_use(pool, &row, now).await?;
    Ok(Some(AuthenticatedClient {
        app_id: row.app_id,
        client_id: owner_client_id,
        secret_id: row.id,
    }))
}

/// Updates "Last Used" when the stored value is over a minute old (or unset).
async fn record_use(pool: &DbPool, row: &SecretRow, now: NaiveDateTime) -> anyhow::Result<()> {
    let stale_before = now - LAST_USED_RESOLUTION;
    if row.last_used_at.is_some_and(|used| used >= stale_before) {
        return Ok(());
    }
    let id = row.id;
    db::run(pool, move |conn| {
        secrets::record_use(conn, id, now, stale_before).context("recording a secret's use")
    })
    .await
}
