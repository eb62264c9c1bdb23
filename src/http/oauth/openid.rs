//! OpenID Connect's own endpoints: `GET /oauth/jwks` (the keys ID tokens are signed with) and
//! `GET`/`POST /oauth/userinfo` (RFC 6750 bearer errors).

use crate::http::error::AppError;
use crate::service::openid::{self, UserInfoError};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

/// `GET /oauth/jwks`: the key that signs, the next one published ahead, and retired ones whose
/// ID tokens may still be live. Cached briefly, so a rotation reaches verifiers within minutes
/// (and a new key is published an hour, by default, before it signs).
pub async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let keys = state
        .signing_keys()
        .published(state.pool(), state.clock().now())
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(json!({ "keys": keys })))
}

/// `GET` or `POST /oauth/userinfo` with `Authorization: Bearer`: the user's `sub`, and with the
/// `email` scope their address. A token without `openid` gets 403 `insufficient_scope`; an
/// unknown, expired or revoked one, or a client credentials token (it has no user), 401
/// `invalid_token`.
pub async fn userinfo(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(token) = bearer_token(&req) else {
        // No credentials at all: the challenge without an error code (RFC 6750 §3.1).
        return refusal(StatusCode::UNAUTHORIZED, r#"Bearer realm="keyturn""#, None);
    };
    let info = openid::user_info(
        state.pool(),
        state.token_key(),
        token,
        state.access_token_ttl_seconds(),
        state.notifier().mails(),
        state.clock().now(),
    )
    .await;
    match info {
        Ok(info) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(info),
        Err(UserInfoError::InvalidToken) => refusal(
            StatusCode::UNAUTHORIZED,
            r#"Bearer realm="keyturn", error="invalid_token""#,
            Some("invalid_token"),
        ),
        Err(UserInfoError::InsufficientScope) => refusal(
            StatusCode::FORBIDDEN,
            r#"Bearer realm="keyturn", error="insufficient_scope", scope="openid""#,
            Some("insufficient_scope"),
        ),
        Err(UserInfoError::Unexpected(cause)) => {
            tracing::error!(error = ?cause, "UserInfo request failed");
            HttpResponse::InternalServerError()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(json!({"error": "server_error"}))
        }
    }
}

/// The token of an `Authorization: Bearer` header, if there is one.
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn refusal(status: StatusCode, challenge: &'static str, error: Option<&str>) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::WWW_AUTHENTICATE, challenge))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    match error {
        Some(error) => response.json(json!({ "error": error })),
        None => response.finish(),
    }
}
