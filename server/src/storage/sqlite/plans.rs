//! Query plans, for the tests that keep a page's queries on indexes.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

/// A database migrated to the current schema (kept while the folder lives).
pub fn migrated() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("server.db");
    drop(super::SqliteStorage::open(&path).expect("migrated"));
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
