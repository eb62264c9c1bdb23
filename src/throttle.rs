//! Failure counting for login and client authentication. In memory, per process: a restart
//! forgets the counts (and with them any lock-out), and several instances each count their own.
//! Keys never hold a secret: an email, a client id or an address.

use chrono::{NaiveDateTime, TimeDelta};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Beyond this many tracked keys, keys with no failure left in the window are dropped.
const MAX_KEYS: usize = 100_000;

/// At most `limit` failures per key within `window`; then refused until the oldest one ages out.
#[derive(Debug)]
pub struct Throttle {
    limit: usize,
    window: TimeDelta,
    failures: Mutex<HashMap<String, VecDeque<NaiveDateTime>>>,
}

impl Throttle {
    pub fn new(limit: usize, window: TimeDelta) -> Self {
        Throttle {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds)` to wait if `key` has used up its failures.
    pub fn check(&self, key: &str, now: NaiveDateTime) -> Result<(), i64> {
        let Ok(mut failures) = self.failures.lock() else {
            return Ok(());
        };
        let Some(times) = failures.get_mut(key) else {
            return Ok(());
        };
        let start = now - self.window;
        while times.front().is_some_and(|t| *t <= start) {
            times.pop_front();
        }
        match times.front() {
            Some(oldest) if times.len() >= self.limit => {
                Err((*oldest + self.window - now).num_seconds().max(1))
            }
            _ => Ok(()),
        }
    }

    pub fn fail(&self, key: &str, now: NaiveDateTime) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_KEYS && !failures.contains_key(key) {
            let start = now - self.window;
            failures.retain(|_, times| times.back().is_some_and(|t| *t > start));
        }
        let times = failures.entry(key.to_owned()).or_default();
        times.push_back(now);
        // Only the newest `limit` failures matter.
        while times.len() > self.limit {
            times.pop_front();
        }
    }

    pub fn clear(&self, key: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }
}

/// The throttles of the two places a guess costs a bcrypt. Addresses get five times the
/// allowance of accounts and client ids, because many honest people can share one address
/// (offices, carrier NAT) while an account or client id is one target.
#[derive(Debug)]
pub struct Throttles {
    /// Failed logins per account (by the email typed, whether or not it exists).
    pub login_account: Throttle,
    /// Failed logins per client address.
    pub login_address: Throttle,
    /// Failed client authentications per client id.
    pub client_id: Throttle,
    /// Failed client authentications per client address.
    pub client_address: Throttle,
}

impl Throttles {
    pub fn new(limit: usize, window: TimeDelta) -> Self {
        Throttles {
            login_account: Throttle::new(limit, window),
            login_address: Throttle::new(limit * 5, window),
            client_id: Throttle::new(limit, window),
            client_address: Throttle::new(limit * 5, window),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_failure_waits_for_the_oldest_to_age_out() {
        let throttle = Throttle::new(10, TimeDelta::minutes(15));
        let start = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        for i in 0..10 {
            assert!(throttle.check("k", start + TimeDelta::seconds(i)).is_ok());
            throttle.fail("k", start + TimeDelta::seconds(i));
        }
        assert_eq!(
            throttle.check("k", start + TimeDelta::seconds(10)),
            Err(15 * 60 - 10)
        );
        assert!(throttle.check("other", start).is_ok());
        assert!(throttle.check("k", start + TimeDelta::minutes(15)).is_ok());
        throttle.clear("k");
        assert!(throttle.check("k", start + TimeDelta::seconds(11)).is_ok());
    }
}
