//! `/account/security`: two-factor authentication (authenticator app, recovery codes) and
//! "Confirm access", the re-authentication sensitive actions ask for.

use super::account_links::VERIFY_EMAIL_FIRST;
use super::accounts::safe_next;
use super::second_step::Refusal;
use super::{html, see_other, Page, TimeView};
use crate::domain::{Account, SecondFactorCode, TotpCode};
use crate::http::client_ip;
use crate::http::csrf::NoFields;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::{CsrfForm, CurrentUser, TypedSession};
use crate::service::two_factor::{self, Proof, TurnOff};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

/// Refuses a sensitive action when the session last proved itself more than 15 minutes ago:
/// the user confirms access and comes back to `return_to` (a page that shows what they chose).
pub fn require_recent_authentication(
    state: &AppState,
    user: &Account,
    return_to: String,
) -> Result<(), AppError> {
    if two_factor::needs_reauthentication(user, state.clock().now()) {
        return Err(AppError::ReauthenticationRequired { next: return_to });
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "account_security.html")]
struct SecurityPage {
    page: Page,
    email: String,
    email_verified: bool,
    required: bool,
    two_factor_since: Option<TimeView>,
    has_authenticator: bool,
    recovery_codes_left: i64,
    turn_off_error: Option<String>,
    activity: Vec<ActivityView>,
    passkeys_offered: bool,
    passkeys: Vec<PasskeyView>,
}

/// One passkey on the Security page.
struct PasskeyView {
    id: i32,
    name: String,
    added: TimeView,
    last_used: Option<TimeView>,
}

/// One line of the account's security activity.
struct ActivityView {
    at: TimeView,
    detail: String,
    address: String,
}

/// `GET /account/security`.
pub async fn show(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    render(&state, &session, &user, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    session: &TypedSession,
    user: &Account,
    turn_off_error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let now = state.clock().now();
    let overview = two_factor::overview(state.pool(), user.id).await?;
    let required = state.policy().get(state.pool()).await?.require_two_factor;
    let passkeys = crate::service::passkeys::list(state.pool(), user.id)
        .await?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id,
            name: p.name,
            added: TimeView::new(p.created_at, now),
            last_used: p.last_used_at.map(|t| TimeView::new(t, now)),
        })
        .collect();
    let page = SecurityPage {
        page: Page::new(session)?,
        email: user.email.clone(),
        email_verified: user.email_verified,
        required,
        two_factor_since: overview.two_factor_since.map(|at| TimeView::new(at, now)),
        has_authenticator: overview.has_authenticator,
        recovery_codes_left: overview.recovery_codes_left,
        turn_off_error,
        activity: overview
            .activity
            .into_iter()
            .map(|e| ActivityView {
                at: TimeView::new(e.at, now),
                detail: e.detail,
                address: e.ip.unwrap_or_else(|| "unknown address".into()),
            })
            .collect(),
        passkeys_offered: state.passkeys().available(),
        passkeys,
    };
    html(status, &page)
}

#[derive(Template)]
#[template(path = "security_authenticator.html")]
struct AuthenticatorSetup {
    page: Page,
    qr_svg: String,
    setup_key: String,
    error: Option<String>,
}

/// `GET /account/security/authenticator`: the QR code and setup key of a new authenticator.
/// The page holds a key, so no cache keeps it, and it asks for recent authentication: a
/// borrowed session cannot read a key. The seed stays with this browser's session (a reload
/// shows the same key) until it is confirmed.
pub async fn authenticator_form(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    may_change_factors(&state, &user, "/account/security/authenticator")?;
    render_setup(&state, &session, &user, None, StatusCode::OK)
}

/// Second factors are set up only by an account whose address is proven (or the owner of
/// the address could reset the password and find somebody else's passkey still working), and
/// only with recent authentication.
pub(super) fn may_change_factors(
    state: &AppState,
    user: &Account,
    return_to: &str,
) -> Result<(), AppError> {
    if !user.email_verified {
        return Err(AppError::Forbidden(VERIFY_EMAIL_FIRST));
    }
    require_recent_authentication(state, user, return_to.into())
}

fn render_setup(
    state: &AppState,
    session: &TypedSession,
    user: &Account,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let keys = state.authenticator_keys();
    let authenticator = match session.authenticator_seed() {
        Some(seed) => keys.authenticator(&seed, &user.email),
        None => {
            let (seed, authenticator) = two_factor::new_authenticator(keys, user);
            session.set_authenticator_seed(&seed)?;
            authenticator
        }
    };
    let page = AuthenticatorSetup {
        page: Page::new(session)?,
        qr_svg: authenticator.qr_svg(),
        setup_key: authenticator.setup_key(),
        error,
    };
    no_store(html(status, &page)?)
}

fn no_store(mut response: HttpResponse) -> Result<HttpResponse, AppError> {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct CodeFields {
    #[serde(default)]
    code: String,
}

/// `POST /account/security/authenticator`: confirms the new authenticator with a current
/// code. Turning two-factor authentication on shows the recovery codes, once.
pub async fn confirm_authenticator(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<CodeFields>,
) -> Result<HttpResponse, AppError> {
    may_change_factors(&state, &user, "/account/security/authenticator")?;
    let code = match TotpCode::parse(&fields.code) {
        Ok(code) => code,
        Err(message) => {
            let error = Some(message.into());
            return render_setup(&state, &session, &user, error, StatusCode::BAD_REQUEST);
        }
    };
    let Some(seed) = session.authenticator_seed() else {
        // The session that showed the key has ended or moved on: show a new one.
        let error = Some("Scan this new key: the one you scanned has expired.".to_owned());
        return render_setup(&state, &session, &user, error, StatusCode::CONFLICT);
    };
    let confirmed = two_factor::confirm_authenticator(
        state.pool(),
        state.authenticator_keys(),
        state.throttles(),
        &user,
        (seed, code),
        client_ip(&req),
        state.clock().now(),
    )
    .await;
    match confirmed {
        Ok(codes) => {
            session.forget_authenticator_seed();
            match codes {
                Some(codes) => show_recovery_codes(&session, codes),
                None => {
                    session.set_flash(Flash::success("Your new authenticator app is set up."))?;
                    Ok(see_other("/account/security"))
                }
            }
        }
        Err(e) => {
            let refusal = Refusal::of(e)?;
            let error = Some(refusal.message.clone());
            let page = render_setup(&state, &session, &user, error, refusal.status)?;
            Ok(refusal.finish(page))
        }
    }
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    page: Page,
    codes: Vec<String>,
}

pub(super) fn show_recovery_codes(
    session: &TypedSession,
    codes: Vec<String>,
) -> Result<HttpResponse, AppError> {
    let page = RecoveryCodesPage {
        page: Page::new(session)?,
        codes,
    };
    no_store(html(StatusCode::OK, &page)?)
}

/// `POST /account/security/recovery-codes`: "Generate new recovery codes".
pub async fn new_recovery_codes(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    _: CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    require_recent_authentication(&state, &user, "/account/security".into())?;
    let codes =
        two_factor::new_recovery_codes(state.pool(), &user, client_ip(&req), state.clock().now())
            .await?;
    match codes {
        Some(codes) => show_recovery_codes(&session, codes),
        None => Err(AppError::Conflict(
            "Two-factor authentication is off: there are no recovery codes to replace.".into(),
        )),
    }
}

#[derive(Deserialize)]
pub struct TurnOffFields {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// `POST /account/security/two-factor/disable`: needs the password and a current second
/// factor, whenever the session last proved itself.
pub async fn turn_off(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<TurnOffFields>,
) -> Result<HttpResponse, AppError> {
    if state.policy().get(state.pool()).await?.require_two_factor {
        return Err(AppError::Conflict(
            "Your admin requires two-factor authentication, so it cannot be turned off.".into(),
        ));
    }
    let code = match SecondFactorCode::parse(&fields.code) {
        Ok(code) => code,
        Err(message) => {
            let error = Some(message.to_owned());
            return render(&state, &session, &user, error, StatusCode::BAD_REQUEST).await;
        }
    };
    let turned_off = two_factor::turn_off(
        state.pool(),
        state.bcrypt(),
        state.authenticator_keys(),
        state.throttles(),
        &user,
        TurnOff {
            password: fields.password.into(),
            code,
            ip: client_ip(&req),
        },
        state.clock().now(),
    )
    .await;
    match turned_off {
        Ok(()) => {
            session.set_flash(Flash::success("Two-factor authentication is off."))?;
            Ok(see_other("/account/security"))
        }
        Err(e) => {
            let refusal = Refusal::of(e)?;
            let message = Some(refusal.message.clone());
            let page = render(&state, &session, &user, message, refusal.status).await?;
            Ok(refusal.finish(page))
        }
    }
}

#[derive(Template)]
#[template(path = "confirm_access.html")]
struct ConfirmAccessPage {
    page: Page,
    next: String,
    two_factor: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /account/confirm-access?next=...`.
pub async fn confirm_access_form(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let page = ConfirmAccessPage {
        page: Page::new(&session)?,
        next: safe_next(query.into_inner().next),
        two_factor: user.two_factor,
        error: None,
    };
    html(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct ConfirmFields {
    password: Option<String>,
    code: Option<String>,
    next: Option<String>,
}

/// `POST /account/confirm-access`: the password, or a second factor, restarts the session's
/// 15 minutes; then back to where the user was.
pub async fn confirm_access(
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<ConfirmFields>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(fields.next);
    let reshow = |error: String, status| -> Result<HttpResponse, AppError> {
        let page = ConfirmAccessPage {
            page: Page::new(&session)?,
            next: next.clone(),
            two_factor: user.two_factor,
            error: Some(error),
        };
        html(status, &page)
    };
    let proof = match (fields.password.filter(|p| !p.is_empty()), fields.code) {
        (Some(password), _) => Proof::Password(password.into()),
        (None, Some(code)) if user.two_factor => match SecondFactorCode::parse(&code) {
            Ok(code) => Proof::Code(code),
            Err(message) => return reshow(message.to_owned(), StatusCode::BAD_REQUEST),
        },
        _ => return reshow("Enter your password.".to_owned(), StatusCode::BAD_REQUEST),
    };
    let confirmed = two_factor::reauthenticate(
        state.pool(),
        state.bcrypt(),
        state.authenticator_keys(),
        state.throttles(),
        &user,
        (proof, client_ip(&req)),
        state.clock().now(),
    )
    .await;
    match confirmed {
        Ok(()) => Ok(see_other(&next)),
        Err(e) => {
            let refusal = Refusal::of(e)?;
            let page = reshow(refusal.message.clone(), refusal.status)?;
            Ok(refusal.finish(page))
        }
    }
}
