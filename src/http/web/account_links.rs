//! The pages of mailed links: "Verify email address", "Forgot password?" and the new password
//! a reset link leads to. Opening a link changes nothing (mail scanners open links too); the
//! button on the page does.

use super::{html, see_other, Page};
use crate::domain::Password;
use crate::http::csrf::NoFields;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::{client_ip, request_origin};
use crate::http::{CsrfForm, CurrentUser, TypedSession};
use crate::service::account_links;
use crate::service::accounts::AccountError;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

/// What an account whose address is not proven yet is told when it tries to create an app or
/// a secret.
pub const VERIFY_EMAIL_FIRST: &str = "Verify your email address first: open the link we mailed you, or use Resend verification email on the Security page.";

/// What a link that does not work (any more) says, whatever the reason.
const LINK_GONE: &str =
    "This link does not work: it was used already, it has expired, or a newer one was sent.";

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "verify_email.html")]
struct VerifyPage {
    page: Page,
    token: String,
}

/// `GET /verify-email?token=...`: a button that proves the address.
pub async fn verify_form(
    session: TypedSession,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let page = VerifyPage {
        page: Page::new(&session)?,
        token: query.into_inner().token,
    };
    private(html(StatusCode::OK, &page)?)
}

/// The pages that carry a link's token: never cached, never sent on as a referrer.
fn private(mut response: HttpResponse) -> Result<HttpResponse, AppError> {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct TokenFields {
    #[serde(default)]
    token: String,
}

/// `POST /verify-email`.
pub async fn verify(
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<TokenFields>,
) -> Result<HttpResponse, AppError> {
    let verified =
        account_links::verify_email(state.pool(), fields.token, state.clock().now()).await?;
    if !verified {
        return Err(AppError::BadRequest(LINK_GONE.into()));
    }
    session.set_flash(Flash::success("Your email address is verified."))?;
    Ok(see_other(if session.user_id().is_some() {
        "/apps"
    } else {
        "/login"
    }))
}

/// `POST /account/verify-email/resend`: "Resend verification email".
pub async fn resend(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let sent = account_links::resend_verification(
        state.pool(),
        state.throttles(),
        state.notifier(),
        &user,
        state.clock().now(),
    )
    .await;
    match sent {
        Ok(()) if user.email_verified => {
            session.set_flash(Flash::success("Your email address is verified already."))?
        }
        Ok(()) => session.set_flash(Flash::success(format!(
            "We have mailed a new verification link to {}. Earlier links no longer work.",
            user.email
        )))?,
        Err(e @ AccountError::TooManyMails(_)) => {
            return Err(AppError::TooManyRequests(e.to_string()))
        }
        Err(e) => return Err(e.into()),
    }
    Ok(see_other("/account/security"))
}

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage {
    page: Page,
    sent: bool,
    email: String,
    error: Option<String>,
}

/// `GET /forgot-password`.
pub async fn forgot_form(session: TypedSession) -> Result<HttpResponse, AppError> {
    let page = ForgotPage {
        page: Page::new(&session)?,
        sent: false,
        email: String::new(),
        error: None,
    };
    html(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct ForgotFields {
    #[serde(default)]
    email: String,
}

/// `POST /forgot-password`: the same answer whether or not an account has the address.
pub async fn forgot(
    req: HttpRequest,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<ForgotFields>,
) -> Result<HttpResponse, AppError> {
    let asked = account_links::forgot_password(
        state.pool(),
        state.throttles(),
        state.notifier(),
        &fields.email,
        &request_origin(&req),
        state.clock().now(),
    )
    .await;
    let (status, sent, error, retry_after) = match asked {
        Ok(()) => (StatusCode::OK, true, None, None),
        Err(e @ AccountError::TooManyMails(wait)) => (
            StatusCode::TOO_MANY_REQUESTS,
            false,
            Some(e.to_string()),
            Some(wait),
        ),
        Err(e) => return Err(e.into()),
    };
    let page = ForgotPage {
        page: Page::new(&session)?,
        sent,
        email: fields.email,
        error,
    };
    let mut response = html(status, &page)?;
    if let Some(wait) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
    }
    Ok(response)
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    page: Page,
    token: String,
    error: Option<String>,
}

/// `GET /reset-password?token=...`: the new-password form, if the link still works.
pub async fn reset_form(
    session: TypedSession,
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token;
    if !account_links::reset_link_works(state.pool(), token.clone(), state.clock().now()).await? {
        return Err(AppError::BadRequest(LINK_GONE.into()));
    }
    let page = ResetPage {
        page: Page::new(&session)?,
        token,
        error: None,
    };
    private(html(StatusCode::OK, &page)?)
}

#[derive(Deserialize)]
pub struct ResetFields {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
}

/// `POST /reset-password`: sets the new password and ends every session of the account,
/// this browser's too: log in with the new password.
pub async fn reset(
    req: HttpRequest,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<ResetFields>,
) -> Result<HttpResponse, AppError> {
    let new = match Password::parse(fields.new_password.into()) {
        Ok(new) => new,
        Err(message) => {
            let page = ResetPage {
                page: Page::new(&session)?,
                token: fields.token,
                error: Some(message.to_owned()),
            };
            return private(html(StatusCode::BAD_REQUEST, &page)?);
        }
    };
    let reset = account_links::reset_password(
        state.pool(),
        state.bcrypt(),
        fields.token,
        new,
        client_ip(&req),
        state.clock().now(),
    )
    .await?;
    if !reset {
        return Err(AppError::BadRequest(LINK_GONE.into()));
    }
    session.start_over_with(Flash::success(
        "Your password is changed and every session of your account has ended. Log in with the new password.",
    ))?;
    Ok(see_other("/login"))
}
