//! Using and ending tokens: bearer checks for the API, introspection (RFC 7662) and
//! revocation (RFC 7009), each bound to the client the token was issued to.

use crate::db::{self, grants, tokens, users, DbPool};
use crate::domain::{ClientTokenClaims, OpaqueToken, Scopes, TokenKey};
use crate::service::audit::{self, Actor};
use crate::service::secrets::AuthenticatedClient;
use anyhow::Context;
use chrono::{NaiveDateTime, TimeDelta};
use serde::Serialize;

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
            claims.credential,
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
