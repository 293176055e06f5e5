//! Background compaction: after a push leaves a record's snapshot behind, the record is queued
//! here and re-saved off the request path. Records queued several times before their turn are
//! saved once. A pull that meets a record still behind compacts it itself.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use siteproof_core::RecordId;
use tokio::sync::mpsc;

use super::doc_cache::{CachedDoc, DocCache, load_current};
use crate::error::Result;
use crate::storage::SyncStorage;

/// Queues records for compaction; the worker task starts with the first request.
pub(crate) struct Compactor {
    storage: Arc<dyn SyncStorage>,
    cache: Arc<DocCache>,
    queue: OnceLock<mpsc::UnboundedSender<Job>>,
}

/// A record to compact, or a snapshot already made (by a pull) to store.
enum Job {
    Compact(RecordId),
    Store {
        id: RecordId,
        seq: u64,
        bytes: Vec<u8>,
    },
}

impl Compactor {
    /// A compactor over the service's storage and cache.
    pub fn new(storage: Arc<dyn SyncStorage>, cache: Arc<DocCache>) -> Self {
        Self {
            storage,
            cache,
            queue: OnceLock::new(),
        }
    }

    /// Queues a record. Must be called within a tokio runtime (it is: from a request).
    pub fn request(&self, id: RecordId) {
        self.send(Job::Compact(id));
    }

    /// Queues a snapshot made elsewhere, covering every change of `id` up to `seq`.
    pub fn store(&self, id: RecordId, seq: u64, bytes: Vec<u8>) {
        self.send(Job::Store { id, seq, bytes });
    }

    fn send(&self, job: Job) {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run(rx, Arc::clone(&self.storage), Arc::clone(&self.cache)));
            tx
        });
        // The worker ends only with the runtime; then nothing is lost but a snapshot.
        let _ = queue.send(job);
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Job>,
    storage: Arc<dyn SyncStorage>,
    cache: Arc<DocCache>,
) {
    while let Some(first) = rx.recv().await {
        let mut ids = HashSet::new();
        let mut job = Some(first);
        while let Some(next) = job.take().or_else(|| rx.try_recv().ok()) {
            match next {
                Job::Compact(id) => {
                    ids.insert(id);
                }
                Job::Store { id, seq, bytes } => {
                    if let Err(e) = storage.put_snapshot(&id, seq, &bytes).await {
                        tracing::warn!(record = %id, error = %e, "storing a snapshot failed");
                    }
                }
            }
        }
        for id in ids {
            let mut entry = match cache.lock(&id).await {
                Ok(entry) => entry,
                Err(e) => {
                    tracing::warn!(record = %id, error = %e, "compaction: cache unavailable");
                    continue;
                }
            };
            let result = async {
                if load_current(storage.as_ref(), &id, &mut entry).await?
                    && let Some(cached) = entry.as_mut()
                    && cached.wants_snapshot()
                {
                    refresh_snapshot(storage.as_ref(), &id, cached).await?;
                }
                Ok::<_, crate::error::Error>(())
            }
            .await;
            if let Err(e) = result {
                tracing::warn!(record = %id, error = %e, "compaction failed");
                *entry = None;
            }
        }
    }
}

/// Catches the entry up with storage and stores a fresh snapshot of it.
pub(crate) async fn refresh_snapshot(
    storage: &dyn SyncStorage,
    id: &RecordId,
    cached: &mut CachedDoc,
) -> Result<()> {
    let changes = storage.changes_after(id, cached.seq).await?;
    cached.catch_up(changes)?;
    let bytes = cached.save();
    storage.put_snapshot(id, cached.seq, &bytes).await?;
    cached.snapshot_len = bytes.len();
    cached.tail_len = 0;
    Ok(())
}
