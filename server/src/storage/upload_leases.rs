//! [`UploadLeaseStore`]: which server process may write to a tus upload now, kept in the
//! database every process shares, so a `PATCH` may reach any process and two never append to
//! one upload at once, and the expiry sweep never removes an upload a process is appending
//! to. A lease names its holder (one per process) and lasts until `expires_at`; its holder
//! renews it while it works and gives it back when done. A lease whose holder died lapses at
//! its expiry, and then another holder takes it.
//!
//! Times are milliseconds since the Unix epoch on the calling process's clock, as for the
//! throttling counters ([`super::RateStore`]).

use async_trait::async_trait;

use super::StorageResult;

/// Leases on tus uploads.
#[async_trait]
pub trait UploadLeaseStore: Send + Sync + 'static {
    /// Atomically, across processes: gives upload `id`'s lease to `holder` until `until`
    /// unless another holder's lease is live at `now` (expires after it). Returns whether
    /// `holder` holds it now; a holder taking its own lease again renews it.
    async fn take_lease(&self, id: &str, holder: &str, now: i64, until: i64)
    -> StorageResult<bool>;
    /// Gives upload `id`'s lease back, if `holder` holds it.
    async fn release_lease(&self, id: &str, holder: &str) -> StorageResult<()>;
}
