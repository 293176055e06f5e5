//! Group commit of pushes. Appends from every process run one at a time under the log's
//! lock, held until the commit (`log.rs`), so a transaction per push would make the pushes of
//! every process wait for each other's commit in turn, each its own flush of the write-ahead
//! log. Instead the pushes that arrive while one transaction is in flight wait for it, and the
//! first of them then stores them all in the next transaction (at most [`MAX_BATCH`]): one
//! lock, one commit and one flush for the lot, as the embedded database's writer does.
//!
//! A batch is stored first in one transaction without savepoints; if a push of it fails,
//! that transaction is rolled back and the batch stored again with each push in a
//! subtransaction (a savepoint): the push that fails is rolled back alone and answered with
//! its error, the others still commit; a commit that fails fails every push of the batch. A push is answered only after its batch's commit. The batch runs
//! in a task of its own, so a request dropped half way (its client went away) does not stop
//! the pushes of others that it was storing.

use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard, oneshot};

use super::PostgresStorage;
use super::log::{self, APPEND_LOCK};
use crate::storage::{PushWrite, RecordStored, StorageError, StorageResult};

/// Pushes stored in one transaction at most. Stored again in savepoints (one push of the
/// batch failed), each is a subtransaction, nested in the one before: past 64 in one transaction, PostgreSQL's snapshots no longer list them in shared
/// memory and every reader pays for looking them up.
const MAX_BATCH: usize = 32;

type Outcome = StorageResult<Vec<RecordStored>>;

/// A push waiting for a transaction, with where its outcome goes.
struct Job {
    push: PushWrite,
    reply: oneshot::Sender<Outcome>,
}

/// The pushes waiting for a transaction, and the turn to run one.
#[derive(Default)]
pub(super) struct AppendQueue {
    pending: Mutex<Vec<Job>>,
    /// Held while a batch is stored (by the task storing it): one batch at a time per process.
    turn: Arc<AsyncMutex<()>>,
}

impl PostgresStorage {
    /// Stores `push` in the next batch (see the module docs) and returns what it found.
    pub(super) async fn append(&self, push: &PushWrite) -> Outcome {
        let queue = &self.inner.appends;
        let (reply, mut outcome) = oneshot::channel();
        lock(&queue.pending)?.push(Job {
            push: push.clone(),
            reply,
        });
        loop {
            // The outcome first: a batch hands the turn on only after answering every push
            // it stored, so a push whose outcome is not there when the turn is ours is still
            // waiting, and this request stores the next batch.
            let turn = tokio::select! {
                biased;
                done = &mut outcome => return answered(done),
                turn = Arc::clone(&queue.turn).lock_owned() => turn,
            };
            if let Ok(done) = outcome.try_recv() {
                return done;
            }
            let jobs: Vec<Job> = {
                let mut pending = lock(&queue.pending)?;
                let n = pending.len().min(MAX_BATCH);
                pending.drain(..n).collect()
            };
            let storage = self.clone();
            tokio::spawn(async move { storage.store_batch(jobs, turn).await });
        }
    }

    /// Stores `jobs` in one transaction and answers each; lets `turn` go after that.
    async fn store_batch(&self, jobs: Vec<Job>, turn: OwnedMutexGuard<()>) {
        let pushes: Vec<&PushWrite> = jobs.iter().map(|j| &j.push).collect();
        match self.store_in_one_transaction(&pushes).await {
            Ok(outcomes) => {
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    // A request that went away takes no answer.
                    let _ = job.reply.send(outcome);
                }
            }
            Err(e) => {
                for job in jobs {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
        drop(turn);
    }

    /// Each push's outcome; `Err` when the transaction as a whole failed (nothing stored).
    /// A push rarely fails, so the batch is first stored without savepoints (a statement
    /// less per push); if one push fails, that transaction is rolled back and the batch
    /// stored again with a savepoint per push, so that the failing one is rolled back alone.
    async fn store_in_one_transaction(&self, pushes: &[&PushWrite]) -> StorageResult<Vec<Outcome>> {
        match self.store_all_or_none(pushes).await? {
            Some(stored) => Ok(stored.into_iter().map(Ok).collect()),
            None => self.store_each_in_a_savepoint(pushes).await,
        }
    }

    /// Stores every push of the batch in one transaction; `None` (the transaction rolled
    /// back, nothing stored) as soon as one fails.
    async fn store_all_or_none(
        &self,
        pushes: &[&PushWrite],
    ) -> StorageResult<Option<Vec<Vec<RecordStored>>>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        log::lock_appends(&tx).await?;
        let mut stored = Vec::with_capacity(pushes.len());
        for push in pushes {
            match log::store_records(&tx, push).await {
                Ok(records) => stored.push(records),
                // Dropping the transaction rolls it back.
                Err(_) => return Ok(None),
            }
        }
        tx.commit().await?;
        Ok(Some(stored))
    }

    /// Stores each push of the batch in a savepoint of one transaction: one that fails is
    /// rolled back alone and answered with its error.
    async fn store_each_in_a_savepoint(
        &self,
        pushes: &[&PushWrite],
    ) -> StorageResult<Vec<Outcome>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        // The lock and the first push's savepoint in one round trip. Savepoints are not
        // released: each push's is taken inside the one before, which costs a statement less
        // per push, and rolling back to it undoes that push alone.
        tx.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock({APPEND_LOCK}); SAVEPOINT push0"
        ))
        .await?;
        let mut outcomes = Vec::with_capacity(pushes.len());
        for (i, push) in pushes.iter().enumerate() {
            if i > 0 {
                tx.batch_execute(&format!("SAVEPOINT push{i}")).await?;
            }
            let outcome = log::store_records(&tx, push).await;
            if outcome.is_err() {
                tx.batch_execute(&format!("ROLLBACK TO SAVEPOINT push{i}"))
                    .await?;
            }
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
    }
}

/// The outcome a batch sent; an error if its task ended without sending one.
fn answered(done: Result<Outcome, oneshot::error::RecvError>) -> Outcome {
    done.unwrap_or_else(|_| {
        Err(StorageError::Backend(
            "the transaction storing a push ended without an answer".into(),
        ))
    })
}

fn lock(pending: &Mutex<Vec<Job>>) -> StorageResult<std::sync::MutexGuard<'_, Vec<Job>>> {
    pending
        .lock()
        .map_err(|_| StorageError::Backend("the queue of pushes is poisoned".into()))
}
