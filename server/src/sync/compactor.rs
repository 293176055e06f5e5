//! Background compaction: after a push leaves a record's snapshot behind, the record is queued
//! here and re-saved off the request path. Records queued several times before their turn are
//! saved once. A pull that meets a record still behind compacts it itself.
//!
//! [`Compactor::close`] stops taking work, lets the worker finish what is queued and waits for
//! it, so nothing writes to storage after the server has stopped.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use siteproof_core::RecordId;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::doc_cache::{CachedDoc, DocCache, load_current};
use crate::error::Result;
use crate::storage::SyncStorage;

/// Queues records for compaction; the worker task starts with the first request.
pub(crate) struct Compactor {
    storage: Arc<dyn SyncStorage>,
    cache: Arc<DocCache>,
    worker: Mutex<Worker>,
}

/// The worker task's lifecycle.
enum Worker {
    /// Nothing queued yet.
    Idle,
    /// Running: its queue and its task.
    Running(mpsc::UnboundedSender<Job>, JoinHandle<()>),
    /// Closed: later jobs are dropped (the next pull compacts what needs it).
    Closed,
}

/// A record to compact, or a snapshot already made (by a pull) to store.
enum Job {
    Compact(RecordId),
    Store {
        id: RecordId,
        seq: u64,
        bytes: Vec<u8>,
    },
    /// Answered once every job queued before it is done.
    Flush(oneshot::Sender<()>),
}

impl Compactor {
    /// A compactor over the service's storage and cache.
    pub fn new(storage: Arc<dyn SyncStorage>, cache: Arc<DocCache>) -> Self {
        Self {
            storage,
            cache,
            worker: Mutex::new(Worker::Idle),
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

    /// Waits until every job queued before this call is done.
    pub async fn flush(&self) {
        let (done, finished) = oneshot::channel();
        self.send(Job::Flush(done));
        // A closed compactor drops the job: nothing is left to wait for.
        let _ = finished.await;
    }

    /// Stops taking jobs, lets the worker finish the queued ones and waits for it.
    pub async fn close(&self) {
        let worker = match self.worker.lock() {
            Ok(mut w) => std::mem::replace(&mut *w, Worker::Closed),
            Err(_) => return,
        };
        if let Worker::Running(queue, task) = worker {
            drop(queue); // the worker drains what is queued, then ends
            if let Err(e) = task.await {
                tracing::error!(error = %e, "the compaction worker failed");
            }
        }
    }

    fn send(&self, job: Job) {
        let Ok(mut worker) = self.worker.lock() else {
            return;
        };
        if let Worker::Idle = *worker {
            let (tx, rx) = mpsc::unbounded_channel();
            let task = tokio::spawn(run(rx, Arc::clone(&self.storage), Arc::clone(&self.cache)));
            *worker = Worker::Running(tx, task);
        }
        match &*worker {
            // A closed queue loses nothing but a snapshot: the log holds every change.
            Worker::Running(queue, _) => {
                let _ = queue.send(job);
            }
            Worker::Idle | Worker::Closed => {
                tracing::debug!("compaction skipped: the server is stopping");
            }
        }
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Job>,
    storage: Arc<dyn SyncStorage>,
    cache: Arc<DocCache>,
) {
    while let Some(first) = rx.recv().await {
        let mut ids = HashSet::new();
        let mut flushes = Vec::new();
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
                Job::Flush(done) => flushes.push(done),
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
        for done in flushes {
            let _ = done.send(());
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
