//! The one writer connection, on its own thread, with group commit: requests that arrive while
//! a transaction is being written share the next one (and its fsync). Each job runs in a
//! savepoint, so a job that fails rolls back alone and the others still commit.
//!
//! Closing the writer lets every job already queued commit, folds the WAL into the database
//! file and closes the connection before [`Writer::close`] returns, so a stopped server leaves
//! a database file that is complete on its own (a copy taken then is a consistent backup).

use std::panic::AssertUnwindSafe;
use std::sync::{Mutex, mpsc};
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::metrics;
use crate::storage::{StorageError, StorageResult};

/// How many jobs at most share one transaction.
const MAX_BATCH: usize = 128;

trait WriteJob: Send {
    /// Runs the job inside the open transaction; `false` if it failed (and must be rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Reports the outcome once the transaction committed (or failed).
    fn finish(self: Box<Self>, committed: StorageResult<()>);
}

struct TypedJob<T, F> {
    work: Option<F>,
    out: Option<StorageResult<T>>,
    reply: oneshot::Sender<StorageResult<T>>,
}

impl<T, F> WriteJob for TypedJob<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> StorageResult<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let out = work(conn);
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn finish(self: Box<Self>, committed: StorageResult<()>) {
        let result = match (committed, self.out) {
            (_, Some(Err(e))) => Err(e),
            (Err(e), _) => Err(e),
            (Ok(()), Some(out)) => out,
            (Ok(()), None) => Err(StorageError::Backend("write job never ran".into())),
        };
        // The requester may have gone away (client disconnected); the write stands regardless.
        let _ = self.reply.send(result);
    }
}

/// Sends work to the writer thread.
pub(super) struct Writer {
    /// `None` once closed.
    jobs: Mutex<Option<mpsc::Sender<Box<dyn WriteJob>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer thread on `conn`. It ends when the writer is closed or dropped.
    pub fn start(conn: Connection) -> StorageResult<Self> {
        let (jobs, rx) = mpsc::channel::<Box<dyn WriteJob>>();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                run(&conn, rx);
                close_connection(conn);
            })
            .map_err(|e| StorageError::Backend(format!("starting the writer thread: {e}")))?;
        Ok(Self {
            jobs: Mutex::new(Some(jobs)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Stops taking jobs, lets the queued ones commit, checkpoints the WAL into the database
    /// file and closes the connection. Blocks until all that is done; later writes fail.
    pub fn close(&self) {
        drop(self.jobs.lock().ok().and_then(|mut jobs| jobs.take()));
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        // Never join from the writer thread itself (a job dropping the last handle): it ends
        // on its own once the queue is empty.
        if let Some(thread) = thread
            && thread.thread().id() != std::thread::current().id()
            && thread.join().is_err()
        {
            tracing::error!("the writer thread panicked");
        }
    }

    /// Runs `work` in a write transaction (shared with concurrent jobs) and returns its result
    /// once committed.
    pub async fn write<T, F>(&self, work: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job = TypedJob {
            work: Some(work),
            out: None,
            reply,
        };
        // Counted before it is sent: the writer may take it at once.
        metrics::writer_queue(1);
        let sent = match self.jobs.lock() {
            Ok(jobs) => jobs.as_ref().is_some_and(|j| j.send(Box::new(job)).is_ok()),
            Err(_) => false,
        };
        if !sent {
            metrics::writer_queue(-1);
            return Err(StorageError::Backend("the storage is closed".into()));
        }
        rx.await
            .map_err(|_| StorageError::Backend("the writer thread dropped a job".into()))?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.close();
    }
}

/// Folds the WAL into the database file (so the file alone holds every commit) and closes.
fn close_connection(conn: Connection) {
    // The row is (busy, WAL frames, frames checkpointed); busy means a reader held on.
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(0) => {}
        Ok(_) => tracing::warn!("the WAL checkpoint on close was blocked by a reader"),
        Err(e) => tracing::warn!(error = %e, "checkpointing the WAL on close failed"),
    }
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the writer connection failed");
    }
}

fn run(conn: &Connection, rx: mpsc::Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        metrics::writer_queue(-i32::try_from(batch.len()).unwrap_or(i32::MAX));
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let err = StorageError::from(e);
            for job in batch {
                job.finish(Err(err.clone()));
            }
            continue;
        }
        for job in &mut batch {
            // A panicking job must not take the writer thread (and every later write) with it.
            let ok = conn.execute_batch("SAVEPOINT job").is_ok()
                && std::panic::catch_unwind(AssertUnwindSafe(|| job.run(conn))).unwrap_or(false);
            let end = if ok {
                "RELEASE job"
            } else {
                "ROLLBACK TO job; RELEASE job"
            };
            if let Err(e) = conn.execute_batch(end) {
                tracing::error!(error = %e, "ending a savepoint failed");
            }
        }
        let committed = conn.execute_batch("COMMIT").map_err(StorageError::from);
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for job in batch {
            job.finish(committed.clone());
        }
    }
}
