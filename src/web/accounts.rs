//! Sign up, log in, log out.

use super::{client_ip, html, see_other, Page};
use crate::auth::accounts::{self, AccountError, LoginAttempt};
use crate::auth::csrf::NoFields;
use crate::auth::session::Flash;
use crate::auth::{CsrfForm, CurrentUser, TypedSession};
use crate::domain::{Email, Password};
use crate::error::AppError;
use crate::startup::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account_form.html")]
pub struct AccountForm {
    page: Page,
    signing_up: bool,
    email: String,
    next: String,
    email_error: Option<String>,
    password_error: Option<String>,
    form_error: Option<String>,
}

impl AccountForm {
    fn new(page: Page, signing_up: bool, next: String) -> Self {
        AccountForm {
            page,
            signing_up,
            email: String::new(),
            next,
            email_error: None,
            password_error: None,
            form_error: None,
        }
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct AccountFields {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// Only same-site paths are followed after login, so `next` cannot send anyone elsewhere.
fn safe_next(next: Option<String>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/apps".to_owned(),
    }
}

pub async fn signup_form(
    session: TypedSession,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let form = AccountForm::new(
        Page::new(&session)?,
        true,
        safe_next(query.into_inner().next),
    );
    html(StatusCode::OK, &form)
}

pub async fn signup(
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<AccountFields>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(fields.next);
    let email = Email::parse(&fields.email);
    let password = Password::parse(fields.password.into());
    let (email, password) = match (email, password) {
        (Ok(email), Ok(password)) => (email, password),
        (email, password) => {
            let mut form = AccountForm::new(Page::new(&session)?, true, next);
            form.email = fields.email;
            form.email_error = email.err().map(str::to_owned);
            form.password_error = password.err().map(str::to_owned);
            return html(StatusCode::BAD_REQUEST, &form);
        }
    };
    let typed_email = email.as_str().to_owned();
    match accounts::sign_up(
        &state.pool,
        state.bcrypt_cost,
        email,
        password,
        state.clock.now(),
    )
    .await
    {
        Ok(account) => {
            session.log_in(&account, state.clock.now())?;
            Ok(see_other(&next))
        }
        Err(AccountError::EmailTaken) => {
            let mut form = AccountForm::new(Page::new(&session)?, true, next);
            form.email = typed_email;
            form.email_error = Some(AccountError::EmailTaken.to_string());
            html(StatusCode::CONFLICT, &form)
        }
        Err(e) => Err(AppError::Unexpected(e.into())),
    }
}

pub async fn login_form(
    session: TypedSession,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let form = AccountForm::new(
        Page::new(&session)?,
        false,
        safe_next(query.into_inner().next),
    );
    html(StatusCode::OK, &form)
}

pub async fn login(
    req: HttpRequest,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<AccountFields>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(fields.next);
    let attempt = LoginAttempt {
        email: fields.email.clone(),
        password: fields.password,
        ip: client_ip(&req),
    };
    let now = state.clock.now();
    match accounts::log_in(
        &state.pool,
        state.bcrypt_cost,
        &state.throttles,
        attempt,
        now,
    )
    .await
    {
        Ok(account) => {
            session.log_in(&account, now)?;
            Ok(see_other(&next))
        }
        Err(e @ (AccountError::InvalidCredentials | AccountError::Throttled(_))) => {
            let mut form = AccountForm::new(Page::new(&session)?, false, next);
            form.email = fields.email;
            form.form_error = Some(e.to_string());
            let mut response = html(StatusCode::UNAUTHORIZED, &form)?;
            if let AccountError::Throttled(wait) = e {
                *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                response.headers_mut().insert(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from(wait),
                );
            }
            Ok(response)
        }
        Err(e) => Err(AppError::Unexpected(e.into())),
    }
}

pub async fn logout(session: TypedSession, _: CsrfForm<NoFields>) -> HttpResponse {
    session.log_out();
    see_other("/login")
}

#[derive(Template)]
#[template(path = "account_password.html")]
pub struct ChangePasswordForm {
    page: Page,
    current_error: Option<String>,
    new_error: Option<String>,
}

pub async fn password_form(
    _: CurrentUser,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    let form = ChangePasswordForm {
        page: Page::new(&session)?,
        current_error: None,
        new_error: None,
    };
    html(StatusCode::OK, &form)
}

#[derive(Deserialize)]
pub struct PasswordFields {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// Changes the password; every other session of the account ends, this one stays.
pub async fn change_password(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<PasswordFields>,
) -> Result<HttpResponse, AppError> {
    let reshow = |current_error: Option<String>,
                  new_error: Option<String>,
                  status|
     -> Result<HttpResponse, AppError> {
        let form = ChangePasswordForm {
            page: Page::new(&session)?,
            current_error,
            new_error,
        };
        html(status, &form)
    };
    let new = match Password::parse(fields.new_password.into()) {
        Ok(new) => new,
        Err(message) => return reshow(None, Some(message.to_owned()), StatusCode::BAD_REQUEST),
    };
    let now = state.clock.now();
    let ip = client_ip(&req);
    match accounts::change_password(
        &state.pool,
        state.bcrypt_cost,
        user,
        fields.current_password,
        new,
        ip,
        now,
    )
    .await
    {
        Ok(account) => {
            session.set_epoch(account.session_epoch)?;
            session.set_flash(Flash::success(
                "Password changed. Every other session of your account has ended.",
            ))?;
            Ok(see_other("/apps"))
        }
        Err(AccountError::InvalidCredentials) => reshow(
            Some("The current password is not correct.".into()),
            None,
            StatusCode::UNAUTHORIZED,
        ),
        Err(e) => Err(AppError::Unexpected(e.into())),
    }
}
