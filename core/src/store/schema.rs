//! The versioned SQLite schema of the store. Each migration is a numbered `.sql` file, run by
//! the shared runner (`crate::migrations`).

use rusqlite::Connection;

use crate::migrations::{self, MigrationError};

use crate::error::{Error, Result};

/// The migrations, in order; migration `i` upgrades from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("sql/001_initial.sql"),
    include_str!("sql/002_templates_conflicts.sql"),
    include_str!("sql/003_media.sql"),
    include_str!("sql/004_media_keys.sql"),
    include_str!("sql/005_unreadable.sql"),
    include_str!("sql/006_peer_media.sql"),
    include_str!("sql/007_directory.sql"),
];

/// The schema version this build writes (the runner derives it; tests name it).
#[cfg(test)]
pub const VERSION: u32 = migrations::version_of(MIGRATIONS);

/// Sets the connection's durability and brings the schema up to [`VERSION`].
pub fn prepare(conn: &mut Connection) -> Result<()> {
    // WAL with synchronous=FULL: a commit that returned is on disk, even if power fails.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // One plan per statement, whatever is bound: otherwise a cached statement with `col = ?`
    // or `LIMIT ?` is compiled again on each use (rusqlite clears its bindings when it takes
    // it back, and SQLite then plans it anew), which a pull pays for every record it writes.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    let tx = conn.transaction()?;
    migrations::upgrade(&tx, MIGRATIONS, "store").map_err(|e| match e {
        MigrationError::TooNew { found, supported } => Error::SchemaTooNew { found, supported },
        MigrationError::Sql(e) => e.into(),
    })?;
    tx.commit()?;
    Ok(())
}

/// Applies only the first `version` migrations: for tests that build an old database.
#[cfg(test)]
fn create_at_version(conn: &mut Connection, version: u32) -> Result<()> {
    let tx = conn.transaction()?;
    for sql in &MIGRATIONS[..version as usize] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", version)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn table_columns(conn: &Connection, table: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .expect("prepare");
        let mut cols: Vec<String> = stmt
            .query_map([], |r| r.get(1))
            .expect("q")
            .collect::<Result<_, _>>()
            .expect("rows");
        cols.sort();
        cols
    }

    #[test]
    fn upgrading_a_version_1_database_matches_a_fresh_one_and_keeps_rows() {
        let mut old = Connection::open_in_memory().expect("open");
        create_at_version(&mut old, 1).expect("v1");
        old.execute_batch(
            "INSERT INTO records VALUES ('v1', 'visit', 'r', 'g', 5);
             INSERT INTO visit_index VALUES ('v1', 'Site', 'gas', 'covert', 5, NULL, 3, 1, 2);",
        )
        .expect("seed old rows");
        prepare(&mut old).expect("upgrade");

        let mut fresh = Connection::open_in_memory().expect("open");
        prepare(&mut fresh).expect("fresh");

        let names = |s: Vec<(String, String)>| s.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(names(schema_of(&old)), names(schema_of(&fresh)));
        for table in [
            "meta",
            "records",
            "doc_chunks",
            "outbox",
            "visit_index",
            "template_index",
            "media",
            "upload_queue",
            "media_keys",
            "unreadable",
            "directory_index",
        ] {
            assert_eq!(
                table_columns(&old, table),
                table_columns(&fresh, table),
                "{table}"
            );
        }
        let version: u32 = old
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("v");
        assert_eq!(version, VERSION);
        let (answered, conflicts): (u32, u32) = old
            .query_row(
                "SELECT answered, conflicts FROM visit_index WHERE id='v1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("row kept");
        assert_eq!((answered, conflicts), (3, 0));
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "user_version", VERSION + 1)
            .expect("set");
        assert!(matches!(
            prepare(&mut conn),
            Err(Error::SchemaTooNew { .. })
        ));
    }
}
