//! The chain of custody: an append-only, hash-chained log in the server's SQLite
//! (`custody_log`, migration 003).
//!
//! Each entry's hash is SHA-256 over its canonical text (`docs/evidence.md`):
//!
//! ```text
//! siteproof-custody-v1\n<seq>\n<at>\n<actor>\n<action>\n<subject>\n<details>\n<prev_hash>\n
//! ```
//!
//! `details` is the stored JSON text as is; no field may hold a line break (JSON text made by
//! serde never does; actors, actions and subjects are checked). `prev_hash` is the previous
//! entry's `entry_hash`, 64 zeros for seq 1. An append reads the last entry and inserts the
//! next inside a `BEGIN IMMEDIATE` transaction: SQLite lets one writer at a time in, across
//! connections and processes, so the chain cannot fork.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first line of every entry's canonical text.
pub const ENTRY_VERSION: &str = "siteproof-custody-v1";
/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What is appended: the event, before it gets its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustodyEvent {
    /// Who: `device:<id>`, `user:<login>`, `admin` or `server`.
    pub actor: String,
    /// What: `upload`, `verify`, `view`, `export`, `case_event`.
    pub action: String,
    /// On what: a blob hash or a record id.
    pub subject: String,
    /// Anything else, as a JSON object.
    pub details: serde_json::Value,
}

/// One entry as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When, ms since the Unix epoch.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub subject: String,
    /// JSON text, hashed as stored.
    pub details: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// SHA-256 of this entry's canonical text, hex.
    pub entry_hash: String,
}

impl CustodyEntry {
    /// The canonical text the entry hash covers.
    pub fn canonical(&self) -> String {
        format!(
            "{ENTRY_VERSION}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
            self.seq, self.at, self.actor, self.action, self.subject, self.details, self.prev_hash
        )
    }

    /// The hash this entry should have.
    pub fn computed_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical().as_bytes()))
    }
}

/// Where a chain check failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BrokenLink {
    /// An entry's stored hash is not the hash of its content (it was edited).
    #[error("custody entry {seq}: its content does not match its hash")]
    Altered {
        /// The entry.
        seq: i64,
    },
    /// An entry does not name the previous entry's hash (one was removed, inserted or
    /// rewritten before it).
    #[error("custody entry {seq}: it does not follow the entry before it")]
    Unlinked {
        /// The entry.
        seq: i64,
    },
    /// A sequence number is missing.
    #[error("custody entry {seq}: missing (the chain jumps past it)")]
    Missing {
        /// The first missing seq.
        seq: i64,
    },
}

impl BrokenLink {
    /// The seq at which the chain breaks.
    pub fn seq(&self) -> i64 {
        match self {
            BrokenLink::Altered { seq }
            | BrokenLink::Unlinked { seq }
            | BrokenLink::Missing { seq } => *seq,
        }
    }
}

fn one_line(what: &str, value: &str) -> rusqlite::Result<()> {
    if value.contains(['\n', '\r']) {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "custody {what} must be one line"
        )));
    }
    Ok(())
}

/// Appends `event` inside `tx` (which must be `IMMEDIATE`, so no other writer runs between
/// reading the last entry and inserting this one); returns the new entry.
pub fn append_in(
    tx: &Transaction<'_>,
    event: &CustodyEvent,
    at: i64,
) -> rusqlite::Result<CustodyEntry> {
    one_line("actor", &event.actor)?;
    one_line("action", &event.action)?;
    one_line("subject", &event.subject)?;
    let last: Option<(i64, String)> = tx
        .prepare_cached("SELECT seq, entry_hash FROM custody_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (prev_seq, prev_hash) = last.unwrap_or((0, GENESIS.to_owned()));
    let mut entry = CustodyEntry {
        seq: prev_seq + 1,
        at,
        actor: event.actor.clone(),
        action: event.action.clone(),
        subject: event.subject.clone(),
        details: event.details.to_string(),
        prev_hash,
        entry_hash: String::new(),
    };
    entry.entry_hash = entry.computed_hash();
    tx.prepare_cached(
        "INSERT INTO custody_log (seq, at, actor, action, subject, details, prev_hash, entry_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.subject,
        entry.details,
        entry.prev_hash,
        entry.entry_hash
    ])?;
    // Counted when written; the rare transaction rolled back after it is counted too.
    crate::metrics::custody_append(&entry.action);
    Ok(entry)
}

/// Appends `event` in a transaction of its own.
pub fn append(conn: &mut Connection, event: &CustodyEvent) -> rusqlite::Result<CustodyEntry> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let entry = append_in(&tx, event, siteproof_core::now())?;
    tx.commit()?;
    Ok(entry)
}

fn entry_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CustodyEntry> {
    Ok(CustodyEntry {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        subject: r.get(4)?,
        details: r.get(5)?,
        prev_hash: r.get(6)?,
        entry_hash: r.get(7)?,
    })
}

const SELECT: &str =
    "SELECT seq, at, actor, action, subject, details, prev_hash, entry_hash FROM custody_log";

/// Checks the whole chain in order; `Ok(entries)` when every link holds.
pub fn verify_chain(conn: &Connection) -> rusqlite::Result<Result<u64, BrokenLink>> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY seq"))?;
    let mut rows = stmt.query([])?;
    let (mut expected_seq, mut prev) = (1i64, GENESIS.to_owned());
    while let Some(row) = rows.next()? {
        let entry = entry_row(row)?;
        if entry.seq != expected_seq {
            return Ok(Err(BrokenLink::Missing { seq: expected_seq }));
        }
        if entry.prev_hash != prev {
            return Ok(Err(BrokenLink::Unlinked { seq: entry.seq }));
        }
        if entry.computed_hash() != entry.entry_hash {
            return Ok(Err(BrokenLink::Altered { seq: entry.seq }));
        }
        prev = entry.entry_hash;
        expected_seq += 1;
    }
    Ok(Ok((expected_seq - 1) as u64))
}

/// Every entry whose subject is one of `subjects`, in chain order.
pub fn entries_about(
    conn: &Connection,
    subjects: &[String],
) -> rusqlite::Result<Vec<CustodyEntry>> {
    let marks = vec!["?"; subjects.len().max(1)].join(",");
    let mut stmt = conn.prepare(&format!("{SELECT} WHERE subject IN ({marks}) ORDER BY seq"))?;
    let empty = [String::new()];
    let args = if subjects.is_empty() {
        &empty[..]
    } else {
        subjects
    };
    let rows = stmt.query_map(rusqlite::params_from_iter(args), entry_row)?;
    rows.collect()
}

/// The last entry (the chain's head), if any.
pub fn head(conn: &Connection) -> rusqlite::Result<Option<CustodyEntry>> {
    conn.prepare(&format!("{SELECT} ORDER BY seq DESC LIMIT 1"))?
        .query_row([], entry_row)
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().expect("memory db");
        conn.execute_batch(
            "CREATE TABLE custody_log (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL,
             actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,
             details TEXT NOT NULL, prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL)",
        )
        .expect("schema");
        conn
    }

    fn event(n: u32) -> CustodyEvent {
        CustodyEvent {
            actor: "admin".into(),
            action: "view".into(),
            subject: format!("s{n}"),
            details: serde_json::json!({ "n": n }),
        }
    }

    #[test]
    fn appended_entries_chain_and_an_edit_breaks_the_chain_at_its_seq() {
        let mut conn = db();
        for n in 0..4 {
            append(&mut conn, &event(n)).expect("append");
        }
        assert_eq!(verify_chain(&conn).expect("read"), Ok(4));
        conn.execute(
            "UPDATE custody_log SET details = '{\"n\":9}' WHERE seq = 3",
            [],
        )
        .expect("forge");
        assert_eq!(
            verify_chain(&conn).expect("read"),
            Err(BrokenLink::Altered { seq: 3 })
        );
    }

    #[test]
    fn a_line_break_in_a_field_is_refused() {
        let mut conn = db();
        let mut bad = event(1);
        bad.actor = "user:a\nb".into();
        assert!(append(&mut conn, &bad).is_err());
    }
}
