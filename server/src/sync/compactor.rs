//! Background compaction: after a push leaves a record's snapshot behind, the record is queued
//! here and re-saved off the request path. Records queued several times before their turn are
//! saved once. A pull that meets a record still behind compacts it itself.
//!
//! The queue is bounded: when it is full, the request that queues more work waits for room
//! (after its own write is stored), so a burst of pushes larger than the compactor can take
//! slows those pushes down instead of growing the queue. Callers must not hold a document
//! cache slot while they queue: the worker locks slots to compact them.
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
    /// The most jobs waiting in the queue.
    capacity: usize,
    worker: Mutex<Worker>,
}

/// The worker task's lifecycle.
enum Worker {
    /// Nothing queued yet.
    Idle,
    /// Running: its queue and its task.
    Running(mpsc::Sender<Job>, JoinHandle<()>),
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
    /// A compactor over the service's storage and cache, queueing at most `capacity` jobs.
    pub fn new(storage: Arc<dyn SyncStorage>, cache: Arc<DocCache>, capacity: usize) -> Self {
        Self {
            storage,
            cache,
            capacity: capacity.max(1),
            worker: Mutex::new(Worker::Idle),
        }
    }

    /// Queues a record, waiting while the queue is full. Must be called within a tokio
    /// runtime (it is: from a request), holding no document cache slot.
    pub async fn request(&self, id: RecordId) {
        self.send(Job::Compact(id)).await;
    }

    /// Queues a snapshot made elsewhere, covering every change of `id` up to `seq`, waiting
    /// while the queue is full (holding no document cache slot).
    pub async fn store(&self, id: RecordId, seq: u64, bytes: Vec<u8>) {
        self.send(Job::Store { id, seq, bytes }).await;
    }

    /// Waits until every job queued before this call is done.
    pub async fn flush(&self) {
        let (done, finished) = oneshot::channel();
        self.send(Job::Flush(done)).await;
        // A closed compactor drops the job: nothing is left to wait for.
        let _ = finished.await;
    }

    /// How many jobs wait in the queue now (the worker's current batch not counted).
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        match self.worker.lock().as_deref() {
            Ok(Worker::Running(queue, _)) => queue.max_capacity() - queue.capacity(),
            _ => 0,
        }
    }

    /// Stops taking jobs, lets the worker finish the queued ones and waits for it.
    pub async fn close(&self) {
        let worker = match self.worker.lock() {
            Ok(mut w) => std::mem::replace(&mut *w, Worker::Closed),
            Err(_) => return,
        };
        if let Worker::Running(queue, task) = worker {
            // The worker drains what is queued, then ends once senders waiting for room
            // (which hold their own handle on the queue) are through.
            drop(queue);
            if let Err(e) = task.await {
                tracing::error!(error = %e, "the compaction worker failed");
            }
        }
    }

    async fn send(&self, job: Job) {
        let queue = {
            let Ok(mut worker) = self.worker.lock() else {
                return;
            };
            if let Worker::Idle = *worker {
                let (tx, rx) = mpsc::channel(self.capacity);
                let task = tokio::spawn(run(
                    rx,
                    self.capacity,
                    Arc::clone(&self.storage),
                    Arc::clone(&self.cache),
                ));
                *worker = Worker::Running(tx, task);
            }
            match &*worker {
                Worker::Running(queue, _) => queue.clone(),
                // A closed queue loses nothing but a snapshot: the log holds every change.
                Worker::Idle | Worker::Closed => {
                    tracing::debug!("compaction skipped: the server is stopping");
                    return;
                }
            }
        };
        // Backpressure: waits for room while the queue is full.
        let _ = queue.send(job).await;
    }
}

async fn run(
    mut rx: mpsc::Receiver<Job>,
    batch: usize,
    storage: Arc<dyn SyncStorage>,
    cache: Arc<DocCache>,
) {
    while let Some(first) = rx.recv().await {
        let mut ids = HashSet::new();
        let mut flushes = Vec::new();
        let mut job = Some(first);
        // One batch takes at most a queue's worth, so senders let in while it is taken do
        // not make it grow without bound.
        let mut taken = 0;
        while let Some(next) = job
            .take()
            .or_else(|| (taken < batch).then(|| rx.try_recv().ok()).flatten())
        {
            taken += 1;
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
                // A record held loaded is saved as this process holds it: every change up to
                // its `seq` is in it, which is all a snapshot at that `seq` must hold (later
                // ones, another process's too, stay in the log after it). Reading the log
                // again would cost a statement per compaction for changes the next push
                // reads anyway. A record no longer held is loaded whole.
                if entry.is_none() && !load_current(storage.as_ref(), &id, &mut entry).await? {
                    return Ok(());
                }
                if let Some(cached) = entry.as_mut()
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

/// Stores a fresh snapshot of the entry, at its `seq`.
pub(crate) async fn refresh_snapshot(
    storage: &dyn SyncStorage,
    id: &RecordId,
    cached: &mut CachedDoc,
) -> Result<()> {
    let bytes = cached.save();
    storage.put_snapshot(id, cached.seq, &bytes).await?;
    cached.saved_as_snapshot(bytes.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SqliteStorage;

    /// The queue holds at most its capacity: with the worker held up, the next request waits
    /// (its future stays pending) instead of growing the queue, and goes through once the
    /// worker moves on.
    #[tokio::test]
    async fn a_full_queue_makes_the_next_request_wait_until_the_worker_takes_more() {
        const CAPACITY: usize = 4;
        let dir = tempfile::tempdir().expect("tempdir");
        let storage: Arc<dyn SyncStorage> =
            Arc::new(SqliteStorage::open(dir.path().join("s.db")).expect("storage"));
        let cache = Arc::new(DocCache::new(16));
        let compactor = Compactor::new(storage, Arc::clone(&cache), CAPACITY);
        let ids: Vec<RecordId> = (0..=CAPACITY + 1).map(|_| RecordId::random()).collect();

        // Hold the first record's slot: the worker takes it and waits for the slot.
        let held = cache.lock(&ids[0]).await.expect("lock");
        compactor.request(ids[0].clone()).await;
        let mut turns = 0;
        while compactor.queued() > 0 {
            tokio::task::yield_now().await;
            turns += 1;
            assert!(turns < 1000, "the worker never took its first job");
        }

        for id in &ids[1..=CAPACITY] {
            compactor.request(id.clone()).await;
        }
        assert_eq!(compactor.queued(), CAPACITY);
        let mut waiting = std::pin::pin!(compactor.request(ids[CAPACITY + 1].clone()));
        for _ in 0..10 {
            tokio::select! {
                biased;
                () = &mut waiting => panic!("a request went into a full queue"),
                () = tokio::task::yield_now() => {}
            }
        }
        assert_eq!(compactor.queued(), CAPACITY, "the queue did not grow");

        drop(held);
        waiting.await;
        compactor.flush().await;
        assert_eq!(compactor.queued(), 0);
        compactor.close().await;
    }
}
