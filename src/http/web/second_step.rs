//! The second step of log-in (`/login/two-factor`): an authenticator code or a recovery code
//! after a right password; and how a refused password or code is shown on any form.

use super::{html, see_other, Page};
use crate::domain::SecondFactorCode;
use crate::http::error::AppError;
use crate::http::request_origin;
use crate::http::session::PendingLogin;
use crate::http::{CsrfForm, TypedSession};
use crate::service::accounts::AccountError;
use crate::service::two_factor;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login_two_factor.html")]
struct SecondStep {
    page: Page,
    /// Offers "Use a passkey": the account has one.
    passkey: bool,
    error: Option<String>,
}

impl SecondStep {
    async fn new(
        state: &AppState,
        session: &TypedSession,
        user_id: i32,
        error: Option<String>,
    ) -> Result<Self, AppError> {
        let passkey = state.passkeys().available()
            && !crate::service::passkeys::list(state.pool(), user_id)
                .await?
                .is_empty();
        Ok(SecondStep {
            page: Page::new(session)?,
            passkey,
            error,
        })
    }
}

/// `GET /login/two-factor`: the second step of log-in, after a right password.
pub async fn second_step_form(
    PendingLogin { user_id, .. }: PendingLogin,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let form = SecondStep::new(&state, &session, user_id, None).await?;
    html(StatusCode::OK, &form)
}

#[derive(Deserialize)]
pub struct SecondStepFields {
    #[serde(default)]
    code: String,
}

/// `POST /login/two-factor`: an authenticator code or a recovery code completes the log-in.
pub async fn second_step(
    req: HttpRequest,
    PendingLogin { user_id, next }: PendingLogin,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<SecondStepFields>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let code = match SecondFactorCode::parse(&fields.code) {
        Ok(code) => code,
        Err(message) => {
            let form = SecondStep::new(&state, &session, user_id, Some(message.into())).await?;
            return html(StatusCode::BAD_REQUEST, &form);
        }
    };
    let signed_in = two_factor::log_in_with_code(
        state.pool(),
        state.authenticator_keys(),
        state.throttles(),
        user_id,
        code,
        request_origin(&req),
        now,
    )
    .await;
    match signed_in {
        Ok(signed_in) => {
            session.log_in(&signed_in.account, &signed_in.session)?;
            Ok(see_other(&next))
        }
        Err(e) => {
            let refusal = Refusal::of(e)?;
            let error = Some(refusal.message.clone());
            let form = SecondStep::new(&state, &session, user_id, error).await?;
            Ok(refusal.finish(html(refusal.status, &form)?))
        }
    }
}

/// A refused password or code as the form shows it: status, message, and the wait of a
/// throttled one. Anything else is the page's error.
pub(super) struct Refusal {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<i64>,
}

impl Refusal {
    pub(super) fn of(e: AccountError) -> Result<Refusal, AppError> {
        let (status, retry_after) = match &e {
            AccountError::InvalidCode | AccountError::InvalidCredentials => {
                (StatusCode::UNAUTHORIZED, None)
            }
            AccountError::Throttled(wait) => (StatusCode::TOO_MANY_REQUESTS, Some(*wait)),
            _ => return Err(e.into()),
        };
        let message = match e {
            AccountError::InvalidCredentials => "The password is not correct.".to_owned(),
            other => other.to_string(),
        };
        Ok(Refusal {
            status,
            message,
            retry_after,
        })
    }

    /// Adds `Retry-After` to the re-shown form of a throttled attempt.
    pub(super) fn finish(&self, mut response: HttpResponse) -> HttpResponse {
        if let Some(wait) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
        }
        response
    }
}
