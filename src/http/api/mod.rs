//! The JSON API under `/api/v1`: bearer tokens (RFC 6750), either a person's API token
//! (`ktp_...`) or an OAuth access token, and errors as problem details (RFC 9457).
//!
//! - `mod.rs`: authentication, errors, `/me` and `/apps`;
//! - `secrets`: listing, generating and revoking an app's secrets;
//! - `openapi`: the OpenAPI document, generated from the handlers' annotations.

pub mod keys;
pub mod openapi;
pub mod secrets;

use crate::db::tokens::TokenGrant;
use crate::domain::{ApiScope, Scope, Scopes};
use crate::http::origin::request_origin;
use crate::infra::hashing;
use crate::service::api_tokens::{self, TokenCaller, TokenCheck};
use crate::service::apps::{self, AppsError};
use crate::service::tokens;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// Every way an API request fails, each answered as a problem document.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing, unknown, revoked or expired: one answer (RFC 6750 §3.1).
    #[error("The bearer token is missing, unknown, revoked or expired.")]
    InvalidToken,
    #[error("This token does not have the {0} scope.")]
    InsufficientScope(&'static str),
    /// An OAuth access token at an endpoint for API tokens.
    #[error("This endpoint needs an API token (ktp_...) with the {0} scope; OAuth access tokens cannot reach secrets.")]
    ApiTokenRequired(&'static str),
    #[error("Your administrator requires two-factor authentication: set it up on the Security page before using API tokens.")]
    TwoFactorRequired,
    /// Another person's app and a missing one look the same.
    #[error("No app or secret with this id is visible to this token.")]
    NotFound,
    /// A team member whose role does not allow the change.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    /// The Idempotency-Key was used before with another request.
    #[error("This Idempotency-Key was already used with a different request.")]
    KeyReused,
    #[error("Too many refused tokens from this address. Try again in {0} seconds.")]
    TooManyRequests(i64),
    /// Another throttle: what it limits, and after how many seconds to retry.
    #[error("{1}")]
    Throttled(i64, String),
    /// The caller already has as many generations in flight as one person may.
    #[error("{0}")]
    TooManyAtOnce(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<AppsError> for ApiError {
    fn from(e: AppsError) -> Self {
        match e {
            AppsError::NotFound => ApiError::NotFound,
            AppsError::Forbidden(message) => ApiError::Forbidden(message.to_owned()),
            AppsError::Unexpected(cause) => ApiError::Unexpected(cause),
        }
    }
}

/// A problem document (RFC 9457). `error` repeats the type's last part, as OAuth clients
/// expect from a bearer-token API.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(example = "urn:keyturn:problem:insufficient_scope")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[schema(example = "insufficient_scope")]
    pub error: &'static str,
}

impl ApiError {
    /// The problem's short name: the `error` member and the end of its `type`.
    fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidToken => "invalid_token",
            ApiError::InsufficientScope(_) | ApiError::ApiTokenRequired(_) => "insufficient_scope",
            ApiError::TwoFactorRequired => "two_factor_required",
            ApiError::NotFound => "not_found",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Conflict(_) => "conflict",
            ApiError::BadRequest(_) => "invalid_request",
            ApiError::KeyReused => "idempotency_key_reused",
            ApiError::TooManyRequests(_) | ApiError::TooManyAtOnce(_) | ApiError::Throttled(..) => {
                "too_many_requests"
            }
            ApiError::Unexpected(_) => "server_error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientScope(_)
            | ApiError::ApiTokenRequired(_)
            | ApiError::TwoFactorRequired
            | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests(_) | ApiError::TooManyAtOnce(_) | ApiError::Throttled(..) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unexpected(cause) if hashing::is_busy(cause) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            ApiError::Unexpected(cause) if hashing::is_busy(cause) => {
                "Keyturn is busy. Please try again in a moment.".to_owned()
            }
            ApiError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "API request failed");
                "Something went wrong on our side. Please try again.".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(status);
        match self {
            ApiError::InvalidToken => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer realm="keyturn", error="invalid_token""#,
                ));
            }
            ApiError::InsufficientScope(needed) | ApiError::ApiTokenRequired(needed) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!(
                        r#"Bearer realm="keyturn", error="insufficient_scope", scope="{needed}""#
                    ),
                ));
            }
            ApiError::TooManyRequests(wait) | ApiError::Throttled(wait, _) => {
                response.insert_header((header::RETRY_AFTER, wait.to_string()));
            }
            ApiError::TooManyAtOnce(_) => {
                response.insert_header((header::RETRY_AFTER, 1));
            }
            ApiError::Unexpected(cause) if hashing::is_busy(cause) => {
                response.insert_header((header::RETRY_AFTER, hashing::BUSY_RETRY_AFTER));
            }
            _ => {}
        }
        problem(response, status, self.code(), detail)
    }
}

/// Renders a problem document with its media type.
pub fn problem(
    mut response: actix_web::HttpResponseBuilder,
    status: StatusCode,
    code: &'static str,
    detail: String,
) -> HttpResponse {
    let body = Problem {
        kind: format!("urn:keyturn:problem:{code}"),
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        error: code,
    };
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/problem+json")
        .body(serde_json::to_string(&body).unwrap_or_default())
}

/// Who is calling.
enum Caller {
    /// A person, through one of their API tokens.
    ApiToken(TokenCaller),
    /// An OAuth access token: a user's (with scopes) or a client's own.
    OAuth(TokenGrant),
}

/// The token in the `Authorization: Bearer` header, checked.
async fn authenticate(req: &HttpRequest, state: &AppState) -> Result<Caller, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::InvalidToken)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::InvalidToken)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ApiError::InvalidToken);
    }
    let now = state.clock().now();
    if token.starts_with("ktp_") {
        let check = api_tokens::authenticate(
            state.pool(),
            state.writer(),
            state.throttles(),
            state.policy(),
            token,
            request_origin(req),
            now,
        )
        .await?;
        return match check {
            TokenCheck::Valid(caller) => Ok(Caller::ApiToken(caller)),
            TokenCheck::Refused => Err(ApiError::InvalidToken),
            TokenCheck::TwoFactorRequired => Err(ApiError::TwoFactorRequired),
            TokenCheck::Throttled(wait) => Err(ApiError::TooManyRequests(wait)),
        };
    }
    let grant = tokens::bearer(
        state.pool(),
        state.token_key(),
        token,
        state.access_token_ttl_seconds(),
        now,
    )
    .await?
    .ok_or(ApiError::InvalidToken)?;
    Ok(Caller::OAuth(grant))
}

/// The person behind an API token that has `scope`. OAuth access tokens never reach secrets.
async fn token_with(
    req: &HttpRequest,
    state: &AppState,
    scope: ApiScope,
) -> Result<TokenCaller, ApiError> {
    match authenticate(req, state).await? {
        Caller::ApiToken(caller) if caller.may(scope) => Ok(caller),
        Caller::ApiToken(_) => Err(ApiError::InsufficientScope(scope.as_str())),
        Caller::OAuth(_) => Err(ApiError::ApiTokenRequired(scope.as_str())),
    }
}

/// For an OAuth user token, the user it acts for; `scope` must have been granted.
fn oauth_user(grant: &TokenGrant, scope: Scope) -> Result<i32, ApiError> {
    let granted = Scopes::parse_stored(&grant.scope).is_some_and(|s| s.contains(scope));
    match grant.user_id {
        Some(user_id) if granted => Ok(user_id),
        _ => Err(ApiError::InsufficientScope(scope.as_str())),
    }
}

fn no_store(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// `GET /api/v1/me`: the user (token with `profile`), or the app (client credentials token).
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user an OAuth token with `profile` acts for, or the app of a client credentials token"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `profile` scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let grant = match authenticate(&req, &state).await? {
        Caller::OAuth(grant) => grant,
        Caller::ApiToken(_) => return Err(ApiError::InsufficientScope(Scope::Profile.as_str())),
    };
    if grant.user_id.is_none() {
        return Ok(no_store(
            StatusCode::OK,
            &json!({
                "client_id": grant.client_id,
                "app_name": grant.app_name,
                "scope": grant.scope,
            }),
        ));
    }
    let user_id = oauth_user(&grant, Scope::Profile)?;
    Ok(no_store(
        StatusCode::OK,
        &json!({
            "sub": user_id.to_string(),
            "email": grant.user_email,
            "client_id": grant.client_id,
            "scope": grant.scope,
        }),
    ))
}

/// One app in `GET /api/v1/apps`.
#[derive(Serialize, ToSchema)]
pub struct AppItem {
    pub name: String,
    pub client_id: String,
    /// The team that owns the app; `null` for a personal app.
    pub team: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AppList {
    pub apps: Vec<AppItem>,
}

/// `GET /api/v1/apps`: the apps the user may see, their own and their teams'.
#[utoipa::path(
    get,
    path = "/api/v1/apps",
    tag = "apps",
    security(("bearer" = ["apps:read"])),
    responses(
        (status = 200, description = "The caller's apps: personal ones, then each team's", body = AppList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `apps:read`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many refused tokens from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn my_apps(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let user_id = match authenticate(&req, &state).await? {
        Caller::ApiToken(caller) if caller.may(ApiScope::AppsRead) => caller.user_id,
        Caller::ApiToken(_) => {
            return Err(ApiError::InsufficientScope(ApiScope::AppsRead.as_str()))
        }
        Caller::OAuth(grant) => oauth_user(&grant, Scope::AppsRead)?,
    };
    let mine = apps::my_apps(state.pool(), user_id).await?;
    let mut listed: Vec<AppItem> = mine
        .personal
        .iter()
        .map(|s| AppItem {
            name: s.app.name.clone(),
            client_id: s.app.client_id.clone(),
            team: None,
        })
        .collect();
    for (team, _, team_apps) in &mine.teams {
        listed.extend(team_apps.iter().map(|s| AppItem {
            name: s.app.name.clone(),
            client_id: s.app.client_id.clone(),
            team: Some(team.name.clone()),
        }));
    }
    Ok(no_store(StatusCode::OK, &AppList { apps: listed }))
}
