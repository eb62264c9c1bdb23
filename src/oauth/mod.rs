//! The machine side: OAuth 2.0 endpoints that apps call with their client id and secret.
//! Errors use the RFC 6749 §5.2 JSON format and never render HTML.

pub mod client_auth;
pub mod token;

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
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    #[error(transparent)]
    ServerError(#[from] anyhow::Error),
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            OAuthError::InvalidRequest(_) | OAuthError::UnsupportedGrantType => {
                StatusCode::BAD_REQUEST
            }
            OAuthError::InvalidClient => StatusCode::UNAUTHORIZED,
            OAuthError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            OAuthError::InvalidRequest(description) => {
                json!({"error": "invalid_request", "error_description": description})
            }
            OAuthError::InvalidClient => json!({"error": "invalid_client"}),
            OAuthError::UnsupportedGrantType => json!({
                "error": "unsupported_grant_type",
                "error_description": "Supported grant types: client_credentials."
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
        if matches!(self, OAuthError::InvalidClient) {
            response.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="keyturn""#));
        }
        response.json(body)
    }
}
