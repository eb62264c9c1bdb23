//! "My Apps", registering an app, and the app page with its secrets.

use super::webhooks::WebhooksView;
use super::{html, see_other, Page, TimeView};
use crate::db::secrets::SecretRow;
use crate::domain::{AppName, RedirectUris, SecretHint, SecretStatus};
use crate::http::client_ip;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::session::{load_signed_in, return_path};
use crate::http::web::secrets::{GenerateForm, SecretView};
use crate::http::{CsrfForm, CurrentUser, TypedSession};
use crate::service::apps::{self, AppsError};
use crate::service::audit::Actor;
use crate::service::notifications::webhooks;
use crate::service::policy;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
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
    let summaries = apps::my_apps(state.pool(), user.id).await?;
    let now = state.clock().now();
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
    req: HttpRequest,
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
    let actor = Actor::new(&user, client_ip(&req));
    let app = apps::create_app(
        state.pool(),
        actor,
        name,
        redirect_uris,
        state.clock().now(),
    )
    .await?;
    session.set_flash(Flash::success(
        "App created. Generate a client secret below to start using it.",
    ))?;
    Ok(see_other(&format!("/apps/{}", app.id)))
}

struct ActivityView {
    at: TimeView,
    actor: String,
    detail: String,
    ip: String,
}

/// The note above the table while two secrets are live.
struct RotationNote {
    finished: bool,
    message: String,
}

fn rotation_note(rows: &[(SecretRow, Option<String>)], now: NaiveDateTime) -> Option<RotationNote> {
    let live: Vec<&SecretRow> = rows
        .iter()
        .map(|(row, _)| row)
        .filter(|r| SecretStatus::of(r.revoked_at, r.expires_at, now).is_live())
        .collect();
    let [a, b] = live.as_slice() else {
        return None;
    };
    let older = if a.id < b.id { a } else { b };
    let hint = SecretHint::from_stored(older.hint.clone());
    let quiet_since = now - super::secrets::RECENT_USE;
    Some(match older.last_used_at {
        Some(used) if used > quiet_since => RotationNote {
            finished: false,
            message: format!(
                "Rotation in progress: the older secret was last used {}. Revoke {hint} once your app no longer uses it.",
                TimeView::new(used, now).relative
            ),
        },
        None if older.created_at > quiet_since => RotationNote {
            finished: false,
            message: format!("Rotation in progress: the older secret {hint} has not been used yet."),
        },
        _ => RotationNote {
            finished: true,
            message: format!(
                "The older secret {hint} has not been used for a day: the rotation looks complete, and it is safe to revoke it."
            ),
        },
    })
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
    generate: GenerateForm,
    rotation: Option<RotationNote>,
    activity: Vec<ActivityView>,
    webhooks: WebhooksView,
}

pub async fn show(
    req: HttpRequest,
    session: TypedSession,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    // The session check and the page's reads in one trip (this is the busiest page). An id
    // that is not a number is answered only after the session check, like any missing app.
    let app_id = path.into_inner().parse::<i32>().ok();
    let pages = state.app_pages().clone();
    let now = state.clock().now();
    let loaded = load_signed_in(&state, &session, move |conn, user| {
        let app_id = app_id.ok_or(AppError::NotFound)?;
        let overview = apps::overview_in(conn, &pages, app_id, user.id, now)?;
        let (hooks, deliveries) = webhooks::list_in(conn, app_id)?;
        Ok((overview, policy::read_in(conn)?, hooks, deliveries))
    })
    .await?;
    let Some((_, (overview, policy, hooks, deliveries))) = loaded else {
        return Err(AppError::LoginRequired {
            next: return_path(&req),
        });
    };
    let apps::AppOverview {
        app,
        secrets: rows,
        activity: events,
    } = overview;
    let rotation = rotation_note(&rows, now);
    let secrets: Vec<SecretView> = rows
        .into_iter()
        .map(|(row, by)| SecretView::for_owner(row, by, now))
        .collect();
    let live_count = secrets.iter().filter(|s| s.live).count() as i64;
    let activity = events
        .into_iter()
        .map(|e| ActivityView {
            at: TimeView::new(e.at, now),
            actor: if e.actor_is_admin {
                format!("{} (admin)", e.actor_email)
            } else {
                e.actor_email
            },
            detail: e.detail,
            ip: e.ip.unwrap_or_default(),
        })
        .collect();
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
            generate: GenerateForm::new(live_count, &policy),
            webhooks: WebhooksView::new(hooks, deliveries, now),
            rotation,
            activity,
        },
    )
}
