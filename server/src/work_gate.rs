//! Bounded heavy work: a [`WorkGate`] lets a fixed number of memory- or CPU-heavy jobs
//! (password hashing, PDF and XLSX generation, thumbnails) run at once on blocking threads,
//! queues a bounded number more, and refuses the rest at once with [`Error::Busy`] (503 with
//! `Retry-After`). Without it each concurrent argon2 check holds its own 19 MiB, so a burst of
//! logins grows the process by gigabytes; with it the peak is `permits` jobs' memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// What a client is told to wait before retrying a refused job, in seconds.
pub const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// A semaphore with a queue limit in front of `spawn_blocking`.
pub struct WorkGate {
    name: &'static str,
    permits: Arc<Semaphore>,
    running_max: usize,
    /// Jobs waiting for a permit or running.
    admitted: AtomicUsize,
    /// The most jobs admitted at once: `permits + queue`.
    capacity: usize,
    /// Jobs run to completion, for tests and metrics.
    completed: AtomicU64,
}

impl WorkGate {
    /// A gate running `permits` jobs at once with up to `queue` more waiting.
    pub fn new(name: &'static str, permits: usize, queue: usize) -> Self {
        let permits = permits.max(1);
        Self {
            name,
            permits: Arc::new(Semaphore::new(permits)),
            running_max: permits,
            admitted: AtomicUsize::new(0),
            capacity: permits + queue,
            completed: AtomicU64::new(0),
        }
    }

    /// How many jobs may run at once.
    pub fn permits(&self) -> usize {
        self.running_max
    }

    /// Jobs run to completion so far.
    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// Runs `job` on a blocking thread once a permit is free; [`Error::Busy`] at once when
    /// the queue is full. A job whose caller goes away while it waits never runs.
    pub async fn run<T, F>(&self, job: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _slot = self.slot()?;
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| Error::Internal(format!("the {} gate is closed", self.name)))?;
        let out = tokio::task::spawn_blocking(move || {
            // Held on the blocking thread: a cancelled caller does not free the permit early.
            let _permit = permit;
            job()
        })
        .await
        .map_err(|e| Error::Internal(format!("{} job failed: {e}", self.name)))?;
        self.completed.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    /// Takes a place in the queue, or refuses.
    fn slot(&self) -> Result<Slot<'_>> {
        let before = self.admitted.fetch_add(1, Ordering::AcqRel);
        let slot = Slot(&self.admitted);
        if before >= self.capacity {
            tracing::warn!(gate = self.name, "busy: refusing heavy work");
            return Err(Error::Busy {
                retry_after_secs: BUSY_RETRY_AFTER_SECS,
            });
        }
        Ok(slot)
    }
}

/// A place among the admitted jobs, given back on drop.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_past_the_queue_are_refused_busy_and_the_rest_run() {
        let gate = Arc::new(WorkGate::new("test", 1, 2));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(std::sync::Mutex::new(hold));
        let mut running = Vec::new();
        for _ in 0..3 {
            let gate = Arc::clone(&gate);
            let hold = Arc::clone(&hold);
            running.push(tokio::spawn(async move {
                gate.run(move || {
                    let _ = hold.lock().map(|h| h.recv());
                })
                .await
            }));
        }
        while gate.admitted.load(Ordering::Acquire) < 3 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            gate.run(|| ()).await,
            Err(Error::Busy {
                retry_after_secs: BUSY_RETRY_AFTER_SECS
            })
        ));
        for _ in 0..3 {
            release.send(()).expect("a job waits");
        }
        for job in running {
            job.await.expect("join").expect("admitted jobs run");
        }
        assert_eq!(gate.completed(), 3);
        assert_eq!(gate.run(|| 7).await.expect("the queue is free again"), 7);
    }
}
