//! The storage suite on the PostgreSQL backend, each test in a database of its own
//! (`pg_fixture`), plus what only this backend has: its migration bookkeeping.

mod pg_fixture;

use std::sync::Arc;

use pg_fixture::TestDatabase;
use siteproof_core::{RecordHeader, RecordId, RecordKind, Scope};
use siteproof_server::SyncStorage;
use siteproof_server::storage::{PostgresStorage, PushWrite, RecordWrite, ScanQuery, StorageError};
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

/// A storage on a fresh database, and a connection to it that counts its statements.
async fn counted_postgres() -> (PostgresStorage, TestDatabase, tokio_postgres::Client) {
    let (storage, db) = make_postgres().await;
    let client = db.client().await;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await
        .expect("the pg_stat_statements extension");
    (storage, db, client)
}

/// The statements PostgreSQL ran in the test's database so far (`pg_stat_statements`, which
/// `scripts/postgres.sh` loads), this count's own query left out.
async fn statements_run(client: &tokio_postgres::Client) -> i64 {
    statements_matching(client, ".").await
}

/// Of [`statements_run`], those whose text matches the regular expression `pattern`.
async fn statements_matching(client: &tokio_postgres::Client, pattern: &str) -> i64 {
    client
        .query_one(
            "SELECT COALESCE(SUM(calls), 0)::bigint FROM pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND query NOT LIKE '%pg_stat_statements%' AND query ~* $1",
            &[&pattern],
        )
        .await
        .expect("pg_stat_statements is loaded (scripts/postgres.sh loads it)")
        .get(0)
}

/// One record's write: `n` changes of its own, and a snapshot when `snapshot`.
fn record_write(id: &RecordId, round: u8, n: u8, snapshot: bool) -> RecordWrite {
    RecordWrite {
        header: RecordHeader {
            kind: RecordKind::Visit,
            id: id.clone(),
            scope: Scope::group("hebei", "g1"),
        },
        changes: (0..n)
            .map(|i| {
                let mut hash = [round; 32];
                hash[1] = i;
                (hash, vec![round, i])
            })
            .collect(),
        known_through: 0,
        snapshot: snapshot.then(|| vec![round; 16]),
    }
}

/// A guard on round trips, counted rather than timed: a push stores each record in a bounded
/// number of statements, with one transaction (begin, lock, commit) for the push, and a pull
/// reads a page and the records it needs whole in one statement each. What a sync request
/// reads besides is one statement each: its caller with the group's revoked devices, the
/// pushed records' rows with their changes since the copies held loaded, the cursor's change
/// with the first page. A change that adds a statement to the sync path fails here.
#[tokio::test]
async fn a_push_and_a_pull_run_a_bounded_number_of_statements() {
    let (storage, _db, client) = counted_postgres().await;
    let ids: Vec<RecordId> = (0..4).map(|_| RecordId::random()).collect();
    let push = |records: Vec<RecordWrite>| PushWrite {
        pushed_by: None,
        records,
    };

    // Four new records with their snapshots in one push: begin, the lock, commit; per record
    // the look for its stored header, its creation, its changes, its snapshot.
    let before = statements_run(&client).await;
    let creating = push(ids.iter().map(|id| record_write(id, 1, 3, true)).collect());
    storage.store_push(&creating).await.expect("create");
    let ran = statements_run(&client).await - before;
    assert!(
        ran <= 3 + 4 * 4,
        "a push creating 4 records ran {ran} statements"
    );

    // Pushes of one stored record each, one after another: begin, lock, the record's changes
    // with its stored header, commit.
    let before = statements_run(&client).await;
    let mut pushes = 0;
    for round in 2..7 {
        for id in &ids {
            let one = push(vec![record_write(id, round, 2, false)]);
            storage.store_push(&one).await.expect("push");
            pushes += 1;
        }
    }
    let ran = statements_run(&client).await - before;
    assert!(
        ran <= 4 * pushes,
        "{pushes} pushes of one stored record ran {ran} statements"
    );

    // A pull: one page of the scope, then the records whole.
    let before = statements_run(&client).await;
    let query = ScanQuery {
        scope: Scope::group("hebei", "g1"),
        after: 0,
        reader: None,
    };
    let page = storage.scan(&query, 1000).await.expect("scan");
    assert_eq!(page.len(), 4 * 3 + 20 * 2, "every change scanned");
    let whole = storage.full_documents(&ids).await.expect("whole");
    assert_eq!(whole.len(), 4);
    assert!(
        whole
            .iter()
            .all(|d| d.trailing.len() == 10 && d.snapshot.is_some())
    );
    let ran = statements_run(&client).await - before;
    assert_eq!(ran, 2, "a scan and 4 whole records ran {ran} statements");

    // The rest of a sync request: its caller (an unknown token reads the same), the pushed
    // records' rows with their new changes, the cursor's change with the first page.
    let before = statements_run(&client).await;
    let session = storage.device_session(&[7; 32]).await.expect("session");
    assert_eq!(session, None);
    let since = storage
        .documents_since(&[(ids[0].clone(), Some(page[40].seq)), (ids[1].clone(), None)])
        .await
        .expect("rows");
    assert_eq!(since.len(), 2);
    let from = ScanQuery {
        after: page[40].seq,
        ..query
    };
    let (at, rest) = storage.scan_from(&from, 1000).await.expect("scan");
    assert_eq!((at, rest.len()), (Some(page[40].hash), 11));
    let ran = statements_run(&client).await - before;
    assert_eq!(
        ran, 3,
        "a session, the rows with their changes and a checked scan ran {ran} statements"
    );
    storage.close().await.expect("close");
}

/// Pushes arriving at once on one process are group-committed, and a push of the batch that
/// fails half way (its first record written, its second refused: a stored record under
/// another header, or a new one with no change) is rolled back alone: the others are stored,
/// nothing of it is.
#[tokio::test]
async fn pushes_arriving_at_once_share_transactions_and_one_failing_is_rolled_back_alone() {
    let (storage, _db, client) = counted_postgres().await;
    let taken = RecordId::random();
    let setup = PushWrite {
        pushed_by: None,
        records: vec![record_write(&taken, 1, 1, false)],
    };
    storage.store_push(&setup).await.expect("setup");
    let transactions = || statements_matching(&client, "^(BEGIN|START TRANSACTION)");
    let before = transactions().await;
    let firsts: Vec<RecordId> = (0..12).map(|_| RecordId::random()).collect();
    let pushes: Vec<PushWrite> = firsts
        .iter()
        .enumerate()
        .map(|(i, first)| {
            let mut records = vec![record_write(first, 2, 2, false)];
            match i % 3 {
                // The stored record under another kind.
                1 => records.push(RecordWrite {
                    header: RecordHeader {
                        kind: RecordKind::Case,
                        ..record_write(&taken, 2, 1, false).header
                    },
                    ..record_write(&taken, 2, 1, false)
                }),
                // A new record with no change: its first seq is null, the database refuses it.
                2 => records.push(record_write(&RecordId::random(), 2, 0, false)),
                _ => {}
            }
            PushWrite {
                pushed_by: None,
                records,
            }
        })
        .collect();
    let outcomes =
        futures_util::future::join_all(pushes.iter().map(|p| storage.store_push(p))).await;
    let shared = transactions().await - before;
    assert!(
        shared < 12 / 2,
        "12 pushes at once took {shared} transactions"
    );
    for (i, (first, outcome)) in firsts.iter().zip(&outcomes).enumerate() {
        let stored = storage
            .full_documents(std::slice::from_ref(first))
            .await
            .expect("read");
        if i % 3 == 0 {
            assert!(outcome.is_ok(), "push {i}: {outcome:?}");
            assert_eq!(stored.len(), 1, "push {i} stored");
            assert_eq!(stored[0].trailing.len(), 2);
        } else {
            assert!(outcome.is_err(), "push {i} refused");
            assert!(stored.is_empty(), "nothing of the refused push {i} stored");
        }
    }
    let taken_now = storage.changes_after(&taken, 0).await.expect("changes");
    assert_eq!(taken_now.len(), 1, "the refused pushes added nothing to it");
    storage.close().await.expect("close");
}
