//! The one rate limiter: hits counted per key in a sliding window, in the database
//! ([`RateStore`]), so a limit holds across every server process on it. [`Throttle`] counts
//! refused enrollments with it; the login guard (`login_guard.rs`) counts login attempts, and
//! the public lead form's gate (`backoffice/leads/gate.rs`) counts submissions.
//!
//! A refusal is remembered in the process until the full key's oldest hit expires: a flood
//! from one address past its limit is turned away without a database round trip, and since
//! nothing can be admitted on that key before then, the remembered refusal is never wrong
//! about the count (only an unlock or a success on another process, which lower it early, is
//! seen late: at the latest when the remembered refusal runs out).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::error::Result;
use crate::storage::{Admission, RateKey, RateStore};

/// Remembered refusals kept before expired ones are swept out.
const REMEMBERED_FLOOR: usize = 1024;

/// Counters over a [`RateStore`], with the refusals this process has seen.
pub struct RateLimiter {
    store: Arc<dyn RateStore>,
    full: Mutex<FullKeys>,
}

/// Keys known to be at their limit, and until when (ms since the Unix epoch).
#[derive(Default)]
struct FullKeys {
    until: HashMap<String, i64>,
    /// Above this size, a new entry first sweeps out the expired ones.
    sweep_at: usize,
}

/// One counter: `key`, `limit` hits per `window`.
pub fn rate_key(key: String, limit: usize, window: Duration) -> RateKey {
    RateKey {
        key,
        limit: u32::try_from(limit).unwrap_or(u32::MAX),
        window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
    }
}

impl RateLimiter {
    /// A limiter counting in `store`.
    pub fn new(store: Arc<dyn RateStore>) -> Self {
        Self {
            store,
            full: Mutex::new(FullKeys {
                until: HashMap::new(),
                sweep_at: REMEMBERED_FLOOR,
            }),
        }
    }

    fn full(&self) -> MutexGuard<'_, FullKeys> {
        // A cache only: a panic elsewhere leaves it usable.
        self.full.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first key this process saw refused that is still full at `now`.
    fn known_full(&self, keys: &[RateKey], now: i64) -> Option<usize> {
        let full = self.full();
        keys.iter()
            .position(|k| full.until.get(&k.key).is_some_and(|until| *until > now))
    }

    fn remember(&self, key: &str, until: i64, now: i64) {
        let mut full = self.full();
        if full.until.len() >= full.sweep_at {
            full.until.retain(|_, t| *t > now);
            full.sweep_at = (full.until.len() * 2).max(REMEMBERED_FLOOR);
        }
        full.until.insert(key.to_owned(), until);
    }

    /// Drops the remembered refusals of the keys matching `pred` (the counters stay): the next
    /// admission on them asks the store.
    pub fn forget_remembered(&self, pred: impl Fn(&str) -> bool) {
        self.full().until.retain(|k, _| !pred(k));
    }

    /// Counts a hit on every key if each is below its limit; otherwise counts nothing and
    /// returns the index of the first key at its limit.
    pub async fn admit(&self, keys: &[RateKey]) -> Result<std::result::Result<(), usize>> {
        let now = siteproof_core::now();
        if let Some(index) = self.known_full(keys, now) {
            return Ok(Err(index));
        }
        match self.store.admit(keys, now).await? {
            Admission::Admitted => Ok(Ok(())),
            Admission::Refused { index, until } => {
                self.remember(&keys[index].key, until, now);
                Ok(Err(index))
            }
        }
    }

    /// Whether every key has fewer hits than its limit (counting nothing).
    pub async fn allows(&self, keys: &[RateKey]) -> Result<bool> {
        let now = siteproof_core::now();
        if self.known_full(keys, now).is_some() {
            return Ok(false);
        }
        for k in keys {
            let (count, oldest) = self.store.live_hits(&k.key, now).await?;
            if count >= k.limit {
                self.remember(&k.key, oldest.unwrap_or(now), now);
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Forgets these keys' hits.
    pub async fn clear(&self, keys: &[String]) -> Result<()> {
        self.forget_remembered(|k| keys.iter().any(|c| c == k));
        Ok(self.store.clear(keys).await?)
    }

    /// Forgets the hits of every key starting with `prefix`.
    pub async fn clear_prefix(&self, prefix: &str) -> Result<()> {
        self.forget_remembered(|k| k.starts_with(prefix));
        Ok(self.store.clear_prefix(prefix).await?)
    }

    /// Takes back a key's newest hit (an attempt that turned out to be legitimate).
    pub async fn refund(&self, key: &str) -> Result<()> {
        self.forget_remembered(|k| k == key);
        Ok(self.store.refund(key).await?)
    }

    /// The store, for what is kept beside the counters (login unlocks).
    pub fn store(&self) -> &Arc<dyn RateStore> {
        &self.store
    }
}

/// What the HTTP layer passes when it does not know the client's address.
pub const UNKNOWN_ADDRESS: &str = "unknown";

/// Failed attempts counted per client address (`what` names the counter: `enroll`); past the
/// limit an attempt is refused until the window passes. An unknown address is not counted: it
/// must not become one bucket shared by every client.
pub struct Throttle {
    what: &'static str,
    per_address: usize,
    window: Duration,
    failures: RateLimiter,
}

impl Throttle {
    /// `per_address` failures allowed per `window`, counted in `store`.
    pub fn new(
        what: &'static str,
        window: Duration,
        per_address: u32,
        store: Arc<dyn RateStore>,
    ) -> Self {
        Self {
            what,
            per_address: per_address as usize,
            window,
            failures: RateLimiter::new(store),
        }
    }

    fn keys(&self, address: &str) -> Vec<RateKey> {
        if address == UNKNOWN_ADDRESS {
            return Vec::new();
        }
        vec![rate_key(
            format!("{}:address:{address}", self.what),
            self.per_address,
            self.window,
        )]
    }

    /// Whether an attempt from `address` may proceed now.
    pub async fn allows(&self, address: &str) -> Result<bool> {
        self.failures.allows(&self.keys(address)).await
    }

    /// Counts a failed attempt.
    pub async fn failed(&self, address: &str) -> Result<()> {
        let mut keys = self.keys(address);
        for k in &mut keys {
            // Every failure counts, past the limit too (attempts racing the check).
            k.limit = u32::MAX;
        }
        if !keys.is_empty() {
            let _ = self.failures.admit(&keys).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStorage;

    fn store(dir: &tempfile::TempDir) -> Arc<dyn RateStore> {
        Arc::new(SqliteStorage::open(dir.path().join("siteproof.db")).expect("storage"))
    }

    #[tokio::test]
    async fn throttle_blocks_after_the_limit_per_known_address() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = Throttle::new("enroll", Duration::from_secs(60), 3, store(&dir));
        for _ in 0..3 {
            assert!(t.allows("1.2.3.4").await.expect("allows"));
            t.failed("1.2.3.4").await.expect("failed");
            t.failed(UNKNOWN_ADDRESS).await.expect("failed");
        }
        assert!(!t.allows("1.2.3.4").await.expect("allows"), "address limit");
        assert!(t.allows("5.6.7.8").await.expect("allows"));
        assert!(
            t.allows(UNKNOWN_ADDRESS).await.expect("allows"),
            "no shared bucket for unknown addresses"
        );
    }

    #[tokio::test]
    async fn admit_counts_all_keys_or_none_and_the_window_forgets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let limiter = RateLimiter::new(store(&dir));
        let minute = Duration::from_secs(60);
        let keys = |other: &str, other_limit| {
            vec![
                rate_key("all".into(), 2, minute),
                rate_key(other.into(), other_limit, minute),
            ]
        };
        assert_eq!(limiter.admit(&keys("a", 1)).await.expect("admit"), Ok(()));
        assert_eq!(limiter.admit(&keys("a", 1)).await.expect("admit"), Err(1));
        assert_eq!(limiter.admit(&keys("b", 1)).await.expect("admit"), Ok(()));
        assert_eq!(limiter.admit(&keys("c", 1)).await.expect("admit"), Err(0));
        let short = [rate_key("s".into(), 1, Duration::ZERO)];
        assert_eq!(limiter.admit(&short).await.expect("admit"), Ok(()));
        assert_eq!(
            limiter.admit(&short).await.expect("admit"),
            Ok(()),
            "the window has passed"
        );
    }

    #[tokio::test]
    async fn a_refusal_is_remembered_until_the_oldest_hit_expires_and_a_clear_forgets_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = store(&dir);
        let limiter = RateLimiter::new(Arc::clone(&storage));
        let key = [rate_key("k".into(), 1, Duration::from_secs(60))];
        assert_eq!(limiter.admit(&key).await.expect("admit"), Ok(()));
        assert_eq!(limiter.admit(&key).await.expect("admit"), Err(0));
        // Another process clears the key: this one still refuses from memory...
        storage.clear(&["k".into()]).await.expect("clear");
        assert_eq!(limiter.admit(&key).await.expect("admit"), Err(0));
        // ...until it clears the key itself.
        limiter.clear(&["k".into()]).await.expect("clear");
        assert_eq!(limiter.admit(&key).await.expect("admit"), Ok(()));
    }
}
