//! Uses of a secret: "Last Used" (time, address, client) and the app's callers, written at
//! most once a minute per secret and caller, and use counts kept in memory and flushed with
//! that write, never one write per request.

use super::rotation::SecretError;
use crate::db::secrets::{self, SecretRow};
use crate::db::writer::Writer;
use crate::db::{self, DbPool};
use crate::domain::RequestOrigin;
use anyhow::Context;
use chrono::{DurationRound, NaiveDateTime, TimeDelta};
use lru::LruCache;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Mutex;

/// How stale the stored "Last Used" may get before a use writes it again.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::seconds(60);

/// Uses per secret and hour that have not reached the database yet. Flushed with the next
/// "Last Used" write, so counting costs no write per request; a crash loses at most about a
/// minute of counts, never a "Last Used" time older than that.
#[derive(Debug, Default)]
pub struct UsageCounter(Mutex<HashMap<(i32, NaiveDateTime), i32>>);

impl UsageCounter {
    pub(super) fn count(&self, secret_id: i32, now: NaiveDateTime) {
        if let Ok(mut pending) = self.0.lock() {
            *pending.entry((secret_id, hour_of(now))).or_default() += 1;
        }
    }

    fn take(&self, secret_id: i32) -> Vec<(NaiveDateTime, i32)> {
        let Ok(mut pending) = self.0.lock() else {
            return Vec::new();
        };
        let hours: Vec<NaiveDateTime> = pending
            .keys()
            .filter(|(id, _)| *id == secret_id)
            .map(|(_, h)| *h)
            .collect();
        hours
            .into_iter()
            .filter_map(|hour| pending.remove(&(secret_id, hour)).map(|n| (hour, n)))
            .collect()
    }

    fn give_back(&self, secret_id: i32, counts: Vec<(NaiveDateTime, i32)>) {
        if let Ok(mut pending) = self.0.lock() {
            for (hour, n) in counts {
                *pending.entry((secret_id, hour)).or_default() += n;
            }
        }
    }

    fn pending_since(&self, secret_id: i32, since: NaiveDateTime) -> i64 {
        self.0
            .lock()
            .map(|pending| {
                pending
                    .iter()
                    .filter(|((id, hour), _)| *id == secret_id && *hour >= since)
                    .map(|(_, n)| i64::from(*n))
                    .sum()
            })
            .unwrap_or(0)
    }
}

fn hour_of(t: NaiveDateTime) -> NaiveDateTime {
    t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t)
}

/// How often a secret was used recently, counted by the hour.
#[derive(Debug, Clone, Copy)]
pub struct SecretUsage {
    pub last_24_hours: i64,
    pub last_7_days: i64,
}

pub(super) async fn usage(
    pool: &DbPool,
    counter: &UsageCounter,
    secret_id: i32,
    now: NaiveDateTime,
) -> Result<SecretUsage, SecretError> {
    let day = hour_of(now) - TimeDelta::hours(23);
    let week = hour_of(now) - TimeDelta::hours(7 * 24 - 1);
    let (stored_day, stored_week) = db::run(pool, move |conn| {
        Ok::<_, SecretError>((
            secrets::usage_since(conn, secret_id, day)?,
            secrets::usage_since(conn, secret_id, week)?,
        ))
    })
    .await?;
    Ok(SecretUsage {
        last_24_hours: stored_day + counter.pending_since(secret_id, day),
        last_7_days: stored_week + counter.pending_since(secret_id, week),
    })
}

/// The callers (secret, address, User-Agent) whose use this process wrote, and when: a caller
/// is written at most once a minute, so two machines taking turns with one secret cost no
/// write per request. Bounded: the least recently seen caller is forgotten first.
///
/// New callers are written at most [`NEW_CALLERS_PER_MINUTE`] per secret and minute: a client
/// that sends a new User-Agent with every request cannot make every request a write.
#[derive(Debug)]
pub struct CallersWritten {
    written: Mutex<LruCache<(i32, RequestOrigin), NaiveDateTime>>,
    /// Per secret: the minute, and how many new callers were written in it.
    new_per_minute: Mutex<LruCache<i32, (NaiveDateTime, u32)>>,
}

const NEW_CALLERS_PER_MINUTE: u32 = 30;

impl Default for CallersWritten {
    fn default() -> Self {
        let capacity = NonZeroUsize::new(10_000).unwrap_or(NonZeroUsize::MIN);
        CallersWritten {
            written: Mutex::new(LruCache::new(capacity)),
            new_per_minute: Mutex::new(LruCache::new(capacity)),
        }
    }
}

impl CallersWritten {
    /// Counts one new caller of the secret written in this minute; `false` past the budget.
    fn may_add(&self, secret_id: i32, now: NaiveDateTime) -> bool {
        let minute = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
        self.new_per_minute.lock().is_ok_and(|mut counts| {
            let entry = counts.get_or_insert_mut(secret_id, || (minute, 0));
            if entry.0 != minute {
                *entry = (minute, 0);
            }
            entry.1 += 1;
            entry.1 <= NEW_CALLERS_PER_MINUTE
        })
    }

    fn fresh(&self, key: &(i32, RequestOrigin), now: NaiveDateTime) -> bool {
        self.written.lock().is_ok_and(|mut written| {
            written
                .get(key)
                .is_some_and(|at| *at > now - LAST_USED_RESOLUTION)
        })
    }

    fn written(&self, key: (i32, RequestOrigin), now: NaiveDateTime) {
        if let Ok(mut written) = self.written.lock() {
            written.put(key, now);
        }
    }
}

/// Writes "Last Used" (and flushes the pending use counts, and notes the caller) when the
/// stored time is over a minute old, or this caller's use of the secret was not written in the
/// last minute.
pub(super) async fn record_use(
    counter: &UsageCounter,
    callers: &CallersWritten,
    writer: &Writer,
    row: &SecretRow,
    origin: RequestOrigin,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    let fresh = row
        .last_used_at
        .is_some_and(|used| used > now - LAST_USED_RESOLUTION);
    let caller = (row.id, origin);
    if fresh && (callers.fresh(&caller, now) || !callers.may_add(row.id, now)) {
        return Ok(());
    }
    let (id, app_id) = (row.id, row.app_id);
    let RequestOrigin { ip, user_agent } = caller.1.clone();
    let counts = counter.take(id);
    let to_store = counts.clone();
    let written = writer
        .run(move |conn| {
            secrets::record_use(
                conn,
                app_id,
                id,
                now,
                (ip.as_deref(), user_agent.as_deref()),
            )?;
            for (hour, uses) in &to_store {
                secrets::add_usage(conn, id, *hour, *uses)?;
            }
            Ok(())
        })
        .await
        .context("recording a secret's use");
    match written {
        Ok(()) => callers.written(caller, now),
        Err(_) => counter.give_back(id, counts),
    }
    written
}
