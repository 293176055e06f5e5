//! The one migration runner of siteproof's SQLite files, the phone's store
//! (`store/schema.rs`) and the server's database (`server/src/storage/sqlite/mod.rs`): each
//! schema is a list of numbered SQL migrations, and the database's `user_version` says how
//! many have run. A database from a newer build is refused rather than guessed at.

use rusqlite::Transaction;

/// Why a schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The database was written by a newer build.
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    TooNew {
        /// Version found.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// SQLite failed.
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

/// The version a list of migrations brings a schema to.
pub const fn version_of(migrations: &[&str]) -> u32 {
    migrations.len() as u32
}

/// Runs, inside `tx`, the migrations the database has not run yet (migration `i` upgrades from
/// version `i` to `i + 1`) and records the new version. `schema` names it in the log.
pub fn upgrade(
    tx: &Transaction<'_>,
    migrations: &[&str],
    schema: &str,
) -> Result<(), MigrationError> {
    let supported = version_of(migrations);
    let found: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > supported {
        return Err(MigrationError::TooNew { found, supported });
    }
    for (i, sql) in migrations.iter().enumerate().skip(found as usize) {
        // Every phone store of the demo and the client migrates: debug, not info.
        tracing::debug!(to = i + 1, "migrating {schema} schema");
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", supported)?;
    Ok(())
}
