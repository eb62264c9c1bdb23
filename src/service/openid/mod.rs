//! OpenID Connect on top of the authorization code grant: ID tokens, the subject identifier,
//! and the UserInfo endpoint's answer.
//!
//! - `sub` is a random identifier per account (`openid_subjects`), created the first time an
//!   app signs the account in: stable, and telling nothing about the row id or the number of
//!   accounts.
//! - `email_verified` is true only when the address was proven by a mailed link: a server
//!   without mail counts every address as verified for its own purposes, but has proven none.
//! - An ID token lives as long as an access token (`KEYTURN_ACCESS_TOKEN_TTL`).

mod signing_keys;

pub use signing_keys::{Rotated, SigningKeys};

use crate::db::{self, grants::Grant, openid_subjects, users, Conn, DbPool};
use crate::domain::{left_half_sha256, random_base62, Scope, Scopes, TokenKey};
use actix_web::web;
use anyhow::Context;
use chrono::NaiveDateTime;
use serde::Serialize;

/// Longest `nonce` an authorization request may carry (it is stored with the code).
pub const NONCE_MAX_LEN: usize = 512;

/// Who an ID token is about and for, gathered while the code or refresh token is exchanged.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub client_id: String,
    pub auth_time: Option<NaiveDateTime>,
    pub nonce: Option<String>,
    /// With the `email` scope: the address, and whether it was ever marked verified.
    pub email: Option<(String, bool)>,
}

/// The identity behind `grant` when `scope` (what the new tokens carry) includes `openid`; on
/// the exchange's own connection and transaction, which creates the subject if need be.
pub fn identity_in(
    conn: &mut Conn,
    grant: &Grant,
    scope: &str,
    client_id: &str,
    nonce: Option<String>,
) -> diesel::QueryResult<Option<Identity>> {
    let Some(scopes) = Scopes::parse_stored(scope).filter(|s| s.contains(Scope::OpenId)) else {
        return Ok(None);
    };
    let subject = openid_subjects::get_or_insert(conn, grant.user_id, &new_subject())?;
    let email = match scopes.contains(Scope::Email) {
        true => users::find(conn, grant.user_id)?.map(|u| (u.email, u.email_verified_at.is_some())),
        false => None,
    };
    Ok(Some(Identity {
        subject,
        client_id: client_id.to_owned(),
        auth_time: grant.auth_time,
        nonce,
        email,
    }))
}

/// A random subject identifier: 22 base62 characters (130 bits).
fn new_subject() -> String {
    random_base62(22)
}

/// The claims of an ID token (OpenID Connect Core §2).
#[derive(Debug, Serialize)]
struct IdTokenClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    at_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

/// What issuing an ID token needs from the server.
pub struct Issuer<'a> {
    pub url: &'a str,
    pub keys: &'a SigningKeys,
    pub pool: &'a DbPool,
    /// Whether this server mails, so that a verified address was proven by a link.
    pub proves_addresses: bool,
}

/// Signs the ID token for `identity`, issued with `access_token`, with the key that signs now.
pub async fn id_token(
    issuer: Issuer<'_>,
    identity: Identity,
    access_token: &str,
    now: NaiveDateTime,
) -> anyhow::Result<String> {
    let key = issuer.keys.signing_key(issuer.pool, now).await?;
    let claims = IdTokenClaims {
        iss: issuer.url.to_owned(),
        sub: identity.subject,
        aud: identity.client_id,
        exp: (now + issuer.keys.token_lifetime()).and_utc().timestamp(),
        iat: now.and_utc().timestamp(),
        auth_time: identity.auth_time.map(|t| t.and_utc().timestamp()),
        nonce: identity.nonce,
        at_hash: left_half_sha256(access_token),
        email_verified: identity
            .email
            .as_ref()
            .map(|(_, verified)| *verified && issuer.proves_addresses),
        email: identity.email.map(|(email, _)| email),
    };
    web::block(move || key.sign_jwt(&claims))
        .await
        .context("signing an ID token")?
}

/// The UserInfo response (OpenID Connect Core §5.3.2).
#[derive(Debug, Serialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// Why a bearer token gets no UserInfo.
#[derive(Debug, thiserror::Error)]
pub enum UserInfoError {
    /// Unknown, expired or revoked; or a client credentials token, which has no user.
    #[error("invalid_token")]
    InvalidToken,
    /// A user's token without the `openid` scope.
    #[error("insufficient_scope")]
    InsufficientScope,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What the user behind `token` lets its holder know: `sub`, and with `email` the address.
pub async fn user_info(
    pool: &DbPool,
    key: &TokenKey,
    token: &str,
    access_ttl_seconds: i64,
    proves_addresses: bool,
    now: NaiveDateTime,
) -> Result<UserInfo, UserInfoError> {
    let grant = crate::service::tokens::bearer(pool, key, token, access_ttl_seconds, now)
        .await?
        .ok_or(UserInfoError::InvalidToken)?;
    let user_id = grant.user_id.ok_or(UserInfoError::InvalidToken)?;
    let scopes = Scopes::parse_stored(&grant.scope)
        .filter(|s| s.contains(Scope::OpenId))
        .ok_or(UserInfoError::InsufficientScope)?;
    let with_email = scopes.contains(Scope::Email);
    let candidate = new_subject();
    let (subject, user) = db::run(pool, move |conn| -> anyhow::Result<_> {
        let subject = match openid_subjects::find(conn, user_id).context("reading a subject")? {
            Some(subject) => subject,
            // Only a token issued before its ID token could get here; made as an exchange would.
            None => db::write_transaction(conn, |conn| {
                openid_subjects::get_or_insert(conn, user_id, &candidate)
            })
            .context("creating a subject")?,
        };
        let user = users::find(conn, user_id).context("reading the user")?;
        Ok((subject, user))
    })
    .await?;
    let user = user.ok_or(UserInfoError::InvalidToken)?;
    Ok(UserInfo {
        sub: subject,
        email_verified: with_email.then_some(user.email_verified_at.is_some() && proves_addresses),
        email: with_email.then_some(user.email),
    })
}
