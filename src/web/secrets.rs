//! Generating and revoking secrets from the browser, each behind a confirmation step.

use super::apps::SecretView;
use super::{html, see_other, Page};
use crate::apps;
use crate::auth::session::Flash;
use crate::auth::{CsrfForm, CurrentUser, TypedSession};
use crate::domain::SecretHint;
use crate::error::AppError;
use crate::secrets::{self, Revocation, SecretError, MAX_ACTIVE, MAX_ACTIVE_MESSAGE};
use crate::startup::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

impl From<SecretError> for AppError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::TooManyActive | SecretError::AlreadyGenerated => {
                AppError::Conflict(e.to_string())
            }
            SecretError::NotFound => AppError::NotFound,
            SecretError::Unexpected(cause) => AppError::Unexpected(cause),
        }
    }
}

#[derive(Template)]
#[template(path = "secret_generate.html")]
struct ConfirmGenerate {
    page: Page,
    app_id: i32,
    name: String,
    at_limit: bool,
    limit_message: &'static str,
    request_nonce: String,
}

pub async fn confirm_generate(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let app = apps::owned_app(&state.pool, &path, user.id).await?;
    let active = secrets::count_active(&state.pool, app.id).await?;
    html(
        StatusCode::OK,
        &ConfirmGenerate {
            page: Page::new(&session)?,
            app_id: app.id,
            name: app.name,
            at_limit: active >= MAX_ACTIVE,
            limit_message: MAX_ACTIVE_MESSAGE,
            request_nonce: crate::domain::random_base62(22),
        },
    )
}

#[derive(Deserialize)]
pub struct GenerateFields {
    request_nonce: Option<String>,
}

#[derive(Template)]
#[template(path = "secret_shown.html")]
struct SecretShown<'a> {
    page: Page,
    app_id: i32,
    name: String,
    secret: &'a str,
    hint: String,
}

/// Generates a secret and shows its plaintext in this one response, which no cache may keep.
/// The page is not a redirect target on purpose: the plaintext must never be stored anywhere
/// (not even in the session) to survive until a following GET.
pub async fn generate(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    path: web::Path<String>,
    CsrfForm(fields): CsrfForm<GenerateFields>,
) -> Result<HttpResponse, AppError> {
    let app = apps::owned_app(&state.pool, &path, user.id).await?;
    let nonce = match fields.request_nonce.filter(|n| !n.is_empty()) {
        Some(n) if n.len() <= 64 && n.bytes().all(|b| b.is_ascii_alphanumeric()) => Some(n),
        Some(_) => {
            return Err(AppError::BadRequest(
                "The confirmation form was altered.".into(),
            ))
        }
        None => None,
    };
    match secrets::generate_secret(
        &state.pool,
        state.bcrypt_cost,
        app.id,
        nonce,
        state.clock.now(),
    )
    .await
    {
        Ok(generated) => {
            let mut response = html(
                StatusCode::OK,
                &SecretShown {
                    page: Page::new(&session)?,
                    app_id: app.id,
                    name: app.name,
                    secret: generated.plaintext.expose(),
                    hint: generated.plaintext.hint().to_string(),
                },
            )?;
            let headers = response.headers_mut();
            headers.insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            headers.insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
            Ok(response)
        }
        Err(SecretError::AlreadyGenerated) => {
            session.set_flash(Flash::error(SecretError::AlreadyGenerated.to_string()))?;
            Ok(see_other(&format!("/apps/{}", app.id)))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "secret_revoke.html")]
struct ConfirmRevoke {
    page: Page,
    app_id: i32,
    name: String,
    secret: SecretView,
}

pub async fn confirm_revoke(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (app_id, secret_id) = path.into_inner();
    let app = apps::owned_app(&state.pool, &app_id, user.id).await?;
    let secret_id = secret_id.parse::<i32>().map_err(|_| AppError::NotFound)?;
    let row = secrets::find_secret(&state.pool, app.id, secret_id).await?;
    html(
        StatusCode::OK,
        &ConfirmRevoke {
            page: Page::new(&session)?,
            app_id: app.id,
            name: app.name,
            secret: SecretView::new(row, state.clock.now()),
        },
    )
}

#[derive(Deserialize)]
pub struct RevokeFields {
    /// The "Also revoke tokens issued with this secret" checkbox.
    revoke_tokens: Option<String>,
}

pub async fn revoke(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    CsrfForm(fields): CsrfForm<RevokeFields>,
) -> Result<HttpResponse, AppError> {
    let (app_id, secret_id) = path.into_inner();
    let app = apps::owned_app(&state.pool, &app_id, user.id).await?;
    let secret_id = secret_id.parse::<i32>().map_err(|_| AppError::NotFound)?;
    let also_tokens = fields.revoke_tokens.is_some();
    let flash = match secrets::revoke_secret(
        &state.pool,
        app.id,
        secret_id,
        also_tokens,
        state.clock.now(),
    )
    .await?
    {
        Revocation::Revoked {
            row,
            tokens_revoked,
        } => {
            let hint = SecretHint::from_stored(row.hint);
            Flash::success(match (also_tokens, tokens_revoked) {
                (false, _) => format!("Secret {hint} revoked."),
                (true, 1) => {
                    format!("Secret {hint} revoked. 1 token issued with it was revoked too.")
                }
                (true, n) => {
                    format!("Secret {hint} revoked. {n} tokens issued with it were revoked too.")
                }
            })
        }
        Revocation::AlreadyRevoked(row) => Flash::error(format!(
            "Secret {} was already revoked. Nothing changed.",
            SecretHint::from_stored(row.hint)
        )),
    };
    session.set_flash(flash)?;
    Ok(see_other(&format!("/apps/{}", app.id)))
}
