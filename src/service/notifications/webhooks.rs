//! An app's webhook endpoints: adding one (its signing key shown once), removing one, and
//! what the app page lists.

use super::worker::Notifier;
use crate::db::notifications::{self as outbox, DeliveryRow};
use crate::db::webhooks::{self, NewWebhook, WebhookRow};
use crate::db::{self, DbPool};
use crate::domain::WebhookKeys;
use crate::infra::webhook_client::{self, TargetError};
use crate::service::apps::{self, AppsError};
use crate::service::audit::{self, Actor};
use anyhow::Context;
use chrono::NaiveDateTime;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("An app can have at most {MAX_PER_APP} webhooks.")]
    TooMany,
    #[error("Webhook not found.")]
    NotFound,
    /// A team member whose role no longer lets them change the app.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<AppsError> for WebhookError {
    fn from(e: AppsError) -> Self {
        match e {
            AppsError::NotFound => WebhookError::NotFound,
            AppsError::Forbidden(message) => WebhookError::Forbidden(message),
            AppsError::Unexpected(cause) => WebhookError::Unexpected(cause),
        }
    }
}

pub const MAX_PER_APP: usize = 5;

/// A webhook just added: its id, and the signing key to show once (`whsec_...`).
pub struct AddedWebhook {
    pub id: i32,
    pub signing_secret: String,
}

/// Adds an endpoint to the app after checking it is a public http(s) URL.
pub async fn add(
    pool: &DbPool,
    notifier: &Notifier,
    app_id: i32,
    url: &str,
    actor: Actor,
    now: NaiveDateTime,
) -> Result<AddedWebhook, WebhookError> {
    let target = webhook_client::check(url, notifier.allow_private()).await?;
    let url = target.url().to_owned();
    let key_id = WebhookKeys::new_key_id();
    let stored_key_id = key_id.clone();
    let id = db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            apps::may_still_change_in(conn, app_id, &actor)?;
            if webhooks::list_for_app(conn, app_id)?.len() >= MAX_PER_APP {
                return Err(WebhookError::TooMany);
            }
            let id = webhooks::insert(
                conn,
                &NewWebhook {
                    app_id,
                    url: &url,
                    key_id: &stored_key_id,
                    created_at: now,
                    created_by: actor.user_id,
                },
            )
            .context("adding a webhook")?;
            audit::record(
                conn,
                &actor,
                "webhook.added",
                Some(app_id),
                None,
                &format!("Added webhook {url}"),
                now,
            )
            .context("recording a webhook")?;
            Ok(id)
        })
    })
    .await?;
    Ok(AddedWebhook {
        id,
        signing_secret: notifier.keys().key(&key_id).expose(),
    })
}

pub async fn remove(
    pool: &DbPool,
    app_id: i32,
    webhook_id: i32,
    actor: Actor,
    now: NaiveDateTime,
) -> Result<(), WebhookError> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            apps::may_still_change_in(conn, app_id, &actor)?;
            let url = webhooks::list_for_app(conn, app_id)
                .context("loading webhooks")?
                .into_iter()
                .find(|w| w.id == webhook_id)
                .map(|w| w.url)
                .ok_or(WebhookError::NotFound)?;
            webhooks::delete(conn, app_id, webhook_id).context("removing a webhook")?;
            audit::record(
                conn,
                &actor,
                "webhook.removed",
                Some(app_id),
                None,
                &format!("Removed webhook {url}"),
                now,
            )
            .context("recording a webhook")?;
            Ok(())
        })
    })
    .await
}

/// The app's endpoints and their latest deliveries, for the app page.
pub fn list_in(
    conn: &mut db::Conn,
    app_id: i32,
) -> anyhow::Result<(Vec<WebhookRow>, Vec<DeliveryRow>)> {
    let hooks = webhooks::list_for_app(conn, app_id).context("loading webhooks")?;
    let deliveries =
        outbox::recent_webhook_deliveries(conn, app_id, 20).context("loading deliveries")?;
    Ok((hooks, deliveries))
}

impl From<diesel::result::Error> for WebhookError {
    fn from(e: diesel::result::Error) -> Self {
        WebhookError::Unexpected(anyhow::Error::from(e).context("webhook query"))
    }
}
