//! The time every rule is decided by. Production reads the system clock; tests move a manual
//! clock forward instead of sleeping, so expiry and "Last Used" rules are tested exactly.

use chrono::{NaiveDateTime, TimeDelta};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system time; only a manual clock ever changes it.
    offset_ms: Arc<AtomicI64>,
    /// For a stopped clock, the moment it stopped at: then only `advance` moves it.
    stopped_at: Option<NaiveDateTime>,
}

impl Clock {
    pub fn system() -> Self {
        Clock::default()
    }

    /// A clock that tests can move forward with [`Clock::advance`].
    pub fn manual() -> Self {
        Clock::default()
    }

    /// A manual clock that stands still between calls to [`Clock::advance`], for tests that
    /// need several requests to happen at the same instant.
    pub fn stopped() -> Self {
        Clock {
            stopped_at: Some(chrono::Utc::now().naive_utc()),
            ..Clock::default()
        }
    }

    pub fn advance(&self, by: TimeDelta) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    /// Now, in UTC, as stored in the database.
    pub fn now(&self) -> NaiveDateTime {
        self.stopped_at
            .unwrap_or_else(|| chrono::Utc::now().naive_utc())
            + TimeDelta::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}
