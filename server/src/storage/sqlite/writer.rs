//! The one writer connection, on its own thread, with group commit: requests that arrive while
//! a transaction is being written share the next one (and its fsync). Each job runs in a
//! savepoint, so a job that fails rolls back alone and the others still commit.
//!
//! The WAL is folded into the database file by a checkpointer thread of its own, not by the
//! commit that crossed SQLite's threshold: the writer only tells it when the WAL has grown by
//! [`CHECKPOINT_FRAMES`]. A checkpoint copies each page once, however many commits wrote it
//! since the last one, so a larger WAL copies fewer pages per commit; and the commits go on
//! while it copies (a passive checkpoint takes no write lock).
//!
//! Closing the writer lets every job already queued commit, folds the WAL into the database
//! file and closes the connection before [`Writer::close`] returns, so a stopped server leaves
//! a database file that is complete on its own (a copy taken then is a consistent backup).

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::metrics;
use crate::storage::{StorageError, StorageResult};

/// How many jobs at most share one transaction.
const MAX_BATCH: usize = 128;

/// WAL frames (pages) written since the last checkpoint at which the checkpointer thread folds
/// the WAL into the database file: 16 MiB of 4 KiB pages (SQLite's own default is 1,000,
/// folded by the commit that crosses it, on the writer's thread).
pub(super) const CHECKPOINT_FRAMES: i32 = 4000;

/// A WAL this many frames long is folded by the writer itself: the checkpointer could not
/// finish (readers held old snapshots) and the file must not grow without bound.
const WRITER_CHECKPOINT_FRAMES: i32 = 4 * CHECKPOINT_FRAMES;

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
    wal: Arc<WalCounts>,
}

/// What the commits wrote to the WAL, and who folded it into the database file.
#[derive(Default)]
pub(super) struct WalCounts {
    /// WAL frames (database pages) the commits wrote.
    pub frames: AtomicU64,
    /// Times the checkpointer thread was asked to checkpoint.
    pub asked: AtomicU64,
    /// Checkpoints the writer ran itself, its commit waiting (the WAL past
    /// `WRITER_CHECKPOINT_FRAMES`).
    pub writer_checkpoints: AtomicU64,
}

impl Writer {
    /// Starts the writer thread on `conn` (the database at `path`), and the checkpointer
    /// thread on a connection of its own. Both end when the writer is closed or dropped.
    pub fn start(mut conn: Connection, path: &Path) -> StorageResult<Self> {
        let (jobs, rx) = mpsc::channel::<Box<dyn WriteJob>>();
        let wal_counts = Arc::new(WalCounts::default());
        let (checkpointer, wake) = Checkpointer::start(path)?;
        // The hook replaces SQLite's automatic checkpoint (`wal_autocheckpoint`).
        let counted = Arc::clone(&wal_counts);
        let mut last = 0;
        let mut asked_at = 0;
        conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
            // `pages` is the WAL's length after this commit; shorter than before when the
            // commit began the WAL anew after a checkpoint.
            let written = if pages >= last { pages - last } else { pages };
            counted
                .frames
                .fetch_add(u64::try_from(written).unwrap_or(0), Ordering::Relaxed);
            if pages < last {
                asked_at = 0;
            }
            last = pages;
            if pages >= WRITER_CHECKPOINT_FRAMES {
                // Nothing to report if readers keep it from finishing: the next commit tries
                // again.
                counted.writer_checkpoints.fetch_add(1, Ordering::Relaxed);
                let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
            } else if pages - asked_at >= CHECKPOINT_FRAMES {
                asked_at = pages;
                counted.asked.fetch_add(1, Ordering::Relaxed);
                let _ = wake.send(());
            }
            Ok(())
        }))?;
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                run(&conn, rx);
                // Dropping the hook lets the checkpointer go; its connection closes first, so
                // the last checkpoint below does not find it checkpointing.
                if let Err(e) = conn.wal_hook(None::<fn(&mut rusqlite::hooks::Wal, i32) -> _>) {
                    tracing::warn!(error = %e, "removing the WAL hook failed");
                }
                checkpointer.stop();
                close_connection(conn);
            })
            .map_err(|e| StorageError::Backend(format!("starting the writer thread: {e}")))?;
        Ok(Self {
            jobs: Mutex::new(Some(jobs)),
            thread: Mutex::new(Some(thread)),
            wal: wal_counts,
        })
    }

    /// What the commits wrote to the WAL so far, and the checkpoints run.
    pub fn wal_counts(&self) -> &WalCounts {
        &self.wal
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

/// The thread that folds the WAL into the database file when the writer asks.
struct Checkpointer {
    thread: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts the thread; it checkpoints once per message on the sender, and ends once the
    /// sender is dropped.
    fn start(path: &Path) -> StorageResult<(Self, mpsc::Sender<()>)> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // The checkpoint lock is briefly held by the writer's own checkpoints (on close, or
        // past `WRITER_CHECKPOINT_FRAMES`).
        conn.busy_timeout(Duration::from_secs(10))?;
        let (wake, rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    // Requests that came while the last checkpoint ran are one more.
                    while rx.try_recv().is_ok() {}
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "checkpointing the WAL failed");
                    }
                }
                if let Err((_, e)) = conn.close() {
                    tracing::warn!(error = %e, "closing the checkpoint connection failed");
                }
            })
            .map_err(|e| StorageError::Backend(format!("starting the checkpoint thread: {e}")))?;
        Ok((Self { thread }, wake))
    }

    /// Waits for the thread to end (its sender dropped): a checkpoint in progress finishes
    /// and the connection closes.
    fn stop(self) {
        if self.thread.join().is_err() {
            tracing::error!("the checkpoint thread panicked");
        }
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
        if let Err(e) = execute_cached(conn, "BEGIN IMMEDIATE") {
            let err = StorageError::from(e);
            for job in batch {
                job.finish(Err(err.clone()));
            }
            continue;
        }
        for job in &mut batch {
            // A panicking job must not take the writer thread (and every later write) with it.
            let ok = execute_cached(conn, "SAVEPOINT job").is_ok()
                && std::panic::catch_unwind(AssertUnwindSafe(|| job.run(conn))).unwrap_or(false);
            let end = if ok {
                execute_cached(conn, "RELEASE job")
            } else {
                conn.execute_batch("ROLLBACK TO job; RELEASE job")
            };
            if let Err(e) = end {
                tracing::error!(error = %e, "ending a savepoint failed");
            }
        }
        let committed = execute_cached(conn, "COMMIT").map_err(StorageError::from);
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for job in batch {
            job.finish(committed.clone());
        }
    }
}

/// Runs one statement compiled once per connection (the writer runs four per batch).
fn execute_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}
