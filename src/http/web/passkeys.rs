//! Passkeys: adding and removing them on the Security page, and logging in with one, instead
//! of the password or as the second step. Each ceremony is two requests: `.../options` answers
//! JSON for `navigator.credentials` (static/app.js), and the form then posts the browser's
//! answer like any other form.

use super::accounts::safe_next;
use super::security::{may_change_factors, require_recent_authentication, show_recovery_codes};
use super::see_other;
use crate::domain::PasskeyName;
use crate::http::client_ip;
use crate::http::csrf::NoFields;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::session::PendingLogin;
use crate::http::{request_origin, CsrfForm, CurrentUser, TypedSession};
use crate::service::accounts::{record_sign_in, AccountError};
use crate::service::passkeys::{self, Ceremony, PasskeyError};
use crate::service::sessions;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

impl From<PasskeyError> for AppError {
    fn from(e: PasskeyError) -> Self {
        match e {
            PasskeyError::Unexpected(cause) => AppError::Unexpected(cause),
            PasskeyError::NotFound => AppError::NotFound,
            PasskeyError::Unavailable => AppError::Conflict(e.to_string()),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

/// The options of a ceremony, for the browser.
#[derive(Serialize)]
struct Options<T: Serialize> {
    handle: String,
    options: T,
}

fn json_options<T: Serialize>(handle: String, options: T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Options { handle, options })
}

/// `POST /account/security/passkeys/options`.
pub async fn registration_options(
    CurrentUser(user): CurrentUser,
    state: web::Data<AppState>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    may_change_factors(&state, &user, "/account/security")?;
    let (handle, options) =
        passkeys::start_registration(state.passkeys(), state.pool(), &user, state.clock().now())
            .await?;
    Ok(json_options(handle, options))
}

#[derive(Deserialize)]
pub struct AnswerFields {
    #[serde(default)]
    handle: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    name: String,
    next: Option<String>,
}

/// `POST /account/security/passkeys`: the browser's answer, and the passkey's name.
pub async fn add(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<AnswerFields>,
) -> Result<HttpResponse, AppError> {
    may_change_factors(&state, &user, "/account/security")?;
    let name = PasskeyName::parse(&fields.name).map_err(|m| AppError::BadRequest(m.into()))?;
    let codes = passkeys::finish_registration(
        state.passkeys(),
        state.pool(),
        &user,
        (&fields.handle, &fields.credential),
        name.clone(),
        client_ip(&req),
        state.clock().now(),
    )
    .await?;
    if let Some(codes) = codes {
        // The first second factor: two-factor authentication is on, with recovery codes.
        return show_recovery_codes(&session, codes);
    }
    session.set_flash(Flash::success(format!(
        "Passkey {} added. You can log in with it, without your password.",
        name.as_str()
    )))?;
    Ok(see_other("/account/security"))
}

/// `POST /account/security/passkeys/{id}/remove`.
pub async fn remove(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id: i32 = path.into_inner().parse().map_err(|_| AppError::NotFound)?;
    require_recent_authentication(&state, &user, "/account/security".into())?;
    let last = passkeys::remove(
        state.pool(),
        &user,
        id,
        client_ip(&req),
        state.clock().now(),
    )
    .await?;
    session.set_flash(Flash::success(if last {
        "Passkey removed. It was your last second factor: two-factor authentication is off."
    } else {
        "Passkey removed."
    }))?;
    Ok(see_other("/account/security"))
}

#[derive(Deserialize)]
pub struct EmailFields {
    #[serde(default)]
    email: String,
}

/// `POST /login/passkey/options`: a log-in without a password, for the email typed. Counted
/// per address, whatever comes of it: each call stores a challenge.
pub async fn sign_in_options(
    req: HttpRequest,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<EmailFields>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let origin = request_origin(&req);
    let _counted = state
        .throttles()
        .passkey_address
        .reserve(origin.address_key(), now)
        .await
        .map_err(|e| AppError::TooManyRequests(AccountError::from(e).to_string()))?;
    let (handle, options) =
        passkeys::start_sign_in(state.passkeys(), state.pool(), &fields.email, now).await?;
    Ok(json_options(handle, options))
}

/// `POST /login/passkey`: the browser's answer; starts the session.
pub async fn sign_in(
    req: HttpRequest,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<AnswerFields>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let next = safe_next(fields.next);
    let account = passkeys::finish_authentication(
        state.passkeys(),
        state.pool(),
        (&fields.handle, &fields.credential),
        Ceremony::SignIn,
        now,
    )
    .await
    .map_err(refused)?;
    start_session(&req, &session, &state, account, "Signed in with a passkey").await?;
    Ok(see_other(&next))
}

/// A refused passkey: 401 on the page, like a wrong password.
fn refused(e: PasskeyError) -> AppError {
    match e {
        PasskeyError::Refused => AppError::Unauthorized(e.to_string()),
        other => other.into(),
    }
}

async fn start_session(
    req: &HttpRequest,
    session: &TypedSession,
    state: &AppState,
    account: crate::domain::Account,
    detail: &'static str,
) -> Result<(), AppError> {
    let origin = request_origin(req);
    let now = state.clock().now();
    record_sign_in(state.pool(), &account, origin.ip.clone(), detail, now).await?;
    let token = sessions::start(state.pool(), account.id, origin, now).await?;
    session.log_in(&account, &token)
}

/// `POST /login/two-factor/passkey/options`: the second step with a passkey.
pub async fn second_factor_options(
    PendingLogin { user_id, .. }: PendingLogin,
    state: web::Data<AppState>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let (handle, options) =
        passkeys::start_second_factor(state.passkeys(), state.pool(), user_id, now).await?;
    Ok(json_options(handle, options))
}

/// `POST /login/two-factor/passkey`: completes the log-in the password started.
pub async fn second_factor(
    req: HttpRequest,
    PendingLogin { user_id, next }: PendingLogin,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<AnswerFields>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let account = passkeys::finish_authentication(
        state.passkeys(),
        state.pool(),
        (&fields.handle, &fields.credential),
        Ceremony::SecondFactor,
        now,
    )
    .await
    .map_err(refused)?;
    if account.id != user_id {
        return Err(refused(PasskeyError::Refused));
    }
    start_session(
        &req,
        &session,
        &state,
        account,
        "Signed in with a passkey after the password",
    )
    .await?;
    Ok(see_other(&next))
}
