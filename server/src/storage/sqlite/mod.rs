//! The embedded backend: one SQLite file in WAL mode, one writer connection on its own thread
//! (with group commit) and a small pool of read-only connections used on blocking threads.

mod assignments;
mod cases;
mod custody;
pub mod enterprises;
pub mod file_copy;
mod leads;
mod log;
pub(crate) mod office_index;
#[cfg(test)]
mod plans;
mod queries;
mod rate;
mod risk_facts;
mod rosters;
mod row_filter;
mod shared;
mod supervision;
mod templates;
mod upload_leases;
mod uploads;
mod web_users;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use tokio::sync::Semaphore;

use siteproof_core::migrations::{self, MigrationError};

use super::{StorageError, StorageResult};
pub use cases::put_row as put_sqlite_case_row;
pub use cases::{COLUMNS as SQLITE_CASE_COLUMNS, case_row as sqlite_case_row};
pub use row_filter::SqliteCondition;
pub use shared::SharedConnection;
use writer::Writer;

/// The migrations, in order; migration `i` upgrades the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_initial.sql"),
    include_str!("migrations/002_backoffice.sql"),
    include_str!("migrations/003_content.sql"),
    include_str!("migrations/004_evidence.sql"),
    include_str!("migrations/005_login_unlocks.sql"),
    include_str!("migrations/006_hazard_ledger.sql"),
    include_str!("migrations/007_reinspection.sql"),
    include_str!("migrations/008_ledger_columns.sql"),
    include_str!("migrations/009_enterprises.sql"),
    include_str!("migrations/010_supervision.sql"),
    include_str!("migrations/011_rate_hits.sql"),
    include_str!("migrations/012_risk_changes.sql"),
    include_str!("migrations/013_upload_leases.sql"),
    include_str!("migrations/014_risk_pruned.sql"),
    include_str!("migrations/015_uploads.sql"),
];

/// The schema version this build writes (the runner derives it; tests name it).
pub const SCHEMA_VERSION: u32 = migrations::version_of(MIGRATIONS);

/// How long the readiness check waits for the write lock: longer than any write the server
/// makes, shorter than a load balancer's probe timeout.
const READY_WAIT: Duration = Duration::from_secs(2);

/// How many read connections run at once.
const READERS: usize = 4;

/// SQLite storage (see the module docs). Cheap to clone: clones share the connections.
#[derive(Clone)]
pub struct SqliteStorage {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    read_permits: Semaphore,
    epoch: String,
    certificate_seed: [u8; 32],
    /// Reads and writes sent to another thread so far.
    hops: AtomicU64,
}

impl SqliteStorage {
    /// Opens (creating or upgrading) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> StorageResult<Self> {
        let path = path.as_ref().to_path_buf();
        let mut conn = Connection::open(&path)?;
        prepare_writer(&mut conn, &path)?;
        let epoch: String = conn.query_row(
            "SELECT value FROM server_meta WHERE key = 'epoch'",
            [],
            |r| r.get(0),
        )?;
        let certificate_seed = certificate_seed(&conn)?;
        let readers = (0..READERS)
            .map(|_| open_reader(&path))
            .collect::<StorageResult<_>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Writer::start(conn, &path)?,
                readers: Mutex::new(readers),
                read_permits: Semaphore::new(READERS),
                path,
                epoch,
                certificate_seed,
                hops: AtomicU64::new(0),
            }),
        })
    }

    /// How many reads and writes went to another thread (a blocking thread or the writer)
    /// so far: each costs two thread wake-ups, and the sync's tests count them.
    pub fn thread_hops(&self) -> u64 {
        self.inner.hops.load(Ordering::Relaxed)
    }

    /// How many WAL frames (database pages) the commits wrote so far: what a write costs the
    /// writer thread and the checkpoints, counted by the sync's tests.
    pub fn wal_frames_written(&self) -> u64 {
        self.inner
            .writer
            .wal_counts()
            .frames
            .load(Ordering::Relaxed)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Closes the storage: waits for reads in flight, closes the read connections, lets every
    /// queued write commit, folds the WAL into the database file and closes the writer. The
    /// file is then complete on its own. Later calls fail; closing twice is harmless.
    pub async fn close(&self) -> StorageResult<()> {
        // Every permit held: no read is running; closing the semaphore refuses later ones.
        let permits = u32::try_from(READERS).expect("a handful of readers");
        if let Ok(all) = self.inner.read_permits.acquire_many(permits).await {
            all.forget();
        }
        self.inner.read_permits.close();
        let readers = std::mem::take(&mut *self.lock_readers()?);
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            for conn in readers {
                if let Err((_, e)) = conn.close() {
                    tracing::warn!(error = %e, "closing a read connection failed");
                }
            }
            inner.writer.close();
        })
        .await
        .map_err(|e| StorageError::Backend(format!("closing the storage failed: {e}")))
    }

    /// The readiness check: a connection of its own (so the file is found at its path, not
    /// only through connections opened before it went away), the schema version, and a write
    /// lock taken and let go within [`READY_WAIT`].
    pub async fn check_ready(&self) -> StorageResult<()> {
        let path = self.inner.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(READY_WAIT)?;
            let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version != SCHEMA_VERSION {
                return Err(StorageError::Backend(format!(
                    "schema version {version}, this build needs {SCHEMA_VERSION}"
                )));
            }
            conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK")?;
            Ok(())
        })
        .await
        .map_err(|e| StorageError::Backend(format!("readiness task failed: {e}")))?
    }

    /// Runs `work` on a read connection on a blocking thread.
    async fn read<T, F>(&self, work: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        let _permit = self
            .inner
            .read_permits
            .acquire()
            .await
            .map_err(|_| StorageError::Backend("reader pool closed".into()))?;
        let _active = crate::metrics::read_active();
        self.inner.hops.fetch_add(1, Ordering::Relaxed);
        let pooled = self.lock_readers()?.pop();
        let conn = match pooled {
            Some(conn) => conn,
            // A reader is lost only if a read panicked; replace it.
            None => open_reader(&self.inner.path)?,
        };
        let (conn, out) = tokio::task::spawn_blocking(move || {
            let out = work(&conn);
            (conn, out)
        })
        .await
        .map_err(|e| StorageError::Backend(format!("read task failed: {e}")))?;
        self.lock_readers()?.push(conn);
        out
    }

    /// Runs `work`, an index lookup of a few rows, on the calling thread when a read
    /// connection is free at once; otherwise as [`SqliteStorage::read`] does. A hop to a
    /// blocking thread and back costs two thread wake-ups, more CPU than such a lookup of
    /// pages the OS holds in memory, and a sync made several (the token, the records' rows,
    /// the revoked devices, the cursor's change). Scans and whole records still hop.
    async fn lookup<T, F>(&self, work: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        let Ok(permit) = self.inner.read_permits.try_acquire() else {
            return self.read(work).await;
        };
        let pooled = self.lock_readers()?.pop();
        let Some(conn) = pooled else {
            // A reader was lost to a panic: `read` replaces it under a permit of its own.
            drop(permit);
            return self.read(work).await;
        };
        let _active = crate::metrics::read_active();
        // A panic in `work` drops the connection with it; `read` opens a new one when the
        // pool comes up short.
        let out = work(&conn);
        self.lock_readers()?.push(conn);
        out
    }

    /// Runs `work` in a write transaction.
    async fn write<T, F>(&self, work: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        self.inner.hops.fetch_add(1, Ordering::Relaxed);
        self.inner.writer.write(work).await
    }

    fn lock_readers(&self) -> StorageResult<std::sync::MutexGuard<'_, Vec<Connection>>> {
        self.inner
            .readers
            .lock()
            .map_err(|_| StorageError::Backend("reader pool poisoned".into()))
    }
}

fn prepare_writer(conn: &mut Connection, path: &Path) -> StorageResult<()> {
    // WAL with synchronous=FULL: an acknowledged change is on disk even if power fails, which
    // matters because the phone deletes it from its outbox on the acknowledgement.
    // The timeout first: switching to WAL needs a lock that another process (or a server
    // still closing) may hold for a moment.
    conn.busy_timeout(Duration::from_secs(10))?;
    plan_once(conn)?;
    switch_to_wal(conn, path)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    // Immediate: the write lock before the version is read, so that of processes opening a
    // new file at once one migrates and the others wait and find it done (a deferred
    // transaction would read, then fail to upgrade its lock).
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    migrations::upgrade(&tx, MIGRATIONS, "server").map_err(|e| match e {
        e @ MigrationError::TooNew { .. } => StorageError::Backend(e.to_string()),
        MigrationError::Sql(e) => e.into(),
    })?;
    tx.commit()?;
    Ok(())
}

/// Puts the database in WAL mode. SQLite answers "database is locked" at once, without
/// waiting out the busy timeout, when two connections switch a new file's journal mode at
/// the same moment; so the switch is made under an exclusive lock on the database's folder
/// (`flock`, apart from SQLite's own locks on the file), which processes opening it at once
/// take in turn. A file already in WAL mode needs no switch and no lock.
fn switch_to_wal(conn: &Connection, path: &Path) -> StorageResult<()> {
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    if mode.eq_ignore_ascii_case("wal") {
        return Ok(());
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let lock_error = |e: std::io::Error| {
        StorageError::Backend(format!(
            "locking {} to open the database: {e}",
            folder.display()
        ))
    };
    let guard = std::fs::File::open(folder).map_err(lock_error)?;
    guard.lock().map_err(lock_error)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // Dropping the folder's handle lets the lock go.
    drop(guard);
    Ok(())
}

/// The seed of the server's certificate key: made once, from the operating system's random
/// source, on the first start with this build; then read back on every start.
fn certificate_seed(conn: &Connection) -> StorageResult<[u8; 32]> {
    conn.execute(
        "INSERT OR IGNORE INTO server_meta (key, value) VALUES ('certificate_key', ?1)",
        [hex::encode(rand::random::<[u8; 32]>())],
    )?;
    let stored: String = conn.query_row(
        "SELECT value FROM server_meta WHERE key = 'certificate_key'",
        [],
        |r| r.get(0),
    )?;
    hex::decode(stored)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StorageError::Backend("stored certificate key is damaged".into()))
}

fn open_reader(path: &Path) -> StorageResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    plan_once(&conn)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Plans each statement once, whatever values are bound to it. Without this SQLite marks a
/// statement that binds a `LIMIT ?` or compares a column with `= ?` to be compiled again
/// whenever that value is bound anew, and rusqlite clears the bindings of every cached
/// statement it takes back: every cached read (the pull's scan, a record's changes) was
/// compiled again on each use, a sixth of the server's CPU under sync load. The plans do not
/// need the values: every query here is an index lookup or range.
fn plan_once(conn: &Connection) -> StorageResult<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cached_reads_are_compiled_once_whatever_values_are_bound() {
        use rusqlite::StatementStatus;
        use siteproof_core::{RecordId, Scope};

        let dir = tempfile::tempdir().expect("tempdir");
        let storage = SqliteStorage::open(dir.path().join("server.db")).expect("open");
        let recompiled = storage
            .read(|conn| {
                let id = RecordId::random();
                for after in 0..4u32 {
                    let query = crate::storage::ScanQuery {
                        scope: Scope::group("hebei", "g1"),
                        after: u64::from(after),
                        reader: None,
                    };
                    log::scan(conn, &query, 100 + after)?;
                    log::changes_after(conn, &id, u64::from(after))?;
                }
                let scan = conn
                    .prepare_cached(log::SCAN_SQL)?
                    .get_status(StatementStatus::RePrepare);
                let changes = conn
                    .prepare_cached(log::CHANGES_AFTER_SQL)?
                    .get_status(StatementStatus::RePrepare);
                Ok((scan, changes))
            })
            .await
            .expect("reads");
        assert_eq!(
            recompiled,
            (0, 0),
            "the pull's scan and a record's changes are compiled again on reuse"
        );
    }

    /// Commits never fold the WAL into the database themselves (SQLite's default: the commit
    /// that crosses 1,000 frames does, the syncs it acknowledges waiting): the checkpointer
    /// thread is asked once per `CHECKPOINT_FRAMES` frames written, each page then copied
    /// once however many commits wrote it since the last checkpoint.
    #[tokio::test]
    async fn commits_leave_checkpoints_to_their_thread_once_per_4000_frames() {
        use crate::storage::{PushWrite, RecordWrite, SyncStorage};
        use siteproof_core::{RecordHeader, RecordId, RecordKind, Scope};

        let dir = tempfile::tempdir().expect("tempdir");
        let storage = SqliteStorage::open(dir.path().join("server.db")).expect("open");
        // 120 commits of 40 changes of 3 KiB: about a page each, some 5,000 frames.
        for n in 0..120u8 {
            let write = PushWrite {
                pushed_by: None,
                records: vec![RecordWrite {
                    header: RecordHeader {
                        kind: RecordKind::Visit,
                        id: RecordId::random(),
                        scope: Scope::group("hebei", "g1"),
                    },
                    changes: (0..40)
                        .map(|_| (rand::random::<[u8; 32]>(), vec![n; 3 << 10]))
                        .collect(),
                    known_through: 0,
                    snapshot: None,
                }],
            };
            storage.store_push(&write).await.expect("stored");
        }
        let counts = storage.inner.writer.wal_counts();
        let frames = counts.frames.load(Ordering::Relaxed);
        let asked = counts.asked.load(Ordering::Relaxed);
        let limit = u64::try_from(writer::CHECKPOINT_FRAMES).expect("positive");
        assert!(frames > limit, "only {frames} frames written");
        assert!(
            (1..=frames / limit).contains(&asked),
            "the checkpointer was asked {asked} times for {frames} frames"
        );
        assert_eq!(
            counts.writer_checkpoints.load(Ordering::Relaxed),
            0,
            "a commit checkpointed"
        );
    }

    #[tokio::test]
    async fn reopening_keeps_the_epoch_and_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server.db");
        let epoch = SqliteStorage::open(&path)
            .expect("open")
            .inner
            .epoch
            .clone();
        assert_eq!(epoch.len(), 32);
        assert_eq!(
            SqliteStorage::open(&path).expect("reopen").inner.epoch,
            epoch
        );
        let other = SqliteStorage::open(dir.path().join("other.db")).expect("open other");
        assert_ne!(other.inner.epoch, epoch, "each database gets its own epoch");

        let conn = Connection::open(&path).expect("raw");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("bump");
        drop(conn);
        assert!(SqliteStorage::open(&path).is_err());
    }

    #[test]
    fn existing_cases_enter_the_hazard_ledger_found_when_their_finding_was() {
        let mut conn = Connection::open_in_memory().expect("db");
        let tx = conn.transaction().expect("tx");
        migrations::upgrade(&tx, &MIGRATIONS[..5], "server").expect("version 5");
        tx.execute_batch(
            "INSERT INTO bo_findings VALUES ('v1', 'f1', 'hebei', 'g1', 'gas', 'major', 1000);
             INSERT INTO bo_cases VALUES ('c1', 'hebei', 'g1', 'v1', 'f1', '厂', 'gas', 'major',
               '泄漏', 'rectifying', '厂', 5000, 0, 3000, NULL);
             UPDATE bo_index_state SET last_seq = 42;",
        )
        .expect("a version-5 ledger");
        migrations::upgrade(&tx, MIGRATIONS, "server").expect("upgrade");
        let (found, recorded, fixed): (i64, bool, bool) = tx
            .query_row(
                "SELECT opened_at, recorded, fixed_on_spot FROM bo_cases WHERE id = 'c1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("the case");
        assert_eq!(
            (found, recorded, fixed),
            (1000, true, false),
            "found when the finding was, owned by its record"
        );
        let seq: i64 = tx
            .query_row("SELECT last_seq FROM bo_index_state", [], |r| r.get(0))
            .expect("index state");
        assert_eq!(seq, 0, "the index reads every visit and case again");
    }
}
