//! The admin review's pages, reused while nothing they show has changed (see `cache`).
//!
//! Why: counting every matching row of 10,000 apps costs milliseconds, far more than rendering
//! the page, and the answer only changes when an app, an owner or a secret does.

use crate::db::admin::{self, AdminFilter, AdminRow};
use crate::db::{self, Conn};
use crate::infra::cache::GenerationCache;
use anyhow::Context;
use chrono::NaiveDateTime;
use std::sync::Arc;

/// Pages (filter, sort, page number) kept, each with its match count and rendered rows.
pub type ReviewCache = GenerationCache<(AdminFilter, i64), (i64, Arc<str>)>;

/// The number of rows that match and one page of them rendered by `render`, as of `now`, on a
/// connection the caller holds. Rendering happens only when the page is not cached.
pub fn page_in<R>(
    conn: &mut Conn,
    cache: &ReviewCache,
    filter: AdminFilter,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
    render: R,
) -> anyhow::Result<(i64, Arc<str>)>
where
    R: FnOnce(&[AdminRow], NaiveDateTime) -> Result<String, askama::Error>,
{
    let second = now.and_utc().timestamp();
    let key = (filter, offset);
    let current = admin::review_generation(conn).context("loading the admin review")?;
    if let Some(hit) = cache.get(&key, current, second) {
        return Ok(hit);
    }
    // One read transaction: the generation the page is kept under belongs to the rows read.
    let (generation, (total, rows)) = db::read_transaction(conn, |conn| {
        let generation = admin::review_generation(conn)?;
        let found = admin::page(conn, &key.0, now, offset, limit)?;
        Ok::<_, diesel::result::Error>((generation, found))
    })
    .context("loading the admin review")?;
    let html: Arc<str> = render(&rows, now)
        .context("rendering the admin review")?
        .into();
    cache.put(key, generation, second, (total, html.clone()));
    Ok((total, html))
}
