//! A typed view of the cookie session, and the extractor for pages that need a signed-in user.

use crate::db::Conn;
use crate::domain::Account;
use crate::domain::OpaqueToken;
use crate::http::error::AppError;
use crate::service::sessions;
use crate::state::AppState;
use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use anyhow::anyhow;
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use std::future::{ready, Ready};

/// A one-shot message shown on the next page (Post/Redirect/Get).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub is_error: bool,
    pub message: String,
}

impl Flash {
    pub fn success(message: impl Into<String>) -> Self {
        Flash {
            is_error: false,
            message: message.into(),
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Flash {
            is_error: true,
            message: message.into(),
        }
    }
}

/// The session with named, typed fields instead of string keys scattered over handlers.
pub struct TypedSession(Session);

impl TypedSession {
    const USER_ID: &'static str = "user_id";
    const EMAIL: &'static str = "email";
    const IS_ADMIN: &'static str = "is_admin";
    /// The server-side session's id (`service::sessions`).
    const SESSION: &'static str = "session";
    const CSRF: &'static str = "csrf";
    const FLASH: &'static str = "flash";
    /// For the banner only: whether the account's address was unproven when last seen.
    const UNVERIFIED: &'static str = "unverified";
    /// A log-in waiting for its second factor: the account, since when, and where to go next.
    const PENDING_USER: &'static str = "pending_user";
    const PENDING_SINCE: &'static str = "pending_since";
    const PENDING_NEXT: &'static str = "pending_next";
    const PENDING_STAMP: &'static str = "pending_stamp";
    /// The seed of the authenticator app this browser is setting up (see
    /// `service::two_factor::new_authenticator`).
    const AUTHENTICATOR_SEED: &'static str = "authenticator_seed";

    pub fn from_session(session: Session) -> Self {
        TypedSession(session)
    }

    /// Starts a signed-in session under a fresh cookie, with a fresh CSRF token. `token` names
    /// the server-side session row, which decides whether the session is still valid.
    pub fn log_in(&self, account: &Account, token: &OpaqueToken) -> Result<(), AppError> {
        self.0.renew();
        self.0.clear();
        self.insert(Self::USER_ID, account.id)?;
        self.insert(Self::EMAIL, &account.email)?;
        self.insert(Self::IS_ADMIN, account.is_admin)?;
        self.insert(Self::SESSION, token.expose())?;
        if !account.email_verified {
            self.insert(Self::UNVERIFIED, true)?;
        }
        self.insert(Self::CSRF, crate::domain::random_base62(43))
    }

    /// The password was right; the log-in waits for a second factor. Under a fresh cookie, and
    /// without a session: nothing but the second step accepts it.
    pub fn begin_second_factor(
        &self,
        (user_id, password_stamp): (i32, &str),
        now: chrono::NaiveDateTime,
        next: &str,
    ) -> Result<(), AppError> {
        self.0.renew();
        self.0.clear();
        self.insert(Self::PENDING_USER, user_id)?;
        self.insert(Self::PENDING_STAMP, password_stamp)?;
        self.insert(Self::PENDING_SINCE, now.and_utc().timestamp())?;
        self.insert(Self::PENDING_NEXT, next)?;
        self.insert(Self::CSRF, crate::domain::random_base62(43))
    }

    /// A log-in waiting for its second factor whose password was given less than
    /// [`SECOND_STEP_WITHIN`] ago: the account, its password stamp, the page after log-in.
    fn pending_second_factor(&self, now: chrono::NaiveDateTime) -> Option<(i32, String, String)> {
        let user_id: i32 = self.0.get(Self::PENDING_USER).ok().flatten()?;
        let stamp: String = self.0.get(Self::PENDING_STAMP).ok().flatten()?;
        let since: i64 = self.0.get(Self::PENDING_SINCE).ok().flatten()?;
        let next: String = self.0.get(Self::PENDING_NEXT).ok().flatten()?;
        let age = now.and_utc().timestamp() - since;
        (0..SECOND_STEP_WITHIN.num_seconds())
            .contains(&age)
            .then_some((user_id, stamp, next))
    }

    /// The seed of the authenticator app being set up in this browser.
    pub fn authenticator_seed(&self) -> Option<String> {
        self.0.get(Self::AUTHENTICATOR_SEED).ok().flatten()
    }

    pub fn set_authenticator_seed(&self, seed: &str) -> Result<(), AppError> {
        self.insert(Self::AUTHENTICATOR_SEED, seed)
    }

    pub fn forget_authenticator_seed(&self) {
        self.0.remove(Self::AUTHENTICATOR_SEED);
    }

    /// Whether the banner asking to verify the address shows.
    pub fn email_unverified(&self) -> bool {
        self.0.get(Self::UNVERIFIED).ok().flatten().unwrap_or(false)
    }

    /// Keeps the banner in step with the account (the address may be proven in another browser).
    fn note_email_verified(&self, verified: bool) -> Result<(), AppError> {
        match (self.email_unverified(), verified) {
            (true, true) => {
                self.0.remove(Self::UNVERIFIED);
                Ok(())
            }
            (false, false) => self.insert(Self::UNVERIFIED, true),
            _ => Ok(()),
        }
    }

    /// The id of the server-side session this cookie belongs to.
    pub fn session_token(&self) -> Option<String> {
        self.0.get(Self::SESSION).ok().flatten()
    }

    /// Forgets whoever was signed in, under a fresh cookie that carries only `flash`.
    pub fn start_over_with(&self, flash: Flash) -> Result<(), AppError> {
        self.0.renew();
        self.0.clear();
        self.set_flash(flash)
    }

    /// Ends the session and removes the cookie.
    pub fn log_out(&self) {
        self.0.purge();
    }

    pub fn user_id(&self) -> Option<i32> {
        self.0.get(Self::USER_ID).ok().flatten()
    }

    pub fn email(&self) -> Option<String> {
        self.0.get(Self::EMAIL).ok().flatten()
    }

    /// For the navigation only; authorization always reads the account.
    pub fn is_admin(&self) -> bool {
        self.0.get(Self::IS_ADMIN).ok().flatten().unwrap_or(false)
    }

    /// The per-session CSRF token, created on first use. It is not single-use, so several tabs
    /// can each submit their forms.
    pub fn csrf_token(&self) -> Result<String, AppError> {
        if let Some(token) = self.0.get::<String>(Self::CSRF).ok().flatten() {
            return Ok(token);
        }
        let token = crate::domain::random_base62(43);
        self.insert(Self::CSRF, &token)?;
        Ok(token)
    }

    /// The stored token without creating one: a session without a token has not seen a form.
    pub fn existing_csrf_token(&self) -> Option<String> {
        self.0.get(Self::CSRF).ok().flatten()
    }

    pub fn set_flash(&self, flash: Flash) -> Result<(), AppError> {
        self.insert(Self::FLASH, flash)
    }

    pub fn take_flash(&self) -> Option<Flash> {
        // Only remove what is there: a removal marks the session changed, and a changed session
        // is encrypted and sent again as a new cookie with every page.
        let flash = self.0.get::<Flash>(Self::FLASH).ok().flatten()?;
        self.0.remove(Self::FLASH);
        Some(flash)
    }

    fn insert(&self, key: &str, value: impl Serialize) -> Result<(), AppError> {
        self.0
            .insert(key, value)
            .map_err(|e| AppError::Unexpected(anyhow!("writing the session: {e}")))
    }
}

impl FromRequest for TypedSession {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(TypedSession(req.get_session())))
    }
}

/// A signed-in user whose account still exists. Pages that take this redirect anyone else to
/// the login page, and bring them back afterwards.
pub struct CurrentUser(pub Account);

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = TypedSession(req.get_session());
        let state = AppState::of(req);
        let next = return_path(req);
        let policy = if allowed_without_two_factor(req.path()) {
            Policy::Exempt
        } else {
            Policy::Enforced
        };
        Box::pin(async move {
            let state = state?;
            let found = load_with(&state, &session, |_, _| Ok(()), policy).await?;
            found
                .map(|(account, ())| CurrentUser(account))
                .ok_or(AppError::LoginRequired { next })
        })
    }
}

/// The pages an account that must set up two-factor authentication may still open.
fn allowed_without_two_factor(path: &str) -> bool {
    path.starts_with("/account/security")
        || path == "/account/confirm-access"
        || path == "/account/verify-email/resend"
}

/// Whether a page applies the admin's two-factor requirement.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    Enforced,
    Exempt,
}

/// The account of the session's user, if someone is signed in, the account still exists and
/// the server-side session has not ended (log out, timeout, password change). Any other session
/// is ended.
pub async fn signed_in(
    state: &AppState,
    session: &TypedSession,
) -> Result<Option<Account>, AppError> {
    let found = load_signed_in(state, session, |_, _| Ok(())).await?;
    Ok(found.map(|(account, ())| account))
}

/// As [`signed_in`], and runs `read` for the account in the same trip to the database: a page
/// whose data is one read pays one trip instead of two. What `read` returns is handed back only
/// if the session turns out to be valid, so it must not change anything.
pub async fn load_signed_in<T, F>(
    state: &AppState,
    session: &TypedSession,
    read: F,
) -> Result<Option<(Account, T)>, AppError>
where
    F: FnOnce(&mut Conn, &Account) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    load_with(state, session, read, Policy::Enforced).await
}

async fn load_with<T, F>(
    state: &AppState,
    session: &TypedSession,
    read: F,
    policy: Policy,
) -> Result<Option<(Account, T)>, AppError>
where
    F: FnOnce(&mut Conn, &Account) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let (Some(user_id), Some(token)) = (session.user_id(), session.session_token()) else {
        if session.user_id().is_some() {
            session.log_out();
        }
        return Ok(None);
    };
    let token_hash = OpaqueToken::presented(&token).hash();
    let now = state.clock().now();
    let timeouts = state.session_timeouts();
    let found =
        sessions::load_signed_in(state.pool(), user_id, token_hash, timeouts, now, read).await?;
    let Some((account, data)) = found else {
        session.log_out();
        return Ok(None);
    };
    session.note_email_verified(account.email_verified)?;
    if policy == Policy::Enforced
        && !account.two_factor
        && state.policy().get(state.pool()).await?.require_two_factor
    {
        return Err(AppError::TwoFactorRequired);
    }
    Ok(Some((account, data?)))
}

/// Where to return after logging in: only a GET can be replayed, anything else goes to the
/// start page.
pub fn return_path(req: &HttpRequest) -> String {
    if req.method() == actix_web::http::Method::GET {
        req.uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_else(|| "/apps".into())
    } else {
        "/apps".into()
    }
}

/// How long after the password the second step of log-in waits for its code.
pub const SECOND_STEP_WITHIN: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// A log-in whose password was right, waiting for its second factor: recent, and the password
/// unchanged since (a reset ends it). Anyone else is sent to log in again.
pub struct PendingLogin {
    pub user_id: i32,
    /// Where to go once signed in.
    pub next: String,
}

impl FromRequest for PendingLogin {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = TypedSession(req.get_session());
        let state = AppState::of(req);
        Box::pin(async move {
            let state = state?;
            let again = || AppError::LoginRequired {
                next: "/apps".into(),
            };
            let now = state.clock().now();
            let (user_id, stamp, next) = session.pending_second_factor(now).ok_or_else(again)?;
            let current = crate::service::accounts::password_stamp(state.pool(), user_id).await?;
            if current.as_deref() != Some(stamp.as_str()) {
                session.log_out();
                return Err(again());
            }
            Ok(PendingLogin { user_id, next })
        })
    }
}

/// What everyone but an admin is told on an admin page.
pub const ADMINS_ONLY: &str = "Only admins can see this page.";

/// A signed-in admin. Everyone else gets 403 (or the login page, when not signed in).
pub struct AdminUser(pub Account);

impl FromRequest for AdminUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = CurrentUser::from_request(req, payload);
        Box::pin(async move {
            let CurrentUser(account) = user.await?;
            if account.is_admin {
                Ok(AdminUser(account))
            } else {
                Err(AppError::Forbidden(ADMINS_ONLY))
            }
        })
    }
}
