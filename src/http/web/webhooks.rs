//! An app's webhooks on its page: adding an endpoint (its signing secret shown once),
//! removing one, and the latest deliveries.

use super::access::{path_id, EditForm, EditableApp};
use super::{html, see_other, Page, TimeView};
use crate::db::notifications::DeliveryRow;
use crate::db::webhooks::WebhookRow;
use crate::http::client_ip;
use crate::http::error::AppError;
use crate::http::session::Flash;
use crate::http::TypedSession;
use crate::service::audit::Actor;
use crate::service::notifications::webhooks::{self, WebhookError};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

impl From<WebhookError> for AppError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::NotFound => AppError::NotFound,
            WebhookError::Forbidden(message) => AppError::Forbidden(message),
            WebhookError::Unexpected(cause) => AppError::Unexpected(cause),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

/// The Webhooks section of the app page.
#[derive(Default)]
pub struct WebhooksView {
    pub endpoints: Vec<EndpointView>,
    pub deliveries: Vec<DeliveryView>,
    /// What was typed in Endpoint URL, and why it was refused.
    pub url: String,
    pub error: Option<String>,
}

pub struct EndpointView {
    pub id: i32,
    pub url: String,
    pub added: TimeView,
}

pub struct DeliveryView {
    pub event: String,
    pub at: TimeView,
    pub url: String,
    pub status: String,
    pub attempts: i32,
    pub state: &'static str,
}

impl WebhooksView {
    pub fn new(hooks: Vec<WebhookRow>, deliveries: Vec<DeliveryRow>, now: NaiveDateTime) -> Self {
        WebhooksView {
            endpoints: hooks
                .into_iter()
                .map(|h| EndpointView {
                    id: h.id,
                    url: h.url,
                    added: TimeView::new(h.created_at, now),
                })
                .collect(),
            deliveries: deliveries
                .into_iter()
                .map(|d| DeliveryView {
                    event: d.event_type,
                    at: TimeView::new(d.created_at, now),
                    url: d.url,
                    status: d
                        .last_status
                        .map(|s| s.to_string())
                        .or(d.last_error)
                        .unwrap_or_else(|| "-".into()),
                    attempts: d.attempts,
                    state: match (d.delivered_at, d.gave_up_at) {
                        (Some(_), _) => "Delivered",
                        (None, Some(_)) => "Gave up",
                        (None, None) => "Retrying",
                    },
                })
                .collect(),
            url: String::new(),
            error: None,
        }
    }
}

#[derive(Template)]
#[template(path = "webhook_new.html")]
struct NewWebhookPage {
    page: Page,
    app_id: i32,
    name: String,
    webhooks: WebhooksView,
}

/// `GET /apps/{id}/webhooks/new`: the add form on its own page.
pub async fn new_form(
    EditableApp { app, .. }: EditableApp,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    html(
        StatusCode::OK,
        &NewWebhookPage {
            page: Page::new(&session)?,
            app_id: app.id,
            name: app.name,
            webhooks: WebhooksView::default(),
        },
    )
}

#[derive(Deserialize)]
pub struct AddFields {
    #[serde(default)]
    url: String,
}

#[derive(Template)]
#[template(path = "webhook_added.html")]
struct WebhookAdded {
    page: Page,
    app_id: i32,
    name: String,
    url: String,
    signing_secret: String,
}

/// Adds the endpoint and shows its signing secret in this one response, which no cache may
/// keep (like a client secret).
pub async fn add(
    req: HttpRequest,
    EditForm {
        owned: EditableApp { user, app },
        form: fields,
    }: EditForm<EditableApp, AddFields>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let actor = Actor::new(&user, client_ip(&req));
    let added = webhooks::add(
        state.pool(),
        state.notifier(),
        app.id,
        &fields.url,
        actor,
        state.clock().now(),
    )
    .await;
    match added {
        Ok(added) => {
            let mut response = html(
                StatusCode::OK,
                &WebhookAdded {
                    page: Page::new(&session)?,
                    app_id: app.id,
                    name: app.name,
                    url: fields.url.trim().to_owned(),
                    signing_secret: added.signing_secret,
                },
            )?;
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            Ok(response)
        }
        Err(WebhookError::Unexpected(cause)) => Err(AppError::Unexpected(cause)),
        Err(refused) => html(
            StatusCode::BAD_REQUEST,
            &NewWebhookPage {
                page: Page::new(&session)?,
                app_id: app.id,
                name: app.name,
                webhooks: WebhooksView {
                    url: fields.url,
                    error: Some(refused.to_string()),
                    ..WebhooksView::default()
                },
            },
        ),
    }
}

/// `POST /apps/{id}/webhooks/{webhook_id}/remove`.
pub async fn remove(
    req: HttpRequest,
    EditForm {
        owned: EditableApp { user, app },
        ..
    }: EditForm<EditableApp, crate::http::csrf::NoFields>,
    session: TypedSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let webhook_id = path_id(&req, "webhook_id")?;
    let actor = Actor::new(&user, client_ip(&req));
    webhooks::remove(state.pool(), app.id, webhook_id, actor, state.clock().now()).await?;
    session.set_flash(Flash::success("Webhook removed."))?;
    Ok(see_other(&format!("/apps/{}#webhooks", app.id)))
}
