//! The lifecycle of everything a client holds besides its secret: authorization codes, access
//! tokens and refresh tokens.
//!
//! Rules kept here:
//! - codes are single use and live 10 minutes; presenting a used code revokes every token
//!   issued from it (RFC 6749 §4.1.2, RFC 9700 §4.5);
//! - refresh tokens rotate on every use; presenting an already-exchanged one revokes the whole
//!   family (grant) it belongs to;
//! - tokens are bound to the client they were issued to: another client can neither use,
//!   revoke nor introspect them;
//! - only hashes are stored; plaintext exists in the one response that delivers it;
//! - client credentials tokens are signed instead of stored, and every use asks the database
//!   whether the app, the secret and the token are still in good standing.

use crate::db::writer::Writer;
use crate::db::{self, grants, tokens, users, Conn, DbPool};
use crate::domain::{ClientTokenClaims, CodeChallenge, OpaqueToken, Scopes, TokenKey, TokenKind};
use crate::service::audit::{self, Actor};
use crate::service::secrets::AuthenticatedClient;
use anyhow::Context;
use chrono::{NaiveDateTime, TimeDelta};
use serde::Serialize;

pub const CODE_LIFETIME: TimeDelta = TimeDelta::minutes(10);
pub const REFRESH_TOKEN_LIFETIME: TimeDelta = TimeDelta::days(30);

/// How long what a user's authorization yields lasts.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access_ttl_seconds: i64,
    /// From the first authorization: refresh tokens rotate, but never past this.
    pub refresh_max_age: TimeDelta,
}

/// RFC 6749 §5.2 errors of the grants.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    #[error("invalid_scope")]
    InvalidScope,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A successful token response (RFC 6749 §5.1). Holds plaintext, so it has no `Debug`.
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// How a grant request ended once its transaction committed. Refusals that revoke tokens must
/// commit that revocation, so they are an `Ok` value of the transaction, not an `Err`.
enum Outcome {
    Issued(TokenResponse),
    Refused(GrantError),
}

fn run_grant(
    conn: &mut Conn,
    work: impl FnOnce(&mut Conn) -> diesel::QueryResult<Outcome>,
) -> Result<TokenResponse, GrantError> {
    match db::write_transaction(conn, work).context("token transaction")? {
        Outcome::Issued(response) => Ok(response),
        Outcome::Refused(error) => Err(error),
    }
}

/// Everything an issued token pair is bound to.
struct Issue<'a> {
    app_id: i32,
    secret_id: i32,
    user_id: Option<i32>,
    grant_id: Option<i32>,
    scope: &'a str,
    access_ttl_seconds: i64,
    /// Issue a refresh token valid for [`REFRESH_TOKEN_LIFETIME`], but not past this moment.
    refresh_until: Option<NaiveDateTime>,
}

fn issue(conn: &mut Conn, issue: Issue, now: NaiveDateTime) -> diesel::QueryResult<TokenResponse> {
    let access = OpaqueToken::generate(TokenKind::Access);
    tokens::insert(
        conn,
        &tokens::NewAccessToken {
            token_hash: &access.hash(),
            app_id: issue.app_id,
            secret_id: Some(issue.secret_id),
            user_id: issue.user_id,
            grant_id: issue.grant_id,
            scope: issue.scope,
            created_at: now,
            expires_at: now + TimeDelta::seconds(issue.access_ttl_seconds),
        },
    )?;
    let refresh_token = match (issue.refresh_until, issue.grant_id) {
        (Some(until), Some(grant_id)) => {
            let refresh = OpaqueToken::generate(TokenKind::Refresh);
            grants::insert_refresh_token(
                conn,
                &grants::NewRefreshToken {
                    token_hash: &refresh.hash(),
                    grant_id,
                    secret_id: Some(issue.secret_id),
                    created_at: now,
                    expires_at: (now + REFRESH_TOKEN_LIFETIME).min(until),
                },
            )?;
            Some(refresh.expose().to_owned())
        }
        _ => None,
    };
    Ok(TokenResponse {
        access_token: access.expose().to_owned(),
        token_type: "Bearer",
        expires_in: issue.access_ttl_seconds,
        refresh_token,
        scope: (!issue.scope.is_empty()).then(|| issue.scope.to_owned()),
    })
}

/// Client credentials grant (RFC 6749 §4.4): a token for the app itself, no user, no scope.
/// Signed, not stored (see `domain::client_token`): issuing needs no database work beyond the
/// client authentication that already read the secret's status.
pub fn client_credentials(
    key: &TokenKey,
    client: &AuthenticatedClient,
    requested_scope: Option<&str>,
    access_ttl_seconds: i64,
    now: NaiveDateTime,
) -> Result<TokenResponse, GrantError> {
    // Scopes are permissions over a user's data; an app acting for itself has none to ask for.
    if requested_scope.is_some() {
        return Err(GrantError::InvalidScope);
    }
    let claims = ClientTokenClaims::new(client.app_id, client.secret_id, now, access_ttl_seconds);
    Ok(TokenResponse {
        access_token: claims.sign(key).expose().to_owned(),
        token_type: "Bearer",
        expires_in: access_ttl_seconds,
        refresh_token: None,
        scope: None,
    })
}

/// What the user approved on the consent page.
pub struct Approval {
    pub app_id: i32,
    pub user_id: i32,
    pub scopes: Scopes,
    pub redirect_uri: String,
    pub redirect_uri_explicit: bool,
    pub code_challenge: CodeChallenge,
}

/// Records the user's approval as a new grant and returns its authorization code.
pub async fn create_authorization_code(
    pool: &DbPool,
    approval: Approval,
    now: NaiveDateTime,
) -> anyhow::Result<OpaqueToken> {
    let code = OpaqueToken::generate(TokenKind::AuthorizationCode);
    let code_hash = code.hash();
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let grant_id = grants::insert_grant(
                conn,
                approval.app_id,
                approval.user_id,
                &approval.scopes.to_string(),
                now,
            )?;
            grants::insert_code(
                conn,
                &grants::NewAuthorizationCode {
                    code_hash: &code_hash,
                    grant_id,
                    redirect_uri: &approval.redirect_uri,
                    redirect_uri_explicit: approval.redirect_uri_explicit,
                    code_challenge: approval.code_challenge.as_str(),
                    created_at: now,
                    expires_at: now + CODE_LIFETIME,
                },
            )
        })
        .context("storing an authorization code")
    })
    .await?;
    Ok(code)
}

/// What the token request presented with an authorization code.
pub struct CodeExchange {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

/// Authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.6).
pub async fn exchange_code(
    pool: &DbPool,
    client: AuthenticatedClient,
    exchange: CodeExchange,
    lifetimes: Lifetimes,
    now: NaiveDateTime,
) -> Result<TokenResponse, GrantError> {
    const INVALID: &str =
        "The authorization code is invalid, expired or was issued to another client.";
    let code_hash = OpaqueToken::presented(&exchange.code).hash();
    db::run(pool, move |conn| {
        run_grant(conn, |conn| {
            let Some((code, grant)) = grants::find_code(conn, &code_hash)? else {
                return Ok(Outcome::Refused(GrantError::InvalidGrant(INVALID)));
            };
            if grant.app_id != client.app_id {
                return Ok(Outcome::Refused(GrantError::InvalidGrant(INVALID)));
            }
            // Burn the code before any other check: whatever happens next, it never works twice.
            if !grants::use_code(conn, code.id, now)? {
                grants::revoke_grant(conn, grant.id, now)?;
                return Ok(Outcome::Refused(GrantError::InvalidGrant(
                    "The authorization code was already used; tokens issued with it are now revoked.",
                )));
            }
            let redirect_ok = match (&exchange.redirect_uri, code.redirect_uri_explicit) {
                (Some(given), _) => *given == code.redirect_uri,
                (None, explicit) => !explicit,
            };
            let refusal = if code.expires_at <= now || grant.revoked_at.is_some() {
                Some(INVALID)
            } else if !redirect_ok {
                Some("redirect_uri does not match the authorization request.")
            } else {
                match &exchange.code_verifier {
                    None => Some("code_verifier is required (PKCE)."),
                    Some(v) if !CodeChallenge::from_stored(code.code_challenge.clone()).is_satisfied_by(v) => {
                        Some("code_verifier does not match the code_challenge.")
                    }
                    Some(_) => None,
                }
            };
            if let Some(why) = refusal {
                return Ok(Outcome::Refused(GrantError::InvalidGrant(why)));
            }
            issue(
                conn,
                Issue {
                    app_id: grant.app_id,
                    secret_id: client.secret_id,
                    user_id: Some(grant.user_id),
                    grant_id: Some(grant.id),
                    scope: &grant.scope,
                    access_ttl_seconds: lifetimes.access_ttl_seconds,
                    refresh_until: Some(grant.created_at + lifetimes.refresh_max_age),
                },
                now,
            )
            .map(Outcome::Issued)
        })
    })
    .await
}

/// Refresh token grant (RFC 6749 §6) with rotation and reuse detection.
pub async fn refresh(
    pool: &DbPool,
    client: AuthenticatedClient,
    refresh_token: String,
    requested_scope: Option<String>,
    lifetimes: Lifetimes,
    now: NaiveDateTime,
) -> Result<TokenResponse, GrantError> {
    const INVALID: &str =
        "The refresh token is invalid, expired, revoked or was issued to another client.";
    let token_hash = OpaqueToken::presented(&refresh_token).hash();
    db::run(pool, move |conn| {
        run_grant(conn, |conn| {
            let Some((token, grant)) = grants::find_refresh_token(conn, &token_hash)? else {
                return Ok(Outcome::Refused(GrantError::InvalidGrant(INVALID)));
            };
            if grant.app_id != client.app_id || token.revoked_at.is_some() || grant.revoked_at.is_some() {
                return Ok(Outcome::Refused(GrantError::InvalidGrant(INVALID)));
            }
            if token.expires_at <= now {
                return Ok(Outcome::Refused(GrantError::InvalidGrant(INVALID)));
            }
            let scope = match &requested_scope {
                None => grant.scope.clone(),
                Some(raw) => {
                    let granted = Scopes::parse_stored(&grant.scope);
                    match (Scopes::parse_stored(raw), granted) {
                        (Some(asked), Some(granted)) if asked.is_subset(&granted) => asked.to_string(),
                        _ => return Ok(Outcome::Refused(GrantError::InvalidScope)),
                    }
                }
            };
            if !grants::use_refresh_token(conn, token.id, now)? {
                // Someone is replaying a rotated-out token: the legitimate holder and the thief
                // cannot be told apart, so the whole family goes.
                grants::revoke_grant(conn, grant.id, now)?;
                return Ok(Outcome::Refused(GrantError::InvalidGrant(
                    "The refresh token was already used; every token of this authorization is now revoked.",
                )));
            }
            issue(
                conn,
                Issue {
                    app_id: grant.app_id,
                    secret_id: client.secret_id,
                    user_id: Some(grant.user_id),
                    grant_id: Some(grant.id),
                    scope: &scope,
                    access_ttl_seconds: lifetimes.access_ttl_seconds,
                    refresh_until: Some(grant.created_at + lifetimes.refresh_max_age),
                },
                now,
            )
            .map(Outcome::Issued)
        })
    })
    .await
}

/// Token revocation (RFC 7009): revokes the token if it belongs to `client`, otherwise does
/// nothing; either way the caller answers 200. Revoking a refresh token ends its whole grant.
pub async fn revoke(
    pool: &DbPool,
    key: &TokenKey,
    client: AuthenticatedClient,
    token: String,
    actor: Actor,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    let signed = ClientTokenClaims::verify(&token, key);
    let token_hash = OpaqueToken::presented(&token).hash();
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let detail = match signed {
                Some(claims) if claims.app_id == client.app_id => {
                    tokens::revoke_client_token(
                        conn,
                        &claims.token_id_hex(),
                        claims.app_id,
                        claims.expires_at,
                        now,
                    )?;
                    Some("Revoked an access token")
                }
                Some(_) => None,
                None => match tokens::find(conn, &token_hash)? {
                    Some((id, access)) if access.app_id == client.app_id => {
                        tokens::revoke(conn, id, now)?;
                        Some("Revoked an access token")
                    }
                    Some(_) => None,
                    None => match grants::find_refresh_token(conn, &token_hash)? {
                        Some((_, grant)) if grant.app_id == client.app_id => {
                            grants::revoke_grant(conn, grant.id, now)?;
                            Some("Revoked a refresh token and every token of its authorization")
                        }
                        _ => None,
                    },
                },
            };
            if let Some(detail) = detail {
                audit::record(
                    conn,
                    &actor,
                    "token.revoked",
                    Some(client.app_id),
                    None,
                    detail,
                    now,
                )?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .context("revoking a token")
    })
    .await
}

/// RFC 7662 introspection response for an active token.
#[derive(Debug, Serialize)]
pub struct Introspection {
    pub active: bool,
    pub scope: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    pub exp: i64,
    pub iat: i64,
    pub token_type: &'static str,
}

/// Describes `token` if it is active and was issued to `client`; `None` for anything else.
pub async fn introspect(
    pool: &DbPool,
    key: &TokenKey,
    client: AuthenticatedClient,
    token: String,
    access_ttl_seconds: i64,
    now: NaiveDateTime,
) -> anyhow::Result<Option<Introspection>> {
    if let Some(claims) = ClientTokenClaims::verify(&token, key) {
        if claims.app_id != client.app_id {
            return Ok(None);
        }
        let found = client_token(pool, claims, access_ttl_seconds, now).await?;
        return Ok(found.map(|access| Introspection {
            active: true,
            scope: access.scope,
            client_id: access.client_id,
            username: None,
            sub: None,
            exp: access.expires_at.and_utc().timestamp(),
            iat: access.created_at.and_utc().timestamp(),
            token_type: "Bearer",
        }));
    }
    let token_hash = OpaqueToken::presented(&token).hash();
    db::run(pool, move |conn| -> anyhow::Result<Option<Introspection>> {
        if let Some((_, access)) = tokens::find(conn, &token_hash)? {
            let live = access.revoked_at.is_none() && access.expires_at > now;
            return Ok(
                (live && access.app_id == client.app_id).then(|| Introspection {
                    active: true,
                    scope: access.scope.clone(),
                    client_id: access.client_id,
                    username: access.user_email.filter(|_| grants_profile(&access.scope)),
                    sub: access.user_id.map(|id| id.to_string()),
                    exp: access.expires_at.and_utc().timestamp(),
                    iat: access.created_at.and_utc().timestamp(),
                    token_type: "Bearer",
                }),
            );
        }
        let Some((refresh, grant)) = grants::find_refresh_token(conn, &token_hash)? else {
            return Ok(None);
        };
        let live = refresh.revoked_at.is_none()
            && refresh.used_at.is_none()
            && grant.revoked_at.is_none()
            && refresh.expires_at > now;
        if !live || grant.app_id != client.app_id {
            return Ok(None);
        }
        let email = match grants_profile(&grant.scope) {
            true => users::find(conn, grant.user_id)?.map(|u| u.email),
            false => None,
        };
        Ok(Some(Introspection {
            active: true,
            scope: grant.scope,
            client_id: client.client_id,
            username: email,
            sub: Some(grant.user_id.to_string()),
            exp: refresh.expires_at.and_utc().timestamp(),
            iat: refresh.created_at.and_utc().timestamp(),
            token_type: "refresh_token",
        }))
    })
    .await
}

/// Whether a grant's scope lets its holder learn the user's email.
fn grants_profile(scope: &str) -> bool {
    Scopes::parse_stored(scope).is_some_and(|s| s.contains(crate::domain::Scope::Profile))
}

/// The live access token behind a bearer value, if any.
pub async fn bearer(
    pool: &DbPool,
    key: &TokenKey,
    token: &str,
    access_ttl_seconds: i64,
    now: NaiveDateTime,
) -> anyhow::Result<Option<tokens::TokenGrant>> {
    if let Some(claims) = ClientTokenClaims::verify(token, key) {
        return client_token(pool, claims, access_ttl_seconds, now).await;
    }
    let token_hash = OpaqueToken::presented(token).hash();
    db::run(pool, move |conn| {
        let found = tokens::find(conn, &token_hash).context("looking up an access token")?;
        Ok(found
            .map(|(_, grant)| grant)
            .filter(|t| t.revoked_at.is_none() && t.expires_at > now))
    })
    .await
}

/// A signed client credentials token, if it is live: unexpired, its app and secret still there,
/// and revoked neither on its own nor with its secret.
async fn client_token(
    pool: &DbPool,
    claims: ClientTokenClaims,
    access_ttl_seconds: i64,
    now: NaiveDateTime,
) -> anyhow::Result<Option<tokens::TokenGrant>> {
    // A token that claims a longer life than this server grants was not issued under the
    // current settings (a lowered KEYTURN_ACCESS_TOKEN_TTL takes effect for every token).
    let lifetime = claims.expires_at - claims.issued_at;
    if claims.expires_at <= now || lifetime > TimeDelta::seconds(access_ttl_seconds) {
        return Ok(None);
    }
    let state = db::run(pool, move |conn| {
        tokens::client_token_state(
            conn,
            claims.app_id,
            claims.secret_id,
            &claims.token_id_hex(),
        )
        .context("checking a client credentials token")
    })
    .await?;
    Ok(state
        .filter(|state| !state.revoked)
        .map(|state| tokens::TokenGrant {
            app_id: claims.app_id,
            client_id: state.client_id,
            app_name: state.app_name,
            user_id: None,
            user_email: None,
            scope: String::new(),
            created_at: claims.issued_at,
            expires_at: claims.expires_at,
            revoked_at: None,
        }))
}

/// An app the user has authorized, for the "Authorized apps" page.
pub struct AuthorizedApp {
    pub app_id: i32,
    pub app_name: String,
    pub scopes: String,
    pub authorized_at: NaiveDateTime,
}

pub async fn authorized_apps(pool: &DbPool, user_id: i32) -> anyhow::Result<Vec<AuthorizedApp>> {
    let rows = db::run(pool, move |conn| {
        grants::active_for_user(conn, user_id).context("listing authorized apps")
    })
    .await?;
    // One line per app: a user may have authorized the same app several times.
    let mut apps: Vec<AuthorizedApp> = Vec::new();
    for (grant, app_name) in rows {
        match apps.iter_mut().find(|a| a.app_id == grant.app_id) {
            Some(app) => {
                let merged = format!("{} {}", app.scopes, grant.scope);
                app.scopes = Scopes::parse_stored(&merged)
                    .map(|s| s.to_string())
                    .unwrap_or(merged);
                app.authorized_at = app.authorized_at.min(grant.created_at);
            }
            None => apps.push(AuthorizedApp {
                app_id: grant.app_id,
                app_name,
                scopes: grant.scope,
                authorized_at: grant.created_at,
            }),
        }
    }
    Ok(apps)
}

/// Ends every grant the user gave the app, with all their tokens. Returns how many there were.
pub async fn revoke_authorization(
    pool: &DbPool,
    user_id: i32,
    app_id: i32,
    now: NaiveDateTime,
) -> anyhow::Result<usize> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let ids = grants::active_ids_for_user_app(conn, user_id, app_id)?;
            for id in &ids {
                grants::revoke_grant(conn, *id, now)?;
            }
            Ok::<_, diesel::result::Error>(ids.len())
        })
        .context("revoking an app's authorization")
    })
    .await
}

/// Deletes what can no longer be used: access tokens, codes and refresh tokens that expired over
/// an hour ago (a used refresh token is kept until it expires, for reuse detection). Runs on the
/// writer in bounded steps, so it never holds the write lock for long.
pub fn purge_expired(writer: &Writer, now: NaiveDateTime) -> anyhow::Result<usize> {
    let cutoff = now - TimeDelta::hours(1);
    writer
        .run_blocking(move |conn| {
            let access = tokens::purge_expired(conn, cutoff, 5_000)?;
            let grants = grants::purge_expired(conn, cutoff, 5_000)?;
            Ok(access + grants)
        })
        .context("purging expired tokens")
}
