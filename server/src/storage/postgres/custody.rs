//! [`CustodyStore`] for PostgreSQL: tables `custody_log` and `evidence` (migration 008). An
//! append takes [`CUSTODY_LOCK`] (a transaction-scoped advisory lock on the chain's head)
//! before it reads the head, and keeps it until its commit, so appends from every process
//! run one at a time and the chain has one order; the entry's `at` is the database's clock
//! read under the lock, so it never runs backwards along the chain across processes whose
//! own clocks differ.

use std::collections::BTreeMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use futures_util::{TryStreamExt, pin_mut};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PostgresStorage;
use crate::storage::custody::ChainCheck;
use crate::storage::{
    BrokenLink, CustodyEntry, CustodyEvent, CustodyStore, EvidenceRow, EvidenceSigner,
    StorageResult,
};

/// The advisory lock every append holds from reading the chain's head to its commit.
const CUSTODY_LOCK: i64 = 0x7370_4355_5354_4f44;

const SELECT: &str =
    "SELECT seq, at, actor, action, subject, details, prev_hash, entry_hash FROM custody_log";

fn entry_row(r: &Row) -> CustodyEntry {
    CustodyEntry {
        seq: r.get(0),
        at: r.get(1),
        actor: r.get(2),
        action: r.get(3),
        subject: r.get(4),
        details: r.get(5),
        prev_hash: r.get(6),
        entry_hash: r.get(7),
    }
}

/// Takes the chain's lock until `tx` ends and returns the database's time (ms) as of then.
pub(super) async fn lock_chain(tx: &deadpool_postgres::Transaction<'_>) -> StorageResult<i64> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CUSTODY_LOCK])
        .await?;
    let now = tx
        .query_one(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT",
            &[],
        )
        .await?;
    Ok(now.get(0))
}

/// Appends `event` at `at` inside `tx`, which holds the chain's lock.
pub(super) async fn append_in(
    tx: &deadpool_postgres::Transaction<'_>,
    event: &CustodyEvent,
    at: i64,
) -> StorageResult<CustodyEntry> {
    let head = tx
        .query_opt(
            "SELECT seq, entry_hash FROM custody_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?
        .map(|r| (r.get(0), r.get(1)));
    let entry = CustodyEntry::next(head, event, at)?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO custody_log (seq, at, actor, action, subject, details, prev_hash, entry_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &entry.seq,
            &entry.at,
            &entry.actor,
            &entry.action,
            &entry.subject,
            &entry.details,
            &entry.prev_hash,
            &entry.entry_hash,
        ],
    )
    .await?;
    crate::metrics::custody_append(&entry.action);
    Ok(entry)
}

#[async_trait]
impl CustodyStore for PostgresStorage {
    async fn append(&self, event: &CustodyEvent) -> StorageResult<CustodyEntry> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let at = lock_chain(&tx).await?;
        let entry = append_in(&tx, event, at).await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn record_check(
        &self,
        row: &EvidenceRow,
        event: &CustodyEvent,
    ) -> StorageResult<CustodyEntry> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let at = lock_chain(&tx).await?;
        let upsert = tx
            .prepare_cached(
                "INSERT INTO evidence
                 (record_id, hash, size, signer, status, reason, statement, signature, checked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (record_id, hash) DO UPDATE SET size = excluded.size,
                 signer = excluded.signer, status = excluded.status, reason = excluded.reason,
                 statement = excluded.statement, signature = excluded.signature,
                 checked_at = excluded.checked_at",
            )
            .await?;
        tx.execute(
            &upsert,
            &[
                &row.record,
                &row.hash,
                &(row.size as i64),
                &row.signer,
                &row.status,
                &row.reason,
                &row.statement,
                &row.signature,
                &at,
            ],
        )
        .await?;
        let entry = append_in(&tx, event, at).await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn checked(&self) -> StorageResult<Vec<(String, String)>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT record_id, hash FROM evidence
                 ORDER BY record_id COLLATE \"C\", hash COLLATE \"C\"",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn evidence(
        &self,
        record: &str,
        hash: &str,
    ) -> StorageResult<Option<(EvidenceRow, Option<Vec<u8>>)>> {
        let conn = self.conn().await?;
        let found = conn
            .query_opt(
                "SELECT e.record_id, e.hash, e.size, e.signer, e.status, e.reason,
                 e.statement, e.signature, e.checked_at, d.public_key
                 FROM evidence e LEFT JOIN devices d ON d.id = e.signer
                 WHERE e.record_id = $1 AND e.hash = $2",
                &[&record, &hash],
            )
            .await?;
        Ok(found.map(|r| {
            let size: i64 = r.get(2);
            (
                EvidenceRow {
                    record: r.get(0),
                    hash: r.get(1),
                    size: size as u64,
                    signer: r.get(3),
                    status: r.get(4),
                    reason: r.get(5),
                    statement: r.get(6),
                    signature: r.get(7),
                    checked_at: r.get(8),
                },
                r.get(9),
            )
        }))
    }

    async fn statuses(&self, record: &str) -> StorageResult<BTreeMap<String, String>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT hash, status FROM evidence WHERE record_id = $1",
                &[&record],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn signer(&self, id: &str) -> StorageResult<Option<EvidenceSigner>> {
        let conn = self.conn().await?;
        let found = conn
            .query_opt(
                "SELECT public_key, region, group_id FROM devices WHERE id = $1",
                &[&id],
            )
            .await?;
        Ok(found.map(|r| EvidenceSigner {
            public_key: r.get(0),
            region: r.get(1),
            group: r.get(2),
        }))
    }

    async fn verify_chain(&self) -> StorageResult<Result<u64, BrokenLink>> {
        let conn = self.conn().await?;
        let no_params: [&(dyn ToSql + Sync); 0] = [];
        let rows = conn
            .query_raw(&format!("{SELECT} ORDER BY seq"), no_params)
            .await?;
        pin_mut!(rows);
        let mut check = ChainCheck::default();
        while let Some(row) = rows.try_next().await? {
            if let Err(broken) = check.push(&entry_row(&row)) {
                return Ok(Err(broken));
            }
        }
        Ok(Ok(check.entries()))
    }

    async fn entries_about(&self, subjects: &[String]) -> StorageResult<Vec<CustodyEntry>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!("{SELECT} WHERE subject = ANY ($1::text[]) ORDER BY seq"),
                &[&subjects],
            )
            .await?;
        Ok(rows.iter().map(entry_row).collect())
    }

    async fn head(&self) -> StorageResult<Option<CustodyEntry>> {
        let conn = self.conn().await?;
        let found = conn
            .query_opt(&format!("{SELECT} ORDER BY seq DESC LIMIT 1"), &[])
            .await?;
        Ok(found.as_ref().map(entry_row))
    }
}
