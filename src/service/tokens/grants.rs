//! Issuing tokens: the authorization code grant (with PKCE), refresh token rotation and
//! client credentials.

use crate::db::{self, grants, tokens, Conn, DbPool};
use crate::domain::{
    ClientTokenClaims, CodeChallenge, Credential, OpaqueToken, Scopes, TokenKey, TokenKind,
};
use crate::service::openid::{self, Identity};
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
    /// OpenID Connect: when the tokens carry the `openid` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// Tokens issued for a user, and who the user is when they carry the `openid` scope (the ID
/// token is signed once the transaction has committed).
pub struct UserTokens {
    pub response: TokenResponse,
    pub identity: Option<Identity>,
}

/// How a grant request ended once its transaction committed. Refusals that revoke tokens must
/// commit that revocation, so they are an `Ok` value of the transaction, not an `Err`.
enum Outcome {
    Issued(Box<UserTokens>),
    Refused(GrantError),
}

fn run_grant(
    conn: &mut Conn,
    work: impl FnOnce(&mut Conn) -> diesel::QueryResult<Outcome>,
) -> Result<UserTokens, GrantError> {
    match db::write_transaction(conn, work).context("token transaction")? {
        Outcome::Issued(tokens) => Ok(*tokens),
        Outcome::Refused(error) => Err(error),
    }
}

/// Everything an issued token pair is bound to.
struct Issue<'a> {
    app_id: i32,
    credential: Credential,
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
            secret_id: issue.credential.secret_id(),
            key_id: issue.credential.key_id(),
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
                    secret_id: issue.credential.secret_id(),
                    key_id: issue.credential.key_id(),
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
        id_token: None,
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
    let claims = ClientTokenClaims::new(client.app_id, client.credential, now, access_ttl_seconds);
    Ok(TokenResponse {
        access_token: claims.sign(key).expose().to_owned(),
        token_type: "Bearer",
        expires_in: access_ttl_seconds,
        refresh_token: None,
        scope: None,
        id_token: None,
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
    /// The OpenID Connect `nonce`, at most [`openid::NONCE_MAX_LEN`] long.
    pub nonce: Option<String>,
    /// When the user last gave their password or second factor.
    pub auth_time: Option<NaiveDateTime>,
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
                approval.auth_time,
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
                    nonce: approval.nonce.as_deref(),
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
) -> Result<UserTokens, GrantError> {
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
            let identity =
                openid::identity_in(conn, &grant, &grant.scope, &client.client_id, code.nonce)?;
            let response = issue(
                conn,
                Issue {
                    app_id: grant.app_id,
                    credential: client.credential,
                    user_id: Some(grant.user_id),
                    grant_id: Some(grant.id),
                    scope: &grant.scope,
                    access_ttl_seconds: lifetimes.access_ttl_seconds,
                    refresh_until: Some(grant.created_at + lifetimes.refresh_max_age),
                },
                now,
            )?;
            Ok(Outcome::Issued(Box::new(UserTokens { response, identity })))
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
) -> Result<UserTokens, GrantError> {
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
            // A refreshed ID token carries no nonce (OpenID Connect Core §12.2).
            let identity = openid::identity_in(conn, &grant, &scope, &client.client_id, None)?;
            let response = issue(
                conn,
                Issue {
                    app_id: grant.app_id,
                    credential: client.credential,
                    user_id: Some(grant.user_id),
                    grant_id: Some(grant.id),
                    scope: &scope,
                    access_ttl_seconds: lifetimes.access_ttl_seconds,
                    refresh_until: Some(grant.created_at + lifetimes.refresh_max_age),
                },
                now,
            )?;
            Ok(Outcome::Issued(Box::new(UserTokens { response, identity })))
        })
    })
    .await
}
