//! The storage suite on the PostgreSQL backend, each test in a database of its own
//! (`pg_fixture`), plus what only this backend has: its migration bookkeeping.

mod pg_fixture;

use std::sync::Arc;

use pg_fixture::TestDatabase;
use siteproof_server::SyncStorage;
use siteproof_server::storage::{PostgresStorage, StorageError};
use siteproof_server::storage_suite::Processes;

async fn make_postgres() -> (PostgresStorage, TestDatabase) {
    let db = TestDatabase::create().await;
    let storage = PostgresStorage::connect(db.config.clone())
        .await
        .expect("connect");
    (storage, db)
}

/// Storages on one database, each with a pool of its own, as server processes would open it.
async fn postgres_processes() -> (Processes, TestDatabase) {
    let db = TestDatabase::create().await;
    let config = db.config.clone();
    let open: Processes = Box::new(move || {
        let config = config.clone();
        Box::pin(async move {
            let storage = PostgresStorage::connect(config).await.expect("connect");
            Arc::new(storage) as Arc<dyn SyncStorage>
        })
    });
    (open, db)
}

siteproof_server::storage_suite!(make_postgres, postgres_processes);

#[tokio::test]
async fn migrations_are_recorded_once_and_a_newer_schema_is_refused() {
    let (storage, db) = make_postgres().await;
    storage.close().await.expect("close");
    let reopened = PostgresStorage::connect(db.config.clone())
        .await
        .expect("reopen");
    reopened.check_ready().await.expect("ready");
    reopened.close().await.expect("close");
    let client = db.client().await;
    let versions: Vec<i32> = client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let expected: Vec<i32> =
        (1..=i32::try_from(siteproof_server::storage::POSTGRES_SCHEMA_VERSION).expect("small"))
            .collect();
    assert_eq!(versions, expected);
    client
        .execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&(expected.len() as i32 + 1)],
        )
        .await
        .expect("a version from a newer build");
    let refused = PostgresStorage::connect(db.config.clone()).await;
    assert!(
        matches!(&refused, Err(StorageError::Backend(m)) if m.contains("newer than this build")),
        "{:?}",
        refused.err()
    );
}

#[tokio::test]
async fn a_closed_storage_refuses_work_and_closing_twice_is_harmless() {
    let (storage, _db) = make_postgres().await;
    storage.close().await.expect("close");
    storage.close().await.expect("close again");
    assert!(matches!(
        storage.list_groups().await,
        Err(StorageError::Backend(_))
    ));
}

#[tokio::test]
async fn a_malformed_url_is_refused_with_a_clear_error() {
    let refused = PostgresStorage::open("postgres://127.0.0.1:notaport/x").await;
    assert!(
        matches!(&refused, Err(StorageError::Backend(m)) if m.contains("database URL")),
        "{:?}",
        refused.err()
    );
}
