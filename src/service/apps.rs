//! Registering apps and finding the signed-in developer's own apps.

use crate::db::{self, apps, apps::App, apps::AppSummary, Conn, DbPool};
use crate::domain::{AppName, ClientId, RedirectUris};
use crate::infra::cache::GenerationCache;
use crate::service::audit::{self, Actor};
use anyhow::Context;
use chrono::NaiveDateTime;

#[derive(Debug, thiserror::Error)]
pub enum AppsError {
    /// Another developer's app and a missing one look the same.
    #[error("App not found.")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub async fn create_app(
    pool: &DbPool,
    actor: Actor,
    name: AppName,
    redirect_uris: RedirectUris,
    now: chrono::NaiveDateTime,
) -> Result<App, AppsError> {
    let owner_id = actor
        .user_id
        .ok_or_else(|| anyhow::anyhow!("apps are created by people"))?;
    db::run(pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let client_id = ClientId::generate();
            let new = apps::NewApp {
                owner_id,
                name: name.as_str(),
                client_id: client_id.as_str(),
                redirect_uris: &redirect_uris.to_stored(),
                created_at: now,
            };
            let app = apps::insert(conn, &new)?;
            let detail = format!("Created the app \"{}\"", app.name);
            audit::record(
                conn,
                &actor,
                "app.created",
                Some(app.id),
                None,
                &detail,
                now,
            )?;
            Ok::<_, diesel::result::Error>(app)
        })
        .context("creating an app")
        .map_err(AppsError::from)
    })
    .await
}

/// The app with this id if `owner_id` owns it; anyone else's app is [`AppsError::NotFound`].
pub async fn owned_app(pool: &DbPool, id: i32, owner_id: i32) -> Result<App, AppsError> {
    db::run(pool, move |conn| {
        apps::find_owned(conn, id, owner_id)
            .context("loading an app")?
            .ok_or(AppsError::NotFound)
    })
    .await
}

/// The app whose client id this is, if any (client ids are public).
pub async fn find_client(pool: &DbPool, client_id: String) -> anyhow::Result<Option<App>> {
    db::run(pool, move |conn| {
        apps::find_by_client_id(conn, &client_id).context("loading a client")
    })
    .await
}

pub async fn my_apps(pool: &DbPool, owner_id: i32) -> Result<Vec<AppSummary>, AppsError> {
    db::run(pool, move |conn| {
        apps::list_owned_with_summary(conn, owner_id)
            .context("listing apps")
            .map_err(AppsError::from)
    })
    .await
}

/// Everything the app page shows, in one trip to the database.
#[derive(Clone)]
pub struct AppOverview {
    pub app: App,
    /// Newest first, with the email of whoever generated each.
    pub secrets: Vec<(db::secrets::SecretRow, Option<String>)>,
    /// The latest audit events, newest first.
    pub activity: Vec<db::audit::AuditEvent>,
}

/// App pages kept by (app id, owner id), reused while nothing they show has changed.
pub type AppPages = GenerationCache<(i32, i32), AppOverview>;

/// Reads what the app page shows, on a connection the caller holds (the page loads it in the
/// same trip as the session check), or reuses what it read before if nothing has changed since.
pub fn overview_in(
    conn: &mut Conn,
    pages: &AppPages,
    id: i32,
    owner_id: i32,
    now: NaiveDateTime,
) -> Result<AppOverview, AppsError> {
    let second = now.and_utc().timestamp();
    let current = db::admin::review_generation(conn).context("loading an app's overview")?;
    if let Some(hit) = pages.get(&(id, owner_id), current, second) {
        return Ok(hit);
    }
    // One read transaction: a consistent picture, and the generation it is kept under belongs
    // to the rows read.
    let found = db::read_transaction(conn, |conn| {
        let generation = db::admin::review_generation(conn)?;
        let Some(app) = apps::find_owned(conn, id, owner_id)? else {
            return Ok(None);
        };
        let secrets = db::secrets::list_for_app(conn, app.id)?;
        let activity = db::audit::recent_for_app(conn, app.id, 20)?;
        let overview = AppOverview {
            app,
            secrets,
            activity,
        };
        pages.put((id, owner_id), generation, second, overview.clone());
        Ok::<_, diesel::result::Error>(Some(overview))
    })
    .context("loading an app's overview")?;
    found.ok_or(AppsError::NotFound)
}
