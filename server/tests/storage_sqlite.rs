//! The storage suite on the SQLite backend.

use std::sync::Arc;

use siteproof_server::storage_suite::Processes;
use siteproof_server::{SqliteStorage, SyncStorage};

async fn make_sqlite() -> (SqliteStorage, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = SqliteStorage::open(dir.path().join("suite.db")).expect("open");
    (storage, dir)
}

/// Several storages on one file, each with its own writer thread and readers, as several
/// processes would open it.
async fn sqlite_processes() -> (Processes, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("suite.db");
    let open: Processes = Box::new(move || {
        let path = path.clone();
        Box::pin(async move {
            let storage = tokio::task::spawn_blocking(move || SqliteStorage::open(path))
                .await
                .expect("open task")
                .expect("open");
            Arc::new(storage) as Arc<dyn SyncStorage>
        })
    });
    (open, dir)
}

siteproof_server::storage_suite!(make_sqlite, sqlite_processes);
