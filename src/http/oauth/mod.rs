//! The machine side: OAuth 2.0 endpoints that apps call with their client id and secret, and the
//! authorization endpoint people pass through. Errors at the token, revocation and
//! introspection endpoints use the RFC 6749 §5.2 JSON format and never render HTML.

pub mod authorize;
pub mod client_auth;
pub mod introspect;
pub mod metadata;
pub mod openid;
pub mod revoke;
pub mod token;

use crate::infra::hashing;
use crate::service::tokens::GrantError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// RFC 6749 §5.2 error responses.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    /// One answer for unknown client, wrong, revoked, empty or missing secret, malformed Basic.
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    #[error("invalid_scope")]
    InvalidScope,
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// Too many failed client authentications; retry after this many seconds.
    #[error("too many failures")]
    TooManyFailures(i64),
    #[error(transparent)]
    ServerError(#[from] anyhow::Error),
}

impl From<GrantError> for OAuthError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::InvalidGrant(why) => OAuthError::InvalidGrant(why),
            GrantError::InvalidScope => OAuthError::InvalidScope,
            GrantError::Unexpected(cause) => OAuthError::ServerError(cause),
        }
    }
}

impl OAuthError {
    /// The `error` code the client receives (RFC 6749 §5.2).
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::TooManyFailures(_) => "temporarily_unavailable",
            OAuthError::ServerError(cause) if hashing::is_busy(cause) => "temporarily_unavailable",
            OAuthError::ServerError(_) => "server_error",
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            OAuthError::InvalidClient => StatusCode::UNAUTHORIZED,
            OAuthError::TooManyFailures(_) => StatusCode::TOO_MANY_REQUESTS,
            OAuthError::ServerError(cause) if hashing::is_busy(cause) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            OAuthError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            OAuthError::InvalidRequest(description) => {
                json!({"error": "invalid_request", "error_description": description})
            }
            OAuthError::InvalidClient => json!({"error": "invalid_client"}),
            OAuthError::InvalidGrant(description) => {
                json!({"error": "invalid_grant", "error_description": description})
            }
            OAuthError::InvalidScope => json!({
                "error": "invalid_scope",
                "error_description": "Unknown scope, or more than was granted. Client credentials tokens take no scope."
            }),
            OAuthError::UnsupportedGrantType => json!({
                "error": "unsupported_grant_type",
                "error_description": "Supported grant types: authorization_code, refresh_token, client_credentials."
            }),
            OAuthError::TooManyFailures(wait) => json!({
                "error": "temporarily_unavailable",
                "error_description": format!("Too many failed client authentications. Retry after {wait} seconds.")
            }),
            OAuthError::ServerError(cause) if hashing::is_busy(cause) => json!({
                "error": "temporarily_unavailable",
                "error_description": "The server is busy. Retry shortly."
            }),
            OAuthError::ServerError(cause) => {
                tracing::error!(error = ?cause, "OAuth request failed");
                json!({"error": "server_error"})
            }
        };
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        if let OAuthError::TooManyFailures(wait) = self {
            response.insert_header((header::RETRY_AFTER, wait.to_string()));
        }
        if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, hashing::BUSY_RETRY_AFTER));
        }
        if matches!(self, OAuthError::InvalidClient) {
            response.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="keyturn""#));
        }
        response.json(body)
    }
}

/// A JSON answer no cache may keep (it may hold tokens).
pub fn no_store_json(body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}
