//! Sign up, log in, log out.

use super::{html, see_other, Page, TimeView};
use crate::domain::{Email, Password};
use crate::http::csrf::NoFields;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::{client_ip, request_origin};
use crate::http::{CsrfForm, CurrentUser, TypedSession};
use crate::service::accounts::{self, AccountError, LoggedIn, LoginAttempt, PasswordChange};
use crate::service::sessions;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

impl From<AccountError> for AppError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Unexpected(cause) => AppError::Unexpected(cause),
            e @ (AccountError::Throttled(_) | AccountError::TooManyMails(_)) => {
                AppError::TooManyRequests(e.to_string())
            }
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

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
    passkeys_offered: bool,
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
            passkeys_offered: false,
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

/// Only a path on Keyturn itself is followed after login, so `next` cannot send anyone
/// elsewhere. Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
/// `/\t/evil.example` would become `//evil.example`: control characters, whitespace and
/// backslashes are refused anywhere, raw or percent-encoded, and the URL the browser would
/// resolve must still be on our origin.
pub(super) fn safe_next(next: Option<String>) -> String {
    match next {
        Some(n) if is_local_path(&n) => n,
        _ => "/apps".to_owned(),
    }
}

fn is_local_path(next: &str) -> bool {
    let forbidden = |text: &str| {
        text.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    };
    let decoded = percent_encoding::percent_decode_str(next).decode_utf8_lossy();
    if !next.starts_with('/')
        || next.starts_with("//")
        || decoded.starts_with("//")
        || forbidden(next)
        || forbidden(&decoded)
    {
        return false;
    }
    let Ok(base) = url::Url::parse("http://keyturn.invalid/") else {
        return false;
    };
    base.join(next)
        .is_ok_and(|resolved| resolved.origin() == base.origin())
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
    req: HttpRequest,
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
        state.pool(),
        state.bcrypt(),
        state.throttles(),
        state.notifier(),
        (email, password),
        request_origin(&req),
        state.clock().now(),
    )
    .await
    {
        Ok(signed_in) => {
            session.log_in(&signed_in.account, &signed_in.session)?;
            Ok(see_other(&next))
        }
        Err(e @ (AccountError::EmailTaken | AccountError::Throttled(_))) => {
            let mut form = AccountForm::new(Page::new(&session)?, true, next);
            form.email = typed_email;
            let status = if matches!(e, AccountError::EmailTaken) {
                form.email_error = Some(e.to_string());
                StatusCode::CONFLICT
            } else {
                form.form_error = Some(e.to_string());
                StatusCode::TOO_MANY_REQUESTS
            };
            with_retry_after(html(status, &form)?, &e)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn login_form(
    session: TypedSession,
    state: web::Data<AppState>,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let mut form = AccountForm::new(
        Page::new(&session)?,
        false,
        safe_next(query.into_inner().next),
    );
    form.passkeys_offered = state.passkeys().available();
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
        origin: request_origin(&req),
    };
    let now = state.clock().now();
    match accounts::log_in(
        state.pool(),
        state.bcrypt(),
        state.throttles(),
        attempt,
        now,
    )
    .await
    {
        Ok(LoggedIn::SignedIn(signed_in)) => {
            session.log_in(&signed_in.account, &signed_in.session)?;
            Ok(see_other(&next))
        }
        Ok(LoggedIn::SecondFactorNeeded {
            user_id,
            password_stamp,
        }) => {
            session.begin_second_factor((user_id, &password_stamp), now, &next)?;
            Ok(see_other("/login/two-factor"))
        }
        Err(e @ (AccountError::InvalidCredentials | AccountError::Throttled(_))) => {
            let mut form = AccountForm::new(Page::new(&session)?, false, next);
            form.passkeys_offered = state.passkeys().available();
            form.email = fields.email;
            form.form_error = Some(e.to_string());
            let status = if matches!(e, AccountError::Throttled(_)) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            with_retry_after(html(status, &form)?, &e)
        }
        Err(e) => Err(e.into()),
    }
}

/// A throttled answer says when to come back.
fn with_retry_after(
    mut response: HttpResponse,
    error: &AccountError,
) -> Result<HttpResponse, AppError> {
    if let AccountError::Throttled(wait) = error {
        response.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(*wait),
        );
    }
    Ok(response)
}

/// Ends the session on the server, so a copy of the cookie is worth nothing afterwards.
pub async fn logout(
    session: TypedSession,
    state: web::Data<AppState>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    if let Some(token) = session.session_token() {
        sessions::end(state.pool(), token).await?;
    }
    session.log_out();
    Ok(see_other("/login"))
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
    let now = state.clock().now();
    let ip = client_ip(&req);
    match accounts::change_password(
        state.pool(),
        state.bcrypt(),
        state.throttles(),
        user,
        PasswordChange {
            current: fields.current_password,
            new,
            ip,
        },
        now,
    )
    .await
    {
        Ok(()) => {
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
        Err(e @ AccountError::Throttled(_)) => with_retry_after(
            reshow(Some(e.to_string()), None, StatusCode::TOO_MANY_REQUESTS)?,
            &e,
        ),
        Err(e) => Err(e.into()),
    }
}

struct SessionView {
    id: i32,
    current: bool,
    started: TimeView,
    last_seen: TimeView,
    address: String,
    browser: String,
}

#[derive(Template)]
#[template(path = "account_sessions.html")]
struct SessionsPage {
    page: Page,
    sessions: Vec<SessionView>,
}

/// `GET /account/sessions`: every active session of the account, this one first.
pub async fn sessions(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let mut rows = sessions::list(state.pool(), user.id).await?;
    rows.sort_by_key(|row| Some(row.id) != user.session_id);
    let sessions = rows
        .into_iter()
        .map(|row| SessionView {
            id: row.id,
            current: Some(row.id) == user.session_id,
            started: TimeView::new(row.created_at, now),
            last_seen: TimeView::new(row.last_seen_at, now),
            address: row.ip.unwrap_or_else(|| "unknown".into()),
            browser: row.user_agent.unwrap_or_else(|| "unknown".into()),
        })
        .collect();
    let page = SessionsPage {
        page: Page::new(&session)?,
        sessions,
    };
    html(StatusCode::OK, &page)
}

/// `POST /account/sessions/{id}/end`: ends one session of the account (this one logs out).
pub async fn end_session(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id: i32 = path.into_inner().parse().map_err(|_| AppError::NotFound)?;
    if !sessions::end_one(state.pool(), user.id, id).await? {
        return Err(AppError::NotFound);
    }
    if Some(id) == user.session_id {
        session.log_out();
        return Ok(see_other("/login"));
    }
    session.set_flash(Flash::success("The session has ended."))?;
    Ok(see_other("/account/sessions"))
}

/// `POST /account/sessions/end-others`: ends every session of the account but this one.
pub async fn end_other_sessions(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let ended = sessions::end_all(state.pool(), user.id, user.session_id).await?;
    let message = match ended {
        0 => "There were no other sessions.".to_owned(),
        1 => "1 other session has ended.".to_owned(),
        n => format!("{n} other sessions have ended."),
    };
    session.set_flash(Flash::success(message))?;
    Ok(see_other("/account/sessions"))
}
