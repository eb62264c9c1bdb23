//! The proven-secret cache: presented strings that bcrypt already accepted in this process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Presented secrets already proven by bcrypt in this process, keyed by the SHA-256 of the
/// presented string, mapped to their row. A hit skips bcrypt; the secret's status is still read
/// from the database on every request, so a revoke takes effect at once on every instance.
/// Failures are never remembered. Bounded: when full, the least recently used entry goes, so a
/// busy client's secret stays proven however many others come and go.
#[derive(Debug)]
pub struct VerifiedSecrets {
    proven: Mutex<lru::LruCache<[u8; 32], i32>>,
    /// One bcrypt at a time per presented string: after a restart, a burst of requests with
    /// the same secret costs one bcrypt, not one each.
    in_flight: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
}

const MAX_VERIFIED: usize = 10_000;

impl Default for VerifiedSecrets {
    fn default() -> Self {
        Self::with_capacity(MAX_VERIFIED)
    }
}

impl VerifiedSecrets {
    pub(super) fn with_capacity(capacity: usize) -> Self {
        let capacity = std::num::NonZeroUsize::new(capacity).unwrap_or(std::num::NonZeroUsize::MIN);
        VerifiedSecrets {
            proven: Mutex::new(lru::LruCache::new(capacity)),
            in_flight: Mutex::default(),
        }
    }

    fn key(presented: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(presented.as_bytes()).into()
    }

    pub(super) fn proves(&self, presented: &str, secret_id: i32) -> bool {
        self.proven
            .lock()
            .map(|mut known| known.get(&Self::key(presented)) == Some(&secret_id))
            .unwrap_or(false)
    }

    /// The gate that lets one bcrypt of `presented` run at a time.
    pub(super) fn gate(&self, presented: &str) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let mut in_flight = self.in_flight.lock().ok()?;
        Some(in_flight.entry(Self::key(presented)).or_default().clone())
    }

    pub(super) fn release(&self, presented: &str, gate: Arc<tokio::sync::Mutex<()>>) {
        if let Ok(mut in_flight) = self.in_flight.lock() {
            // Ours and the map's: nobody else is waiting.
            if Arc::strong_count(&gate) <= 2 {
                in_flight.remove(&Self::key(presented));
            }
        }
    }

    pub(super) fn remember(&self, presented: &str, secret_id: i32) {
        if let Ok(mut known) = self.proven.lock() {
            known.put(Self::key(presented), secret_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::VerifiedSecrets;

    #[test]
    fn a_full_proven_secret_cache_forgets_the_least_recently_used_secret_only() {
        let cache = VerifiedSecrets::with_capacity(2);
        cache.remember("busy", 1);
        cache.remember("idle", 2);
        assert!(cache.proves("busy", 1));

        cache.remember("new", 3);

        assert!(cache.proves("busy", 1), "used lately, kept");
        assert!(cache.proves("new", 3));
        assert!(!cache.proves("idle", 2), "least recently used, forgotten");
    }
}
