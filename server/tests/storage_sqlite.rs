//! The storage suite on the SQLite backend.

use siteproof_server::SqliteStorage;

async fn make_sqlite() -> (SqliteStorage, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = SqliteStorage::open(dir.path().join("suite.db")).expect("open");
    (storage, dir)
}

siteproof_server::storage_suite!(make_sqlite);
