//! [`CustodyStore`] for SQLite: tables `custody_log` and `evidence` (migration 004). Every
//! write runs on the one writer connection inside its `BEGIN IMMEDIATE` transaction, and
//! SQLite lets one writer at a time into the file, across connections and processes: an
//! append reads the head and inserts the next entry with no other append between them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::SqliteStorage;
use crate::storage::custody::ChainCheck;
use crate::storage::{
    BrokenLink, CustodyEntry, CustodyEvent, CustodyStore, EvidenceRow, EvidenceSigner,
    StorageResult,
};

const SELECT: &str =
    "SELECT seq, at, actor, action, subject, details, prev_hash, entry_hash FROM custody_log";

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

/// Appends `event` at `at` inside the write transaction open on `conn` (which must hold the
/// write lock: the writer's savepoint inside `BEGIN IMMEDIATE`); returns the new entry.
pub(super) fn append_in(
    conn: &Connection,
    event: &CustodyEvent,
    at: i64,
) -> StorageResult<CustodyEntry> {
    let head: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, entry_hash FROM custody_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let entry = CustodyEntry::next(head, event, at)?;
    conn.prepare_cached(
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

#[async_trait]
impl CustodyStore for SqliteStorage {
    async fn append(&self, event: &CustodyEvent) -> StorageResult<CustodyEntry> {
        let event = event.clone();
        // The time is read under the write lock, so `at` follows the chain's order.
        self.write(move |conn| append_in(conn, &event, siteproof_core::now()))
            .await
    }

    async fn record_check(
        &self,
        row: &EvidenceRow,
        event: &CustodyEvent,
    ) -> StorageResult<CustodyEntry> {
        let (row, event) = (row.clone(), event.clone());
        self.write(move |conn| {
            // Read under the write lock, so `at` follows the chain's order.
            let at = siteproof_core::now();
            conn.prepare_cached(
                "INSERT OR REPLACE INTO evidence
                 (record_id, hash, size, signer, status, reason, statement, signature, checked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                row.record,
                row.hash,
                row.size as i64,
                row.signer,
                row.status,
                row.reason,
                row.statement,
                row.signature,
                at
            ])?;
            append_in(conn, &event, at)
        })
        .await
    }

    async fn checked(&self) -> StorageResult<Vec<(String, String)>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare("SELECT record_id, hash FROM evidence ORDER BY record_id, hash")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn evidence(
        &self,
        record: &str,
        hash: &str,
    ) -> StorageResult<Option<(EvidenceRow, Option<Vec<u8>>)>> {
        let (record, hash) = (record.to_owned(), hash.to_owned());
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT e.record_id, e.hash, e.size, e.signer, e.status, e.reason,
                     e.statement, e.signature, e.checked_at, d.public_key
                     FROM evidence e LEFT JOIN devices d ON d.id = e.signer
                     WHERE e.record_id = ?1 AND e.hash = ?2",
                )?
                .query_row([record, hash], |r| {
                    let size: i64 = r.get(2)?;
                    Ok((
                        EvidenceRow {
                            record: r.get(0)?,
                            hash: r.get(1)?,
                            size: size as u64,
                            signer: r.get(3)?,
                            status: r.get(4)?,
                            reason: r.get(5)?,
                            statement: r.get(6)?,
                            signature: r.get(7)?,
                            checked_at: r.get(8)?,
                        },
                        r.get(9)?,
                    ))
                })
                .optional()?)
        })
        .await
    }

    async fn statuses(&self, record: &str) -> StorageResult<BTreeMap<String, String>> {
        let record = record.to_owned();
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT hash, status FROM evidence WHERE record_id = ?1")?;
            let rows = stmt.query_map([record], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn signer(&self, id: &str) -> StorageResult<Option<EvidenceSigner>> {
        let id = id.to_owned();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT public_key, region, group_id FROM devices WHERE id = ?1")?
                .query_row([id], |r| {
                    Ok(EvidenceSigner {
                        public_key: r.get(0)?,
                        region: r.get(1)?,
                        group: r.get(2)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    async fn verify_chain(&self) -> StorageResult<Result<u64, BrokenLink>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY seq"))?;
            let mut rows = stmt.query([])?;
            let mut check = ChainCheck::default();
            while let Some(row) = rows.next()? {
                if let Err(broken) = check.push(&entry_row(row)?) {
                    return Ok(Err(broken));
                }
            }
            Ok(Ok(check.entries()))
        })
        .await
    }

    async fn entries_about(&self, subjects: &[String]) -> StorageResult<Vec<CustodyEntry>> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let subjects = subjects.to_vec();
        self.read(move |conn| {
            let marks = vec!["?"; subjects.len()].join(",");
            let mut stmt =
                conn.prepare(&format!("{SELECT} WHERE subject IN ({marks}) ORDER BY seq"))?;
            let rows = stmt.query_map(params_from_iter(&subjects), entry_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn head(&self) -> StorageResult<Option<CustodyEntry>> {
        self.read(|conn| {
            Ok(conn
                .prepare(&format!("{SELECT} ORDER BY seq DESC LIMIT 1"))?
                .query_row([], entry_row)
                .optional()?)
        })
        .await
    }
}
