//! Sign up, log in, log out.

use super::{html, see_other, Page};
use crate::auth::accounts::{self, AccountError};
use crate::auth::csrf::NoFields;
use crate::auth::{CsrfForm, TypedSession};
use crate::domain::{Email, Password};
use crate::error::AppError;
use crate::startup::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
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
            session.log_in(&account)?;
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
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<AccountFields>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(fields.next);
    match accounts::log_in(
        &state.pool,
        state.bcrypt_cost,
        &fields.email,
        fields.password,
    )
    .await
    {
        Ok(account) => {
            session.log_in(&account)?;
            Ok(see_other(&next))
        }
        Err(AccountError::InvalidCredentials) => {
            let mut form = AccountForm::new(Page::new(&session)?, false, next);
            form.email = fields.email;
            form.form_error = Some(AccountError::InvalidCredentials.to_string());
            html(StatusCode::UNAUTHORIZED, &form)
        }
        Err(e) => Err(AppError::Unexpected(e.into())),
    }
}

pub async fn logout(session: TypedSession, _: CsrfForm<NoFields>) -> HttpResponse {
    session.log_out();
    see_other("/login")
}
