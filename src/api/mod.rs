//! The bearer-token API under `/api/v1`.

use crate::db::{self, tokens};
use crate::domain::AccessToken;
use crate::startup::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use anyhow::Context;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing, unknown, revoked or expired: one answer (RFC 6750 §3.1).
    #[error("invalid_token")]
    InvalidToken,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        match self {
            ApiError::InvalidToken => actix_web::http::StatusCode::UNAUTHORIZED,
            ApiError::Unexpected(_) => actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::InvalidToken => HttpResponse::Unauthorized()
                .insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer realm="keyturn", error="invalid_token""#,
                ))
                .json(json!({"error": "invalid_token"})),
            ApiError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "API request failed");
                HttpResponse::InternalServerError().json(json!({"error": "server_error"}))
            }
        }
    }
}

/// `GET /api/v1/me`: who the token speaks for.
pub async fn me(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&req).ok_or(ApiError::InvalidToken)?;
    let hash = token.hash();
    let grant = db::run(&state.pool, move |conn| {
        tokens::find_active(conn, &hash, db::now()).context("looking up an access token")
    })
    .await?
    .ok_or(ApiError::InvalidToken)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "client_id": grant.client_id,
            "app_name": grant.app_name,
            "scope": grant.scope,
            "exp": grant.expires_at.and_utc().timestamp(),
        })))
}

fn bearer_token(req: &HttpRequest) -> Option<AccessToken> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .then(|| AccessToken::presented(token))
}
