//! One more connection to the server's SQLite file, for the parts of the server that keep
//! tables of their own in it (the back office, evidence and custody): work runs on a blocking
//! thread under a lock, so its statements never interleave, and closing waits for the work in
//! flight, even that of a request whose client went away.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use crate::storage::{StorageError, StorageResult};

/// A shared connection. Cheap to clone: clones share it.
#[derive(Clone)]
pub struct SharedConnection {
    /// `None` once closed.
    conn: Arc<Mutex<Option<Connection>>>,
}

impl SharedConnection {
    /// Opens the database at `path` (created and migrated by [`crate::SqliteStorage`] first).
    pub fn open(path: &Path) -> StorageResult<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(Self {
            conn: Arc::new(Mutex::new(Some(conn))),
        })
    }

    /// Runs `work` on the connection on a blocking thread.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StorageError::Backend("connection poisoned".into()))?;
            let conn = guard
                .as_mut()
                .ok_or_else(|| StorageError::Backend("the storage is closed".into()))?;
            work(conn)
        })
        .await
        .map_err(|e| StorageError::Backend(format!("a database task failed: {e}")))?
    }

    /// Waits for the work in flight and closes the connection; later calls fail.
    pub async fn close(&self) {
        let conn = Arc::clone(&self.conn);
        let closed = tokio::task::spawn_blocking(move || {
            let taken = conn.lock().ok().and_then(|mut c| c.take());
            if let Some(Err((_, e))) = taken.map(Connection::close) {
                tracing::warn!(error = %e, "closing a database connection failed");
            }
        })
        .await;
        if let Err(e) = closed {
            tracing::error!(error = %e, "closing a database connection failed");
        }
    }
}
