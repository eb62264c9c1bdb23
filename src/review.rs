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
    rows: Arc<Vec<AdminRow>>,
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

/// One page of the review and the number of rows that match, as of `now`.
pub async fn page(
    pool: &DbPool,
    cache: Arc<ReviewCache>,
    filter: AdminFilter,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(i64, Arc<Vec<AdminRow>>)> {
    let second = now.and_utc().timestamp();
    db::run(pool, move |conn| {
        // One read transaction: the generation read belongs to the rows read.
        conn.transaction(|conn| {
            let generation = admin::review_generation(conn)?;
            if let Some(hit) = cache.get(&filter, offset, generation, second) {
                return Ok((hit.total, hit.rows));
            }
            let (total, rows) = admin::page(conn, &filter, now, offset, limit)?;
            let rows = Arc::new(rows);
            cache.put(Entry {
                filter,
                offset,
                generation,
                second,
                total,
                rows: rows.clone(),
            });
            Ok::<_, diesel::result::Error>((total, rows))
        })
        .context("loading the admin review")
    })
    .await
}
