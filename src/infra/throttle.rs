//! Attempt counting for everything a guess can cost us: log-in, the current-password check,
//! client authentication and sign-up.
//!
//! An attempt is *reserved* before the work it guards (the bcrypt), in one step that checks the
//! count and adds to it, so attempts in flight count: however many requests arrive at once, at
//! most `limit` of them per key and window get past [`Throttle::reserve`]. A successful attempt
//! gives its reservation back ([`Reservation::release`]); a failed one keeps it, and so counts
//! as a failure until it ages out of the window.
//!
//! Where the counts live: in memory on SQLite (one process), and in the database on PostgreSQL,
//! so that every instance behind a load balancer shares one budget (`db::throttle`).
//! Keys never hold a secret: an email, an address, a client id and a secret's public id.

use super::metrics::Metrics;
use crate::db::{self, DbPool};
use chrono::{NaiveDateTime, TimeDelta};
use lru::LruCache;
use prometheus::IntCounter;
use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::Mutex;

/// The most keys one in-memory throttle tracks. Past it, the least recently used key is
/// forgotten: a constant-time eviction, never a scan of every key.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ThrottleError {
    /// Too many attempts for this key; retry after this many seconds.
    #[error("too many attempts; retry after {0} seconds")]
    Exceeded(i64),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// At most `limit` attempts per key within `window` (a sliding window).
pub struct Throttle {
    /// Tells the throttles apart where they share a table.
    scope: &'static str,
    limit: usize,
    window: TimeDelta,
    store: Store,
    /// Counts the attempts this throttle refused, when the server keeps metrics.
    refused: Option<IntCounter>,
}

enum Store {
    Memory(Mutex<LruCache<String, VecDeque<NaiveDateTime>>>),
    Database(DbPool),
}

/// One counted attempt. Dropping it keeps it counted (a failure); [`Reservation::release`]
/// takes it back (a success, or a check that never ran).
#[must_use]
pub struct Reservation<'a> {
    throttle: &'a Throttle,
    key: String,
    at: NaiveDateTime,
    /// The row, when the count is in the database.
    id: Option<i64>,
}

impl Reservation<'_> {
    pub async fn release(self) {
        self.throttle.forget(&self.key, self.at, self.id).await;
    }
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("scope", &self.scope)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Throttle {
    /// Counts in this process's memory.
    pub fn in_memory(scope: &'static str, limit: usize, window: TimeDelta) -> Self {
        Self::in_memory_with(scope, limit, window, MAX_KEYS)
    }

    fn in_memory_with(scope: &'static str, limit: usize, window: TimeDelta, keys: usize) -> Self {
        let capacity = NonZeroUsize::new(keys).unwrap_or(NonZeroUsize::MIN);
        Throttle {
            scope,
            limit,
            window,
            store: Store::Memory(Mutex::new(LruCache::new(capacity))),
            refused: None,
        }
    }

    /// Counts in the (PostgreSQL) database, shared by every instance on it.
    pub fn in_database(scope: &'static str, limit: usize, window: TimeDelta, pool: DbPool) -> Self {
        Throttle {
            scope,
            limit,
            window,
            store: Store::Database(pool),
            refused: None,
        }
    }

    /// Counts every refusal in `metrics`.
    pub fn counted(mut self, metrics: &Metrics) -> Self {
        self.refused = Some(metrics.throttled(self.scope));
        self
    }

    /// Checks and counts one attempt for `key` in one step.
    pub async fn reserve(
        &self,
        key: &str,
        now: NaiveDateTime,
    ) -> Result<Reservation<'_>, ThrottleError> {
        let outcome = self.check_and_count(key, now).await;
        if let (Err(ThrottleError::Exceeded(_)), Some(refused)) = (&outcome, &self.refused) {
            refused.inc();
        }
        outcome
    }

    async fn check_and_count(
        &self,
        key: &str,
        now: NaiveDateTime,
    ) -> Result<Reservation<'_>, ThrottleError> {
        let key: String = key.chars().take(200).collect();
        let id = match &self.store {
            Store::Memory(keys) => {
                let mut keys = keys
                    .lock()
                    .map_err(|_| anyhow::anyhow!("a throttle's lock is poisoned"))?;
                let times = keys.get_or_insert_mut(key.clone(), VecDeque::new);
                let start = now - self.window;
                while times.front().is_some_and(|t| *t <= start) {
                    times.pop_front();
                }
                if let Some(oldest) = times.front().filter(|_| times.len() >= self.limit) {
                    return Err(ThrottleError::Exceeded(self.wait(*oldest, now)));
                }
                times.push_back(now);
                None
            }
            Store::Database(pool) => {
                let (scope, limit, window) = (self.scope, self.limit, self.window);
                let key = key.clone();
                let outcome = db::run(pool, move |conn| {
                    db::throttle::reserve(conn, scope, &key, limit, now - window, now)
                })
                .await?;
                match outcome {
                    Ok(id) => Some(id),
                    Err(oldest) => return Err(ThrottleError::Exceeded(self.wait(oldest, now))),
                }
            }
        };
        Ok(Reservation {
            throttle: self,
            key,
            at: now,
            id,
        })
    }

    /// Forgets every attempt of `key`: its owner has just proven who they are.
    pub async fn clear(&self, key: &str) {
        let key: String = key.chars().take(200).collect();
        match &self.store {
            Store::Memory(keys) => {
                if let Ok(mut keys) = keys.lock() {
                    keys.pop(&key);
                }
            }
            Store::Database(pool) => {
                let scope = self.scope;
                let cleared = db::run(pool, move |conn| db::throttle::clear(conn, scope, &key));
                if let Err(e) = cleared.await {
                    tracing::warn!(error = %e, "clearing a throttle key failed");
                }
            }
        }
    }

    async fn forget(&self, key: &str, at: NaiveDateTime, id: Option<i64>) {
        match (&self.store, id) {
            (Store::Memory(keys), _) => {
                if let Ok(mut keys) = keys.lock() {
                    if let Some(times) = keys.peek_mut(key) {
                        if let Some(i) = times.iter().rposition(|t| *t == at) {
                            times.remove(i);
                        }
                    }
                }
            }
            (Store::Database(pool), Some(id)) => {
                let released = db::run(pool, move |conn| db::throttle::release(conn, id));
                if let Err(e) = released.await {
                    tracing::warn!(error = %e, "releasing a throttle reservation failed");
                }
            }
            (Store::Database(_), None) => {}
        }
    }

    /// Seconds until the oldest counted attempt leaves the window.
    fn wait(&self, oldest: NaiveDateTime, now: NaiveDateTime) -> i64 {
        (oldest + self.window - now).num_seconds().max(1)
    }
}

/// The throttles of every place a guess costs a bcrypt, or an account. Addresses get five times
/// the allowance of accounts and secrets, because many honest people can share one address
/// (offices, carrier NAT) while an account or a secret is one target.
#[derive(Debug)]
pub struct Throttles {
    /// Password checks per account (by the email typed, whether or not it exists), for log-in
    /// and the current-password check alike.
    pub password_account: Throttle,
    /// Password checks per client address.
    pub password_address: Throttle,
    /// Secret checks per (client id, secret public id): the only key a guess can count against,
    /// so a guesser who knows only a client id cannot lock its real secrets out.
    pub client_secret: Throttle,
    /// Failed client authentications per client address, of every kind.
    pub client_address: Throttle,
    /// Sign-ups per client address, successful or not.
    pub signup_address: Throttle,
    /// Second-factor codes per account (by id), at log-in and for sensitive actions alike.
    pub second_factor: Throttle,
    /// Mailed links (password resets, verification mails) per email typed, sent or not.
    pub mail_account: Throttle,
    /// Password reset requests per client address.
    pub mail_address: Throttle,
    /// Passkey log-ins started per client address (each stores a challenge).
    pub passkey_address: Throttle,
    /// Refused API tokens per client address.
    pub api_address: Throttle,
    /// JWKS URLs fetched for an app from the add form or the API, fetched or not: a person
    /// needs a few tries, and the form must not become a way to probe addresses.
    pub jwks_app: Throttle,
}

/// The window every throttle counts in.
pub const WINDOW: TimeDelta = TimeDelta::minutes(15);

impl Throttles {
    /// In memory (`pool: None`), or in the database behind `pool`.
    pub fn new(limit: usize, pool: Option<DbPool>, metrics: &Metrics) -> Self {
        let make = |scope, limit| {
            match &pool {
                None => Throttle::in_memory(scope, limit, WINDOW),
                Some(pool) => Throttle::in_database(scope, limit, WINDOW, pool.clone()),
            }
            .counted(metrics)
        };
        Throttles {
            password_account: make("password_account", limit),
            password_address: make("password_address", limit * 5),
            client_secret: make("client_secret", limit),
            client_address: make("client_address", limit * 5),
            signup_address: make("signup_address", limit * 5),
            second_factor: make("second_factor", limit),
            // A person needs a mail or two; these only keep mailboxes from being flooded.
            mail_account: make("mail_account", limit.div_ceil(2)),
            mail_address: make("mail_address", limit * 5),
            passkey_address: make("passkey_address", limit * 5),
            api_address: make("api_address", limit * 5),
            jwks_app: make("jwks_app", limit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    #[tokio::test]
    async fn the_eleventh_attempt_waits_for_the_oldest_to_age_out() {
        let throttle = Throttle::in_memory("t", 10, TimeDelta::minutes(15));
        let start = start();
        for i in 0..10 {
            // Dropped, so each counts as a failure.
            let _ = throttle
                .reserve("k", start + TimeDelta::seconds(i))
                .await
                .unwrap();
        }
        let refused = throttle.reserve("k", start + TimeDelta::seconds(10)).await;
        assert!(matches!(refused, Err(ThrottleError::Exceeded(w)) if w == 15 * 60 - 10));
        assert!(throttle.reserve("other", start).await.is_ok());
        assert!(throttle
            .reserve("k", start + TimeDelta::minutes(15))
            .await
            .is_ok());
        throttle.clear("k").await;
        assert!(throttle
            .reserve("k", start + TimeDelta::seconds(11))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_full_throttle_forgets_the_least_recently_used_key_without_a_scan() {
        let throttle = Throttle::in_memory_with("t", 1, TimeDelta::minutes(15), 2);
        let now = start();
        let _ = throttle.reserve("a", now).await.unwrap();
        let _ = throttle.reserve("b", now).await.unwrap();
        assert!(throttle.reserve("a", now).await.is_err(), "a is used again");

        let _ = throttle.reserve("c", now).await.unwrap();

        assert!(throttle.reserve("a", now).await.is_err(), "kept");
        assert!(throttle.reserve("b", now).await.is_ok(), "evicted");
    }

    #[tokio::test]
    async fn a_released_attempt_does_not_count() {
        let throttle = Throttle::in_memory("t", 1, TimeDelta::minutes(15));
        let now = start();
        let first = throttle.reserve("k", now).await.unwrap();
        assert!(
            throttle.reserve("k", now).await.is_err(),
            "in flight counts"
        );
        first.release().await;
        assert!(throttle.reserve("k", now).await.is_ok());
    }
}
