//! The embedded database as a file: one consistent copy of it taken while the server writes
//! (SQLite's online backup), and its integrity check, for `siteproof admin backup` and
//! `restore` (`crate::backup`).

use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::storage::{StorageError, StorageResult};

/// How often a copy that meets a lock tries again, and how long it pauses each time.
const LOCK_WAITS: u32 = 500;
const LOCK_PAUSE: Duration = Duration::from_millis(20);

/// Why a copy was not made.
#[derive(Debug, thiserror::Error)]
pub enum FileCopyError {
    /// SQLite refused.
    #[error("the database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database stayed locked while the copy was tried again for a while.
    #[error("the database stayed locked for 10 s; try again")]
    Locked,
}

/// Copies the database file `source` into `target` (which it creates) as one committed
/// state, in one file (no WAL beside it).
pub fn copy_database_file(source: &Path, target: &Path) -> Result<(), FileCopyError> {
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(Duration::from_secs(10))?;
    let mut dst = Connection::open(target)?;
    {
        // All pages in one step: one read transaction, so one committed state. A step that
        // meets a lock waits and tries again, for a while.
        let copy = Backup::new(&src, &mut dst)?;
        let mut waits = 0;
        loop {
            match copy.step(-1)? {
                StepResult::Done => break,
                StepResult::Busy | StepResult::Locked if waits < LOCK_WAITS => {
                    waits += 1;
                    std::thread::sleep(LOCK_PAUSE);
                }
                StepResult::Busy | StepResult::Locked => return Err(FileCopyError::Locked),
                // More (and any outcome newer SQLite versions add): step again.
                _ => {}
            }
        }
    }
    // The copy keeps the source's WAL mode; a backup file is better as one file.
    dst.pragma_update(None, "journal_mode", "DELETE")?;
    Ok(())
}

/// SQLite's integrity check of the database file at `path`: `ok`, or what is wrong.
pub fn check_database_file(path: &Path) -> StorageResult<String> {
    let conn = Connection::open(path)?;
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(StorageError::from)
}
