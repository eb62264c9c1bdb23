//! Errors of the browser pages. Each variant carries the message a user sees; the cause of an
//! unexpected error is logged and never shown. Responses are turned into the site's error page
//! by [`crate::http::web::error_page`], which knows the session and so can keep the navigation.

use crate::infra::hashing;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Also used for other people's apps, so nobody can probe which ids exist.
    #[error("Page not found.")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    PayloadTooLarge(&'static str),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("You need to log in to see this page.")]
    LoginRequired { next: String },
    /// A sensitive action after the session's 15 minutes: confirm access, then go to `next`.
    #[error("Confirm your access to continue.")]
    ReauthenticationRequired { next: String },
    /// The admin requires two-factor authentication, and the account has none yet.
    #[error("Set up two-factor authentication to continue.")]
    TwoFactorRequired,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The user-facing message of an error response, picked up when the error page is rendered.
#[derive(Debug, Clone)]
pub struct UserMessage(pub String);

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::LoginRequired { .. }
            | AppError::ReauthenticationRequired { .. }
            | AppError::TwoFactorRequired => StatusCode::SEE_OTHER,
            AppError::Unexpected(cause) if hashing::is_busy(cause) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            AppError::LoginRequired { next } => {
                return see_other(format!("/login?next={}", urlencode(next)));
            }
            AppError::ReauthenticationRequired { next } => {
                return see_other(format!("/account/confirm-access?next={}", urlencode(next)));
            }
            AppError::TwoFactorRequired => return see_other("/account/security".to_owned()),
            AppError::Unexpected(cause) if hashing::is_busy(cause) => {
                let message = "Keyturn is busy. Please try again in a moment.";
                let mut response = HttpResponse::ServiceUnavailable()
                    .insert_header((header::RETRY_AFTER, hashing::BUSY_RETRY_AFTER))
                    .content_type("text/plain; charset=utf-8")
                    .body(message);
                response
                    .extensions_mut()
                    .insert(UserMessage(message.to_owned()));
                return response;
            }
            AppError::Unexpected(cause) => {
                tracing::error!(error = ?cause, "request failed");
                "Something went wrong on our side. Nothing was changed; please try again."
                    .to_owned()
            }
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(message.clone());
        response.extensions_mut().insert(UserMessage(message));
        response
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Unexpected(anyhow::anyhow!("rendering a template: {e}"))
    }
}

fn see_other(location: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

pub fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
