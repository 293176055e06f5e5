//! The one rate limiter: hits counted per key in a sliding window, in memory (a restart
//! forgets, which is acceptable for throttling). [`Throttle`] counts failed logins and
//! enrollments with it; the public lead form's gate (`backoffice/leads/gate.rs`) counts
//! submissions.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Hits per key in the last `window`.
pub struct RateLimiter<K> {
    window: Duration,
    hits: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    /// A limiter over `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// The map with hits older than the window dropped (and keys with none forgotten).
    fn fresh(&self) -> MutexGuard<'_, HashMap<K, VecDeque<Instant>>> {
        // Counters only: a panic elsewhere leaves them usable.
        let mut map = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, q| {
            while q
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                q.pop_front();
            }
            !q.is_empty()
        });
        map
    }

    /// Whether every key has fewer hits than its limit.
    pub fn allows(&self, keys: &[(K, usize)]) -> bool {
        let map = self.fresh();
        keys.iter()
            .all(|(k, limit)| map.get(k).is_none_or(|q| q.len() < *limit))
    }

    /// Counts a hit on each key.
    pub fn hit(&self, keys: &[K]) {
        let mut map = self.fresh();
        let now = Instant::now();
        for k in keys {
            map.entry(k.clone()).or_default().push_back(now);
        }
    }

    /// Counts a hit on every key if each is below its limit; otherwise counts nothing and
    /// returns the index of the first key at its limit.
    pub fn admit(&self, keys: &[(K, usize)]) -> Result<(), usize> {
        let mut map = self.fresh();
        if let Some(full) = keys
            .iter()
            .position(|(k, limit)| map.get(k).is_some_and(|q| q.len() >= *limit))
        {
            return Err(full);
        }
        let now = Instant::now();
        for (k, _) in keys {
            map.entry(k.clone()).or_default().push_back(now);
        }
        Ok(())
    }

    /// Forgets a key's hits.
    pub fn clear(&self, key: &K) {
        self.fresh().remove(key);
    }

    /// Forgets the hits of every key matching `pred`.
    pub fn clear_where(&self, pred: impl Fn(&K) -> bool) {
        self.fresh().retain(|k, _| !pred(k));
    }

    /// Takes back a key's newest hit (an attempt that turned out to be legitimate).
    pub fn refund(&self, key: &K) {
        if let Some(q) = self.fresh().get_mut(key) {
            q.pop_back();
        }
    }
}

/// What the HTTP layer passes when it does not know the client's address.
pub const UNKNOWN_ADDRESS: &str = "unknown";

/// Failed attempts (logins, enrollments) counted per account and per client address; past
/// either limit an attempt is refused until the window passes.
pub struct Throttle {
    per_account: usize,
    per_address: usize,
    failures: RateLimiter<String>,
}

impl Throttle {
    /// `per_account` and `per_address` failures allowed per `window`.
    pub fn new(window: Duration, per_account: u32, per_address: u32) -> Self {
        Self {
            per_account: per_account as usize,
            per_address: per_address as usize,
            failures: RateLimiter::new(window),
        }
    }

    /// The counters an attempt touches: the account's, and the address's when it is known
    /// (an unknown address must not become one bucket shared by every client).
    fn keys(&self, login: &str, address: &str) -> Vec<(String, usize)> {
        let mut keys = vec![(
            format!("account:{}", login.to_lowercase()),
            self.per_account,
        )];
        if address != UNKNOWN_ADDRESS {
            keys.push((format!("address:{address}"), self.per_address));
        }
        keys
    }

    /// Whether an attempt for `login` from `address` may proceed now.
    pub fn allows(&self, login: &str, address: &str) -> bool {
        self.failures.allows(&self.keys(login, address))
    }

    /// Counts a failed attempt.
    pub fn failed(&self, login: &str, address: &str) {
        let keys: Vec<String> = self
            .keys(login, address)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        self.failures.hit(&keys);
    }

    /// Forgets the account's failures after a successful attempt.
    pub fn succeeded(&self, login: &str) {
        self.failures
            .clear(&format!("account:{}", login.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_blocks_after_the_limit_per_account_and_per_known_address() {
        let t = Throttle::new(Duration::from_secs(60), 3, 10);
        for _ in 0..3 {
            assert!(t.allows("alice", "1.2.3.4"));
            t.failed("alice", "1.2.3.4");
        }
        assert!(!t.allows("alice", "5.6.7.8"), "account limit");
        assert!(t.allows("bob", "1.2.3.4"));
        t.succeeded("alice");
        assert!(
            t.allows("alice", "5.6.7.8"),
            "a success forgets the account"
        );
        for i in 0..10 {
            t.failed(&format!("user{i}"), "9.9.9.9");
            t.failed(&format!("user{i}"), UNKNOWN_ADDRESS);
        }
        assert!(!t.allows("carol", "9.9.9.9"), "address limit");
        assert!(
            t.allows("carol", UNKNOWN_ADDRESS),
            "no shared bucket for unknown addresses"
        );
    }

    #[test]
    fn admit_counts_all_keys_or_none_and_the_window_forgets() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        assert_eq!(limiter.admit(&[("all", 2), ("a", 1)]), Ok(()));
        assert_eq!(limiter.admit(&[("all", 2), ("a", 1)]), Err(1));
        assert_eq!(limiter.admit(&[("all", 2), ("b", 1)]), Ok(()));
        assert_eq!(limiter.admit(&[("all", 2), ("c", 1)]), Err(0));
        let short = RateLimiter::new(Duration::ZERO);
        assert_eq!(short.admit(&[("a", 1)]), Ok(()));
        assert_eq!(short.admit(&[("a", 1)]), Ok(()), "the window has passed");
    }
}
