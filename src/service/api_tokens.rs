//! Personal API tokens: creating one (shown once, stored as a SHA-256), listing and revoking
//! them, and authenticating the API's callers with them.
//!
//! A token carries 256 random bits, so a fast hash is enough and lets the row be found by its
//! hash: checking a guess costs one digest and one indexed read, exactly what a valid token
//! costs. Refused tokens count against the caller's address; a valid token is never throttled.

use crate::db::api_tokens::{self, ApiTokenRow, NewApiToken};
use crate::db::writer::Writer;
use crate::db::{self, DbPool};
use crate::domain::{
    Account, ApiScope, ApiScopes, ApiTokenName, OpaqueToken, RequestOrigin, SecretLifetime,
    TokenKind,
};
use crate::infra::throttle::{ThrottleError, Throttles};
use crate::service::audit::{self, ActingToken, Actor};
use crate::service::policy::{self, CachedPolicy};
use anyhow::Context;
use chrono::{NaiveDateTime, TimeDelta};

/// How stale a token's stored "Last used" may get before a use writes it again.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::seconds(60);
/// Ended tokens stay listed this long, then go.
const ENDED_KEPT: TimeDelta = TimeDelta::days(30);

/// Enough for every pipeline a person runs; more would hide forgotten ones.
pub const MAX_LIVE_TOKENS: i64 = 50;

#[derive(Debug, thiserror::Error)]
pub enum ApiTokenError {
    #[error("You have {MAX_LIVE_TOKENS} API tokens that still work. Revoke one you no longer use before creating another.")]
    TooMany,
    /// The same creation form was submitted twice (a reload).
    #[error("This form was already used, and its token was shown once. If you did not copy it, revoke it and create another.")]
    AlreadyCreated,
    #[error("API tokens may live at most {0} days here. Choose a shorter Expires after.")]
    LifetimeNotAllowed(i64),
    /// Somebody else's token (to a non-admin), or none.
    #[error("API token not found.")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for ApiTokenError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
                if info.message().contains("request_nonce") =>
            {
                ApiTokenError::AlreadyCreated
            }
            _ => ApiTokenError::Unexpected(anyhow::Error::from(e).context("API token query")),
        }
    }
}

/// What the "Create token" form asked for.
#[derive(Debug)]
pub struct NewToken {
    pub name: ApiTokenName,
    pub scopes: ApiScopes,
    pub lifetime: SecretLifetime,
    /// From the form; makes a resubmission harmless.
    pub request_nonce: Option<String>,
}

/// Creates a token for `owner`; the plaintext is in the returned value and nowhere else.
pub async fn create(
    pool: &DbPool,
    owner: &Account,
    request: NewToken,
    actor: Actor,
    now: NaiveDateTime,
) -> Result<(OpaqueToken, ApiTokenRow), ApiTokenError> {
    let token = OpaqueToken::generate(TokenKind::Personal);
    let token_hash = token.hash();
    let user_id = owner.id;
    let row = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            // The admin's maximum secret lifetime applies to API tokens too.
            let policy = policy::read_in(conn)?;
            if !policy.allows(request.lifetime) {
                return Err(ApiTokenError::LifetimeNotAllowed(
                    policy.max_lifetime_days.unwrap_or_default(),
                ));
            }
            if api_tokens::count_live(conn, user_id, now)? >= MAX_LIVE_TOKENS {
                return Err(ApiTokenError::TooMany);
            }
            let scopes = request.scopes.to_string();
            let row = api_tokens::insert(
                conn,
                &NewApiToken {
                    user_id,
                    name: request.name.as_str(),
                    token_hash: &token_hash,
                    scopes: &scopes,
                    created_at: now,
                    expires_at: request.lifetime.duration().map(|d| now + d),
                    request_nonce: request.request_nonce.as_deref(),
                },
            )?;
            let detail = format!(
                "Created the API token \"{}\" ({}; expires after {})",
                row.name,
                scopes,
                request.lifetime.describe().to_lowercase()
            );
            audit::record(
                conn,
                &actor,
                "account.api_token_created",
                None,
                None,
                &detail,
                now,
            )?;
            Ok(row)
        })
    })
    .await?;
    Ok((token, row))
}

pub async fn list_for_user(pool: &DbPool, user_id: i32) -> anyhow::Result<Vec<ApiTokenRow>> {
    db::run(pool, move |conn| {
        api_tokens::list_for_user(conn, user_id).context("listing API tokens")
    })
    .await
}

/// Every user's tokens with their owner's email, for admins.
pub async fn list_all(pool: &DbPool) -> anyhow::Result<Vec<(ApiTokenRow, String)>> {
    db::run(pool, move |conn| {
        api_tokens::list_all(conn, 1_000).context("listing every API token")
    })
    .await
}

/// Revokes a token of the actor's own, or anybody's for an admin; effective for the very next
/// request. `false` if it was already revoked.
pub async fn revoke(
    pool: &DbPool,
    token_id: i32,
    actor: Actor,
    now: NaiveDateTime,
) -> Result<bool, ApiTokenError> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let row = api_tokens::find(conn, token_id)?
                .filter(|row| actor.is_admin || Some(row.user_id) == actor.user_id)
                .ok_or(ApiTokenError::NotFound)?;
            let revoked = api_tokens::revoke(conn, row.id, now)?;
            if revoked {
                let detail = match Some(row.user_id) == actor.user_id {
                    true => format!("Revoked the API token \"{}\"", row.name),
                    false => {
                        let owner = db::users::find(conn, row.user_id)?
                            .map(|u| u.email)
                            .unwrap_or_default();
                        format!("Revoked {owner}'s API token \"{}\"", row.name)
                    }
                };
                audit::record(
                    conn,
                    &actor,
                    "account.api_token_revoked",
                    None,
                    None,
                    &detail,
                    now,
                )?;
            }
            Ok(revoked)
        })
    })
    .await
}

/// A person acting through one of their API tokens.
#[derive(Debug, Clone)]
pub struct TokenCaller {
    pub user_id: i32,
    pub email: String,
    pub token_id: i32,
    pub token_name: String,
    pub scopes: ApiScopes,
}

impl TokenCaller {
    pub fn may(&self, scope: ApiScope) -> bool {
        self.scopes.contains(scope)
    }

    /// The actor of the changes this token makes: shown as "by <email> (API token <name>)".
    pub fn actor(&self, ip: Option<String>) -> Actor {
        Actor {
            user_id: Some(self.user_id),
            email: self.email.clone(),
            // An admin's token acts only where its owner could as a member.
            is_admin: false,
            ip,
            api_token: Some(ActingToken {
                id: self.token_id,
                name: self.token_name.clone(),
            }),
        }
    }
}

/// The outcome of presenting an API token.
#[derive(Debug)]
pub enum TokenCheck {
    Valid(TokenCaller),
    /// Unknown, revoked or expired: one answer for all.
    Refused,
    /// The owner has no second factor and the admin requires one.
    TwoFactorRequired,
    /// Too many refused tokens from this address; retry after this many seconds.
    Throttled(i64),
}

/// Authenticates a presented `ktp_` token.
pub async fn authenticate(
    pool: &DbPool,
    writer: &Writer,
    throttles: &Throttles,
    policy: &CachedPolicy,
    presented: &str,
    origin: RequestOrigin,
    now: NaiveDateTime,
) -> anyhow::Result<TokenCheck> {
    let token_hash = OpaqueToken::presented(presented).hash();
    let found = db::run(pool, move |conn| {
        api_tokens::find_by_hash(conn, &token_hash).context("looking up an API token")
    })
    .await?;
    let live = found
        .filter(|(row, _)| row.revoked_at.is_none() && row.expires_at.is_none_or(|end| end > now));
    let scopes = live
        .as_ref()
        .and_then(|(row, _)| ApiScopes::parse_stored(&row.scopes));
    let (Some((row, owner)), Some(scopes)) = (live, scopes) else {
        return match throttles
            .api_address
            .reserve(origin.address_key(), now)
            .await
        {
            // Kept: a failure.
            Ok(_failure) => Ok(TokenCheck::Refused),
            Err(ThrottleError::Exceeded(wait)) => Ok(TokenCheck::Throttled(wait)),
            Err(ThrottleError::Unexpected(e)) => Err(e),
        };
    };
    if owner.two_factor_since.is_none() && policy.get(pool).await?.require_two_factor {
        return Ok(TokenCheck::TwoFactorRequired);
    }
    let stale = row
        .last_used_at
        .is_none_or(|used| used <= now - LAST_USED_RESOLUTION);
    if stale || row.last_used_ip != origin.ip {
        let (id, ip) = (row.id, origin.ip);
        writer
            .run(move |conn| {
                api_tokens::record_use(conn, id, now, ip.as_deref())?;
                Ok(())
            })
            .await
            .context("recording an API token's use")?;
    }
    Ok(TokenCheck::Valid(TokenCaller {
        user_id: row.user_id,
        email: owner.email,
        token_id: row.id,
        token_name: row.name,
        scopes,
    }))
}

/// Deletes tokens ended a month ago and Idempotency-Keys past their day.
pub fn purge(conn: &mut db::Conn, now: NaiveDateTime) -> diesel::QueryResult<()> {
    api_tokens::purge_ended(conn, now - ENDED_KEPT)?;
    api_tokens::purge_idempotency_keys(conn, now - crate::service::secrets::IDEMPOTENCY_WINDOW)?;
    Ok(())
}
