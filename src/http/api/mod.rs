//! The bearer-token API under `/api/v1` (RFC 6750).

use crate::db::tokens::TokenGrant;
use crate::domain::{Scope, Scopes};
use crate::service::apps;
use crate::service::tokens;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing, unknown, revoked or expired: one answer (RFC 6750 §3.1).
    #[error("invalid_token")]
    InvalidToken,
    #[error("insufficient_scope")]
    InsufficientScope(Scope),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientScope(_) => StatusCode::FORBIDDEN,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
            ApiError::InsufficientScope(needed) => HttpResponse::Forbidden()
                .insert_header((
                    header::WWW_AUTHENTICATE,
                    format!(
                        r#"Bearer realm="keyturn", error="insufficient_scope", scope="{}""#,
                        needed.as_str()
                    ),
                ))
                .json(json!({"error": "insufficient_scope", "scope": needed.as_str()})),
            ApiError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "API request failed");
                HttpResponse::InternalServerError().json(json!({"error": "server_error"}))
            }
        }
    }
}

/// The live access token in the `Authorization: Bearer` header.
async fn authenticate(req: &HttpRequest, state: &AppState) -> Result<TokenGrant, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::InvalidToken)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::InvalidToken);
    }
    tokens::bearer(
        state.pool(),
        state.token_key(),
        token.trim(),
        state.access_token_ttl_seconds(),
        state.clock().now(),
    )
    .await?
    .ok_or(ApiError::InvalidToken)
}

/// For a user token, the user it acts for; `scope` must have been granted.
fn require_user(grant: &TokenGrant, scope: Scope) -> Result<i32, ApiError> {
    let granted = Scopes::parse_stored(&grant.scope).is_some_and(|s| s.contains(scope));
    match grant.user_id {
        Some(user_id) if granted => Ok(user_id),
        _ => Err(ApiError::InsufficientScope(scope)),
    }
}

fn no_store(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// `GET /api/v1/me`: the user (token with `profile`), or the app (client credentials token).
pub async fn me(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let grant = authenticate(&req, &state).await?;
    if grant.user_id.is_none() {
        return Ok(no_store(json!({
            "client_id": grant.client_id,
            "app_name": grant.app_name,
            "scope": grant.scope,
        })));
    }
    let user_id = require_user(&grant, Scope::Profile)?;
    Ok(no_store(json!({
        "sub": user_id.to_string(),
        "email": grant.user_email,
        "client_id": grant.client_id,
        "scope": grant.scope,
    })))
}

/// `GET /api/v1/apps`: the apps the user may see, their own and their teams' (token with
/// `apps:read`).
pub async fn my_apps(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let grant = authenticate(&req, &state).await?;
    let user_id = require_user(&grant, Scope::AppsRead)?;
    let apps = apps::my_apps(state.pool(), user_id)
        .await
        .map_err(|e| ApiError::Unexpected(e.into()))?;
    // Personal apps, then each team's; `team` names the team that owns the app.
    let mut listed: Vec<_> = apps
        .personal
        .iter()
        .map(|s| json!({"name": s.app.name, "client_id": s.app.client_id, "team": null}))
        .collect();
    for (team, _, team_apps) in &apps.teams {
        listed.extend(
            team_apps.iter().map(
                |s| json!({"name": s.app.name, "client_id": s.app.client_id, "team": team.name}),
            ),
        );
    }
    let apps = listed;
    Ok(no_store(json!({ "apps": apps })))
}
