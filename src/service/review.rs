//! The admin review's pages, reused while nothing they show has changed (see `crate::infra::cache`).
//!
//! Why: counting a page's matches (up to 10,000) reads thousands of rows, far more than
//! rendering the page, and the answer only changes when an app, an owner or a secret does.

use crate::db::admin::{self, AdminFilter, AdminRow, Matches, StaleSecret, Window};
use crate::db::apps::{self, App};
use crate::db::secrets::SecretRow;
use crate::db::{self, Conn, DbPool};
use crate::infra::cache::GenerationCache;
use crate::service::policy;
use anyhow::Context;
use chrono::{NaiveDateTime, TimeDelta};
use std::ops::ControlFlow;
use std::sync::Arc;

/// A live secret unused this long is stale.
const STALE_AFTER: TimeDelta = TimeDelta::days(30);
/// Two live secrets for this long means a rotation was left half-done.
const HALF_DONE_AFTER: TimeDelta = TimeDelta::days(7);
/// The most each list of the stale view shows.
const LISTED: i64 = 500;

/// Pages (filter, sort, page number) kept, each with its match count and rendered rows.
pub type ReviewCache = GenerationCache<(AdminFilter, i64), ReviewPage>;

/// One page of the review, its rows rendered.
#[derive(Debug, Clone)]
pub struct ReviewPage {
    /// How many rows match, counted up to the cap asked for.
    pub matches: Matches,
    /// Whether another page follows.
    pub more: bool,
    pub html: Arc<str>,
}

/// One page of the review rendered by `render`, as of `now`, on a connection the caller holds,
/// with the number of rows that match counted up to the window's cap. Rendering happens only
/// when the page is not cached.
pub fn page_in<R>(
    conn: &mut Conn,
    cache: &ReviewCache,
    filter: AdminFilter,
    now: NaiveDateTime,
    window: Window,
    render: R,
) -> anyhow::Result<ReviewPage>
where
    R: FnOnce(&[AdminRow], NaiveDateTime) -> anyhow::Result<String>,
{
    let second = now.and_utc().timestamp();
    let key = (filter, window.offset);
    let current = admin::review_generation(conn).context("loading the admin review")?;
    if let Some(hit) = cache.get(&key, current, second) {
        return Ok(hit);
    }
    // One read transaction: the generation the page is kept under belongs to the rows read.
    let (generation, found) = db::read_transaction(conn, |conn| {
        let generation = admin::review_generation(conn)?;
        let found = admin::page(conn, &key.0, now, window)?;
        Ok::<_, diesel::result::Error>((generation, found))
    })
    .context("loading the admin review")?;
    let html: Arc<str> = render(&found.rows, now)
        .context("rendering the admin review")?
        .into();
    let page = ReviewPage {
        matches: found.matches,
        more: found.more,
        html,
    };
    cache.put(key, generation, second, page.clone());
    Ok(page)
}

/// Every team, for the review's owner filter.
pub fn teams_in(conn: &mut Conn) -> anyhow::Result<Vec<db::teams::Team>> {
    db::teams::all(conn).context("listing teams")
}

/// Hands every row that matches to `each`, in the review's order, as it is read, until `each`
/// says stop. Blocking: call it on the blocking pool. It holds a pooled connection (and one
/// snapshot of the database) until the last row or the stop.
pub fn export_blocking(
    pool: &DbPool,
    filter: AdminFilter,
    now: NaiveDateTime,
    mut each: impl FnMut(AdminRow) -> ControlFlow<()>,
) -> anyhow::Result<()> {
    let mut conn = pool.get().context("getting a database connection")?;
    db::read_transaction(&mut conn, |conn| {
        admin::export(conn, &filter, now, &mut each)
    })
    .context("exporting the admin review")
}

/// What the stale view lists.
pub struct StaleReview {
    /// Live secrets unused for 30 days or never used in that time.
    pub stale: Vec<StaleSecret>,
    /// The live secrets of apps that have had two for a week, oldest first per app.
    pub half_done: Vec<StaleSecret>,
    /// Live secrets that stop within the policy's warning period, the soonest first.
    pub expiring: Vec<StaleSecret>,
    /// That warning period, in days.
    pub warning_days: i64,
}

pub async fn stale(pool: &DbPool, now: NaiveDateTime) -> anyhow::Result<StaleReview> {
    db::run(pool, move |conn| {
        let stale = admin::stale_secrets(conn, now, now - STALE_AFTER, LISTED)
            .context("loading stale secrets")?;
        let half_done = admin::half_done_rotations(conn, now, now - HALF_DONE_AFTER, LISTED)
            .context("loading half-done rotations")?;
        let policy = policy::read_in(conn)?;
        let expiring = admin::expiring_secrets(conn, now, now + policy.warning(), LISTED)
            .context("loading expiring secrets")?;
        Ok(StaleReview {
            stale,
            half_done,
            expiring,
            warning_days: policy.warning_days,
        })
    })
    .await
}

/// Any secret and its app, by the secret's id alone (admins act on every app).
pub async fn any_secret(pool: &DbPool, secret_id: i32) -> anyhow::Result<Option<(App, SecretRow)>> {
    db::run(pool, move |conn| {
        let Some(row) = admin::find_secret(conn, secret_id).context("loading a secret")? else {
            return Ok(None);
        };
        let app = apps::find(conn, row.app_id).context("loading an app")?;
        Ok(app.map(|app| (app, row)))
    })
    .await
}
