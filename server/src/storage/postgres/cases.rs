//! [`CaseStore`] for PostgreSQL: table `bo_cases` (migration 009) beside the change log and
//! `custody_log`. A case write is one transaction that takes the log's append lock before it
//! checks what the office read (so a writer of the same case on another process waits for
//! this one's commit, then finds the record changed), then the chain's lock for the custody
//! entry: always in that order, so no two writers wait on each other.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PostgresStorage;
use super::custody::{append_in, lock_chain};
use super::log::{lock_appends, record_exists, store_push};
use crate::storage::columns::to_sql_seq;
use crate::storage::{
    CaseRow, CaseStore, CustodyEntry, CustodyEvent, PushWrite, RecordWrite, RowFilter,
    StorageError, StorageResult,
};

pub(super) const COLUMNS: &str = "c.id, c.region, c.grp, c.visit_id, c.finding_id, c.site, c.sector, \
                       c.severity, c.description, c.status, c.unit, c.deadline, c.escalated, \
                       c.opened_at, c.closed_at, c.fixed_on_spot, c.recorded";

pub(super) fn case_row(r: &Row) -> CaseRow {
    CaseRow {
        id: r.get(0),
        region: r.get(1),
        group: r.get(2),
        visit_id: r.get(3),
        finding_id: r.get(4),
        site: r.get(5),
        sector: r.get(6),
        severity: r.get(7),
        description: r.get(8),
        status: r.get(9),
        unit: r.get(10),
        deadline: r.get(11),
        escalated: r.get(12),
        opened_at: r.get(13),
        closed_at: r.get(14),
        fixed_on_spot: r.get(15),
        recorded: r.get(16),
    }
}

/// A `Conflict` unless the record is as the writer read it (the caller holds the append
/// lock): absent for a new case, else with no change stored after `known_through`.
async fn check_read(
    tx: &deadpool_postgres::Transaction<'_>,
    record: &RecordWrite,
) -> StorageResult<()> {
    let id = &record.header.id;
    if record.known_through == 0 {
        if record_exists(tx, id).await? {
            return Err(StorageError::Conflict(format!(
                "case {id} is already opened"
            )));
        }
        return Ok(());
    }
    let last: Option<i64> = tx
        .query_one(
            "SELECT MAX(seq) FROM changes WHERE doc_id = $1",
            &[&id.as_str()],
        )
        .await?
        .get(0);
    if last != Some(to_sql_seq(record.known_through)?) {
        return Err(StorageError::Conflict(format!(
            "case {id} was written since it was read"
        )));
    }
    Ok(())
}

/// Writes a case record's row; it replaces the finding's entry and keeps when the hazard
/// was found.
pub(super) async fn put_row(
    tx: &deadpool_postgres::Transaction<'_>,
    c: &CaseRow,
) -> StorageResult<()> {
    let (listed, open_deadline) = c.ledger_columns();
    let upsert = tx
        .prepare_cached(
            "INSERT INTO bo_cases
             (id, region, grp, visit_id, finding_id, site, sector, severity, description, status,
              unit, deadline, escalated, opened_at, closed_at, fixed_on_spot, recorded, listed,
              open_deadline)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, TRUE,
              $17, $18)
             ON CONFLICT (id) DO UPDATE SET region = excluded.region, grp = excluded.grp,
              site = excluded.site, sector = excluded.sector, severity = excluded.severity,
              description = excluded.description, status = excluded.status,
              unit = excluded.unit, deadline = excluded.deadline,
              escalated = excluded.escalated, closed_at = excluded.closed_at,
              fixed_on_spot = excluded.fixed_on_spot, recorded = TRUE,
              listed = excluded.listed, open_deadline = excluded.open_deadline",
        )
        .await?;
    tx.execute(
        &upsert,
        &[
            &c.id,
            &c.region,
            &c.group,
            &c.visit_id,
            &c.finding_id,
            &c.site,
            &c.sector,
            &c.severity,
            &c.description,
            &c.status,
            &c.unit,
            &c.deadline,
            &c.escalated,
            &c.opened_at,
            &c.closed_at,
            &c.fixed_on_spot,
            &listed,
            &open_deadline,
        ],
    )
    .await?;
    Ok(())
}

impl PostgresStorage {
    async fn one_case(
        &self,
        rows: &RowFilter,
        key: &[&str],
        values: &[&str],
    ) -> StorageResult<Option<CaseRow>> {
        let visible = rows.to_postgres("c", values.len() + 1);
        let condition: Vec<String> = key
            .iter()
            .enumerate()
            .map(|(i, column)| format!("c.{column} = ${}", i + 1))
            .collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM bo_cases c WHERE {}{}",
            condition.join(" AND "),
            visible.sql
        );
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
        for v in values {
            params.push(v);
        }
        params.extend(visible.params());
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(&sql).await?;
        Ok(conn.query_opt(&stmt, &params).await?.as_ref().map(case_row))
    }
}

#[async_trait]
impl CaseStore for PostgresStorage {
    async fn write_case(
        &self,
        record: &RecordWrite,
        row: &CaseRow,
        custody: &CustodyEvent,
    ) -> StorageResult<CustodyEntry> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        lock_appends(&tx).await?;
        check_read(&tx, record).await?;
        store_push(
            &tx,
            &PushWrite {
                pushed_by: None,
                records: vec![record.clone()],
            },
        )
        .await?;
        put_row(&tx, row).await?;
        let at = lock_chain(&tx).await?;
        let entry = append_in(&tx, custody, at).await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn case_row(&self, rows: &RowFilter, id: &str) -> StorageResult<Option<CaseRow>> {
        self.one_case(rows, &["id"], &[id]).await
    }

    async fn case_of_finding(
        &self,
        rows: &RowFilter,
        visit: &str,
        finding: &str,
    ) -> StorageResult<Option<CaseRow>> {
        self.one_case(rows, &["visit_id", "finding_id"], &[visit, finding])
            .await
    }
}
