//! [`RateStore`]: the counters behind login, enrollment and lead-form throttling, kept in the
//! database so that a limit holds across every server process on it. A counter is a key's
//! hits that have not expired yet (a sliding window: each hit expires `window` after it was
//! counted); expired hits are pruned as new ones arrive, so the table holds only live hits.
//!
//! Times are milliseconds since the Unix epoch on the calling process's clock (processes on
//! one database are expected to keep their clocks in step, as for every other timestamp).

use async_trait::async_trait;

use super::StorageResult;

/// One counter an attempt touches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateKey {
    /// The counter's name (`login:address:10.0.0.1`, ...).
    pub key: String,
    /// Hits allowed at once; `u32::MAX` counts without limiting.
    pub limit: u32,
    /// How long a hit counts, in ms.
    pub window_ms: i64,
}

/// What [`RateStore::admit`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// A hit was counted on every key.
    Admitted,
    /// Nothing was counted: the key at `index` holds its limit of hits, the oldest of which
    /// expires at `until` (no attempt touching that key can be admitted before then).
    Refused {
        /// The first full key's position in the request.
        index: usize,
        /// When its oldest live hit expires, ms since the Unix epoch.
        until: i64,
    },
}

/// Throttling counters and administrators' login unlocks.
#[async_trait]
pub trait RateStore: Send + Sync + 'static {
    /// Atomically, across processes: if every key has fewer live hits at `now` than its
    /// limit, counts one hit on each and admits; otherwise counts nothing. Two attempts
    /// arriving at once on two processes are both counted, so at most `limit` are admitted.
    async fn admit(&self, keys: &[RateKey], now: i64) -> StorageResult<Admission>;
    /// How many hits of `key` are live at `now`, and when the oldest of them expires.
    async fn live_hits(&self, key: &str, now: i64) -> StorageResult<(u32, Option<i64>)>;
    /// Forgets every hit of these keys.
    async fn clear(&self, keys: &[String]) -> StorageResult<()>;
    /// Forgets every hit of the keys starting with `prefix`.
    async fn clear_prefix(&self, prefix: &str) -> StorageResult<()>;
    /// Takes back the newest hit of `key` (an attempt that turned out to be legitimate).
    async fn refund(&self, key: &str) -> StorageResult<()>;
    /// Stores an administrator's unlock of a back-office login (lowercase) at `at`; a later
    /// unlock replaces an earlier one.
    async fn store_unlock(&self, login: &str, at: i64) -> StorageResult<()>;
    /// The newest unlock stored for a login.
    async fn unlock_of(&self, login: &str) -> StorageResult<Option<i64>>;
}

/// The hits a request counts, one row per key, with their expiry.
pub(super) fn hit_rows(keys: &[RateKey], now: i64) -> Vec<(&str, i64)> {
    keys.iter()
        .map(|k| (k.key.as_str(), now.saturating_add(k.window_ms)))
        .collect()
}

/// The first key at its limit, given each key's live hits and oldest expiry.
pub(super) fn first_full(
    keys: &[RateKey],
    live: impl Fn(&str) -> Option<(u32, i64)>,
) -> Option<Admission> {
    keys.iter().enumerate().find_map(|(index, k)| {
        live(&k.key)
            .filter(|(count, _)| *count >= k.limit)
            .map(|(_, until)| Admission::Refused { index, until })
    })
}
