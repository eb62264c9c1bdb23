//! The admin review's pages, reused while nothing they show has changed.
//!
//! Why: counting every matching row of 10,000 apps costs milliseconds, far more than rendering
//! the page, and the answer only changes when an app, an owner or a secret does. Every change
//! bumps a generation in the database (triggers), so a cached page is reused exactly while
//! the generation is the one it was computed at, on every instance, and never across a second
//! boundary (the filters compare with "now": a scheduled revocation takes effect on time).

use crate::db::admin::{self, AdminFilter, AdminRow};
use crate::db::{self, DbPool};
use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::Connection;
use std::sync::{Arc, Mutex};

/// How many different pages (filter, sort, page number) are kept.
const CAPACITY: usize = 32;

#[derive(Clone)]
struct Entry {
    filter: AdminFilter,
    offset: i64,
    generation: i64,
    second: i64,
    total: i64,
    /// The page's rows, rendered.
    html: Arc<str>,
}

#[derive(Default)]
pub struct ReviewCache(Mutex<Vec<Entry>>);

impl ReviewCache {
    fn get(
        &self,
        filter: &AdminFilter,
        offset: i64,
        generation: i64,
        second: i64,
    ) -> Option<Entry> {
        let entries = self.0.lock().ok()?;
        entries
            .iter()
            .find(|e| {
                e.offset == offset
                    && e.generation == generation
                    && e.second == second
                    && &e.filter == filter
            })
            .cloned()
    }

    fn put(&self, entry: Entry) {
        if let Ok(mut entries) = self.0.lock() {
            entries.retain(|e| !(e.offset == entry.offset && e.filter == entry.filter));
            if entries.len() >= CAPACITY {
                entries.remove(0);
            }
            entries.push(entry);
        }
    }
}

/// The number of rows that match and one page of them rendered by `render`, as of `now`.
/// Rendering happens here, off the async workers, and only when the page is not cached.
pub async fn page<R>(
    pool: &DbPool,
    cache: Arc<ReviewCache>,
    filter: AdminFilter,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
    render: R,
) -> anyhow::Result<(i64, Arc<str>)>
where
    R: FnOnce(&[AdminRow], NaiveDateTime) -> Result<String, askama::Error> + Send + 'static,
{
    let second = now.and_utc().timestamp();
    db::run(pool, move |conn| {
        // One read transaction: the generation read belongs to the rows read.
        let (generation, found) = conn
            .transaction(|conn| {
                let generation = admin::review_generation(conn)?;
                if let Some(hit) = cache.get(&filter, offset, generation, second) {
                    return Ok((generation, Err(hit)));
                }
                let found = admin::page(conn, &filter, now, offset, limit)?;
                Ok::<_, diesel::result::Error>((generation, Ok(found)))
            })
            .context("loading the admin review")?;
        let (total, rows) = match found {
            Err(hit) => return Ok((hit.total, hit.html)),
            Ok(found) => found,
        };
        let html: Arc<str> = render(&rows, now)
            .context("rendering the admin review")?
            .into();
        cache.put(Entry {
            filter,
            offset,
            generation,
            second,
            total,
            html: html.clone(),
        });
        Ok((total, html))
    })
    .await
}
