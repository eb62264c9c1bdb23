//! "My Apps", registering an app, and the app page with its secrets.

use super::{html, see_other, Page, TimeView};
use crate::apps::{self, AppsError};
use crate::auth::session::Flash;
use crate::auth::{CsrfForm, CurrentUser, TypedSession};
use crate::db;
use crate::domain::{AppName, RedirectUris, SecretHint, SecretStatus};
use crate::error::AppError;
use crate::secrets::{self, MAX_ACTIVE, MAX_ACTIVE_MESSAGE};
use crate::startup::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

impl From<AppsError> for AppError {
    fn from(e: AppsError) -> Self {
        match e {
            AppsError::NotFound => AppError::NotFound,
            AppsError::Unexpected(cause) => AppError::Unexpected(cause),
        }
    }
}

struct AppRow {
    id: i32,
    name: String,
    client_id: String,
    active_secrets: i64,
    last_used: Option<TimeView>,
}

#[derive(Template)]
#[template(path = "apps.html")]
struct MyApps {
    page: Page,
    apps: Vec<AppRow>,
}

pub async fn list(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let summaries = apps::my_apps(&state.pool, user.id).await?;
    let now = state.clock.now();
    let apps = summaries
        .into_iter()
        .map(|s| AppRow {
            id: s.app.id,
            name: s.app.name,
            client_id: s.app.client_id,
            active_secrets: s.active_secrets,
            last_used: s.last_used_at.map(|t| TimeView::new(t, now)),
        })
        .collect();
    html(
        StatusCode::OK,
        &MyApps {
            page: Page::new(&session)?,
            apps,
        },
    )
}

#[derive(Template)]
#[template(path = "app_new.html")]
struct NewAppForm {
    page: Page,
    name: String,
    redirect_uris: String,
    name_error: Option<String>,
    redirect_uris_error: Option<String>,
}

pub async fn new_form(_: CurrentUser, session: TypedSession) -> Result<HttpResponse, AppError> {
    html(
        StatusCode::OK,
        &NewAppForm {
            page: Page::new(&session)?,
            name: String::new(),
            redirect_uris: String::new(),
            name_error: None,
            redirect_uris_error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct NewAppFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    redirect_uris: String,
}

pub async fn create(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    CsrfForm(fields): CsrfForm<NewAppFields>,
) -> Result<HttpResponse, AppError> {
    let (name, redirect_uris) = match (
        AppName::parse(&fields.name),
        RedirectUris::parse(&fields.redirect_uris),
    ) {
        (Ok(name), Ok(uris)) => (name, uris),
        (name, uris) => {
            let form = NewAppForm {
                page: Page::new(&session)?,
                name: fields.name,
                redirect_uris: fields.redirect_uris,
                name_error: name.err().map(str::to_owned),
                redirect_uris_error: uris.err(),
            };
            return html(StatusCode::BAD_REQUEST, &form);
        }
    };
    let app =
        apps::create_app(&state.pool, user.id, name, redirect_uris, state.clock.now()).await?;
    session.set_flash(Flash::success(
        "App created. Generate a client secret below to start using it.",
    ))?;
    Ok(see_other(&format!("/apps/{}", app.id)))
}

/// One row of the "OAuth secrets" table.
pub struct SecretView {
    pub id: i32,
    pub hint: String,
    pub created: TimeView,
    pub last_used: Option<TimeView>,
    pub revoked: Option<TimeView>,
}

impl SecretView {
    pub fn new(row: db::secrets::SecretRow, now: chrono::NaiveDateTime) -> Self {
        let revoked = match SecretStatus::from_revoked_at(row.revoked_at) {
            SecretStatus::Active => None,
            SecretStatus::Revoked { at } => Some(TimeView::new(at, now)),
        };
        SecretView {
            id: row.id,
            hint: SecretHint::from_stored(row.hint).to_string(),
            created: TimeView::new(row.created_at, now),
            last_used: row.last_used_at.map(|t| TimeView::new(t, now)),
            revoked,
        }
    }
}

#[derive(Template)]
#[template(path = "app.html")]
struct AppPage {
    page: Page,
    app_id: i32,
    name: String,
    client_id: String,
    redirect_uris: Vec<String>,
    secrets: Vec<SecretView>,
    at_limit: bool,
    limit_message: &'static str,
    request_nonce: String,
}

pub async fn show(
    CurrentUser(user): CurrentUser,
    session: TypedSession,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let app = apps::owned_app(&state.pool, &path, user.id).await?;
    let rows = secrets::list_secrets(&state.pool, app.id).await?;
    let now = state.clock.now();
    let secrets: Vec<SecretView> = rows
        .into_iter()
        .map(|row| SecretView::new(row, now))
        .collect();
    let active = secrets.iter().filter(|s| s.revoked.is_none()).count() as i64;
    html(
        StatusCode::OK,
        &AppPage {
            page: Page::new(&session)?,
            app_id: app.id,
            redirect_uris: RedirectUris::from_stored(&app.redirect_uris)
                .as_slice()
                .to_vec(),
            name: app.name,
            client_id: app.client_id,
            secrets,
            at_limit: active >= MAX_ACTIVE,
            limit_message: MAX_ACTIVE_MESSAGE,
            request_nonce: crate::domain::random_base62(22),
        },
    )
}
