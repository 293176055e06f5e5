//! The back office's connection to the server's SQLite (its own `bo_*` tables, migration 002)
//! and the group queries every feature shares. A feature not yet behind a store keeps its own
//! SQL beside it (the visit index, the ledger and the reports go through the storage's
//! `OfficeIndexStore`).

use std::path::Path;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::storage::SharedConnection;

pub use super::rows::{
    CaseRow, CollectionRow, FindingRow, IndexRows, LedgerFilter, ReinspectionRow, VisitCounts,
    VisitFilter, VisitRow,
};

/// The back office's connection. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    conn: SharedConnection,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("back office database: {e}"))
}

impl Db {
    /// Opens the server's database (already migrated by the sync storage).
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            conn: SharedConnection::open(path).map_err(internal)?,
        })
    }

    /// Runs `work` on the connection on a blocking thread.
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.conn.run(move |c| work(c).map_err(internal)).await
    }

    /// Waits for the work in flight and closes the connection.
    pub async fn close(&self) {
        self.conn.close().await;
    }
}

/// The distinct groups of the user's region, for the filter.
pub fn groups(conn: &Connection, region: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM groups WHERE region = ?1 ORDER BY id")?;
    stmt.query_map([region], |r| r.get(0))?.collect()
}

/// A migrated database and query plans, for the tests that keep a page's queries on indexes.
#[cfg(test)]
pub mod plans {
    use rusqlite::types::Value;
    use rusqlite::{Connection, params_from_iter};

    /// A database migrated to the current schema (kept while the folder lives).
    pub fn migrated() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server.db");
        drop(crate::storage::SqliteStorage::open(&path).expect("migrated"));
        let conn = Connection::open(&path).expect("open");
        (dir, conn)
    }

    /// The steps of `sql`'s plan.
    pub fn steps(conn: &Connection, sql: &str, args: &[Value]) -> Vec<String> {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))
            .expect("plan")
            .collect::<rusqlite::Result<_>>()
            .expect("plan rows")
    }

    /// Whether a plan reads the region's rows rather than one enterprise's: a step scans a
    /// table (not a subquery's rows), or searches an index by region (and time) alone.
    pub fn reads_the_region(steps: &[String]) -> bool {
        let subqueries: Vec<String> = steps
            .iter()
            .filter_map(|s| s.strip_prefix("CO-ROUTINE ").map(str::to_owned))
            .collect();
        steps.iter().any(|step| {
            let scan = step.starts_with("SCAN ")
                && !step.starts_with("SCAN (")
                && !subqueries.iter().any(|q| *step == format!("SCAN {q}"));
            let by_region = step.starts_with("SEARCH ")
                && step.contains("(region=?")
                && !step.contains("credit_code")
                && !step.contains("site");
            scan || by_region
        })
    }
}
