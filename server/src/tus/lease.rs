//! An upload's lease in the database ([`UploadLeaseStore`]): what makes one server process at
//! a time write to an upload, whichever process each request reaches. A request that holds
//! the upload's in-process lock ([`super::service::Slots`]) takes the lease before it touches
//! the upload, renews it every third of the lease's length (`MediaConfig::lease`, 30 s) while
//! it works, and gives it back when done. A process that dies holding one (killed mid-`PATCH`)
//! leaves it to lapse; until then the upload answers `423 Locked`, which clients retry.
//!
//! A holder that could not renew in time (its database unreachable for a lease's length) may have
//! lost the lease to another process: it then refuses to count what it wrote
//! ([`UploadLease::still_held`] before each offset it saves), and the database refuses the save
//! too: an upload's row takes a new offset only from the live lease's holder and only over
//! the offset that holder read (`storage::UploadStore::save_upload`). Bytes two holders wrote
//! over each other in that window can only end in a whole-file hash that does not match,
//! which stores nothing: the file is never stored with wrong bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use siteproof_core::model::now;

use super::error::TusError;
use crate::storage::UploadLeaseStore;

/// How long a request waits between two tries of a lease another process holds.
const RETRY_EVERY: Duration = Duration::from_millis(50);

/// Upload `id`'s lease, held by this process until dropped.
pub(super) struct UploadLease {
    id: String,
    holder: Arc<str>,
    leases: Arc<dyn UploadLeaseStore>,
    renewer: tokio::task::JoinHandle<()>,
    lost: Arc<AtomicBool>,
}

impl UploadLease {
    /// Takes upload `id`'s lease for a holder of its own (so a lease this process gave back
    /// late never removes a later one), trying until `wait` has passed (then
    /// [`TusError::Locked`]).
    pub(super) async fn take(
        leases: &Arc<dyn UploadLeaseStore>,
        id: &str,
        length: Duration,
        wait: Duration,
    ) -> Result<Self, TusError> {
        let holder: Arc<str> = uuid::Uuid::new_v4().simple().to_string().into();
        let holder = &holder;
        let deadline = Instant::now() + wait;
        while !take_once(leases.as_ref(), id, holder, length).await? {
            if Instant::now() + RETRY_EVERY > deadline {
                return Err(TusError::Locked);
            }
            tokio::time::sleep(RETRY_EVERY).await;
        }
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = {
            let (leases, holder, id) = (Arc::clone(leases), Arc::clone(holder), id.to_owned());
            let lost = Arc::clone(&lost);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(length / 3).await;
                    match take_once(leases.as_ref(), &id, &holder, length).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::error!(upload = %id, "the upload's lease passed to another process");
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        // Tried again at the next turn; the lease lapses only after `length`.
                        Err(e) => {
                            tracing::warn!(upload = %id, error = %e, "renewing an upload's lease failed")
                        }
                    }
                }
            })
        };
        Ok(Self {
            id: id.to_owned(),
            holder: Arc::clone(holder),
            leases: Arc::clone(leases),
            renewer,
            lost,
        })
    }

    /// The holder's name in the lease's row.
    pub(super) fn holder(&self) -> &str {
        &self.holder
    }

    /// `Ok` while the lease is this process's; [`TusError::Locked`] once another took it.
    pub(super) fn still_held(&self) -> Result<(), TusError> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(TusError::Locked);
        }
        Ok(())
    }
}

impl Drop for UploadLease {
    fn drop(&mut self) {
        self.renewer.abort();
        if self.lost.load(Ordering::SeqCst) {
            return;
        }
        let (leases, holder, id) = (
            Arc::clone(&self.leases),
            Arc::clone(&self.holder),
            std::mem::take(&mut self.id),
        );
        // Given back at once; if that fails the lease lapses by itself.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = leases.release_lease(&id, &holder).await {
                    tracing::warn!(upload = %id, error = %e, "giving an upload's lease back failed");
                }
            });
        }
    }
}

async fn take_once(
    leases: &dyn UploadLeaseStore,
    id: &str,
    holder: &str,
    length: Duration,
) -> Result<bool, TusError> {
    let at = now();
    let until = at.saturating_add(i64::try_from(length.as_millis()).unwrap_or(i64::MAX));
    Ok(leases.take_lease(id, holder, at, until).await?)
}
