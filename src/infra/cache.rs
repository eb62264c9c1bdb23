//! Read results reused while nothing they show has changed.
//!
//! Every change to apps, owners, secrets and activity bumps one generation number in the
//! database (triggers, see the migrations). A result computed at generation G is reused only
//! while a read of the generation still says G, so a change made on any instance is seen on the
//! very next request; and never across a second boundary, because pages compare times with
//! "now" (a scheduled revocation takes effect on time).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

pub struct GenerationCache<K, V> {
    entries: Mutex<HashMap<K, (i64, i64, V)>>,
    capacity: usize,
}

impl<K: Hash + Eq, V: Clone> GenerationCache<K, V> {
    pub fn new(capacity: usize) -> Self {
        GenerationCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The value stored for `key` at this generation and second, if any.
    pub fn get(&self, key: &K, generation: i64, second: i64) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        match entries.get(key) {
            Some((g, s, value)) if *g == generation && *s == second => Some(value.clone()),
            _ => None,
        }
    }

    pub fn put(&self, key: K, generation: i64, second: i64, value: V) {
        if let Ok(mut entries) = self.entries.lock() {
            // Everything is at most a second from stale anyway: starting over is fine.
            if entries.len() >= self.capacity && !entries.contains_key(&key) {
                entries.clear();
            }
            entries.insert(key, (generation, second, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_reused_only_at_its_generation_and_second() {
        let cache = GenerationCache::new(2);
        cache.put("a", 7, 100, 1);
        assert_eq!(cache.get(&"a", 7, 100), Some(1));
        assert_eq!(cache.get(&"a", 8, 100), None);
        assert_eq!(cache.get(&"a", 7, 101), None);
        assert_eq!(cache.get(&"b", 7, 100), None);
        cache.put("b", 7, 100, 2);
        cache.put("c", 7, 100, 3);
        assert_eq!(
            cache.get(&"c", 7, 100),
            Some(3),
            "bounded, and the newest is kept"
        );
    }
}
