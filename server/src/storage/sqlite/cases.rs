//! [`CaseStore`] for SQLite: table `bo_cases` (migrations 002, 006, 008) beside the change log
//! and `custody_log`. A case write runs as one job of the one writer connection, in its own
//! savepoint inside `BEGIN IMMEDIATE`: the check of what the office read, the record's
//! changes, the row and the custody entry commit together, and no other writer of the file
//! (another process, the office's index) runs between the check and the commit.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::SqliteStorage;
use super::custody::append_in;
use super::log::{record_exists, store_push};
use crate::storage::columns::to_sql_seq;
use crate::storage::{
    CaseRow, CaseStore, CustodyEntry, CustodyEvent, PushWrite, RecordWrite, RowFilter,
    StorageError, StorageResult,
};

/// The columns [`case_row`] reads, of `bo_cases` as `c`.
pub const COLUMNS: &str = "c.id, c.region, c.grp, c.visit_id, c.finding_id, c.site, c.sector, \
                       c.severity, c.description, c.status, c.unit, c.deadline, c.escalated, \
                       c.opened_at, c.closed_at, c.fixed_on_spot, c.recorded";

/// A ledger row read from [`COLUMNS`].
pub fn case_row(r: &Row<'_>) -> rusqlite::Result<CaseRow> {
    Ok(CaseRow {
        id: r.get(0)?,
        region: r.get(1)?,
        group: r.get(2)?,
        visit_id: r.get(3)?,
        finding_id: r.get(4)?,
        site: r.get(5)?,
        sector: r.get(6)?,
        severity: r.get(7)?,
        description: r.get(8)?,
        status: r.get(9)?,
        unit: r.get(10)?,
        deadline: r.get(11)?,
        escalated: r.get(12)?,
        opened_at: r.get(13)?,
        closed_at: r.get(14)?,
        fixed_on_spot: r.get(15)?,
        recorded: r.get(16)?,
    })
}

/// A `Conflict` unless the record is as the writer read it: absent for a new case, else with
/// no change stored after `known_through`.
fn check_read(conn: &Connection, record: &RecordWrite) -> StorageResult<()> {
    let id = &record.header.id;
    if record.known_through == 0 {
        if record_exists(conn, id)? {
            return Err(StorageError::Conflict(format!(
                "case {id} is already opened"
            )));
        }
        return Ok(());
    }
    let last: Option<i64> = conn
        .prepare_cached("SELECT MAX(seq) FROM changes WHERE doc_id = ?1")?
        .query_row([id.as_str()], |r| r.get(0))?;
    if last != Some(to_sql_seq(record.known_through)?) {
        return Err(StorageError::Conflict(format!(
            "case {id} was written since it was read"
        )));
    }
    Ok(())
}

/// Writes a case record's row inside the write transaction open on `conn`; it replaces the
/// finding's entry and keeps when the hazard was found. The office's visit index rebuilds the
/// rows of case records it reads from the log through this.
pub fn put_row(conn: &Connection, c: &CaseRow) -> StorageResult<()> {
    let (listed, open_deadline) = c.ledger_columns();
    conn.prepare_cached(
        "INSERT OR REPLACE INTO bo_cases
         (id, region, grp, visit_id, finding_id, site, sector, severity, description, status,
          unit, deadline, escalated, opened_at, closed_at, fixed_on_spot, recorded, listed,
          open_deadline)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
          COALESCE((SELECT opened_at FROM bo_cases WHERE visit_id = ?4 AND finding_id = ?5), ?14),
          ?15, ?16, 1, ?17, ?18)",
    )?
    .execute(params![
        c.id,
        c.region,
        c.group,
        c.visit_id,
        c.finding_id,
        c.site,
        c.sector,
        c.severity,
        c.description,
        c.status,
        c.unit,
        c.deadline,
        c.escalated,
        c.opened_at,
        c.closed_at,
        c.fixed_on_spot,
        listed,
        open_deadline
    ])?;
    Ok(())
}

impl SqliteStorage {
    async fn one_case(
        &self,
        rows: &RowFilter,
        key: &'static str,
        values: Vec<String>,
    ) -> StorageResult<Option<CaseRow>> {
        let visible = rows.to_sqlite("c");
        self.read(move |conn| {
            let mut sql = format!("SELECT {COLUMNS} FROM bo_cases c WHERE {key}");
            let mut args: Vec<Value> = values.into_iter().map(Value::Text).collect();
            visible.append_to(&mut sql, &mut args);
            Ok(conn
                .prepare_cached(&sql)?
                .query_row(params_from_iter(args.iter()), case_row)
                .optional()?)
        })
        .await
    }
}

#[async_trait]
impl CaseStore for SqliteStorage {
    async fn write_case(
        &self,
        record: &RecordWrite,
        row: &CaseRow,
        custody: &CustodyEvent,
    ) -> StorageResult<CustodyEntry> {
        let (record, row, custody) = (record.clone(), row.clone(), custody.clone());
        self.write(move |conn| {
            check_read(conn, &record)?;
            store_push(
                conn,
                &PushWrite {
                    pushed_by: None,
                    records: vec![record],
                },
            )?;
            put_row(conn, &row)?;
            append_in(conn, &custody, siteproof_core::now())
        })
        .await
    }

    async fn case_row(&self, rows: &RowFilter, id: &str) -> StorageResult<Option<CaseRow>> {
        self.one_case(rows, "c.id = ?", vec![id.to_owned()]).await
    }

    async fn case_of_finding(
        &self,
        rows: &RowFilter,
        visit: &str,
        finding: &str,
    ) -> StorageResult<Option<CaseRow>> {
        self.one_case(
            rows,
            "c.visit_id = ? AND c.finding_id = ?",
            vec![visit.to_owned(), finding.to_owned()],
        )
        .await
    }
}
