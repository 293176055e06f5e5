//! [`AssignmentStore`] for SQLite: table `bo_assignments` (migration 003) beside the change
//! log. An issue runs as one job of the one writer connection, in its own savepoint: the
//! record's absence, the record and the row commit together or not at all.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Row, params, params_from_iter};

use super::SqliteStorage;
use super::log::{record_exists, store_push};
use crate::storage::assignments::ASSIGNMENT_LIST_LIMIT;
use crate::storage::{
    AssignmentStore, IssuedAssignment, PushWrite, RecordWrite, RowFilter, StorageError,
    StorageResult,
};

const COLUMNS: &str = "a.id, a.region, a.grp, a.kind, a.title, a.sector, a.site, a.lead_id, a.due,
     a.issued_by, a.issued_at";

fn assignment_row(r: &Row<'_>) -> rusqlite::Result<IssuedAssignment> {
    Ok(IssuedAssignment {
        id: r.get(0)?,
        region: r.get(1)?,
        group: r.get(2)?,
        kind: r.get(3)?,
        title: r.get(4)?,
        sector: r.get(5)?,
        site: r.get(6)?,
        lead: r.get(7)?,
        due: r.get(8)?,
        issued_by: r.get(9)?,
        issued_at: r.get(10)?,
    })
}

#[async_trait]
impl AssignmentStore for SqliteStorage {
    async fn issue_assignment(
        &self,
        record: &RecordWrite,
        row: &IssuedAssignment,
    ) -> StorageResult<()> {
        let (record, a) = (record.clone(), row.clone());
        self.write(move |conn| {
            let id = record.header.id.clone();
            if record_exists(conn, &id)? {
                return Err(StorageError::Conflict(format!(
                    "assignment {id} is already issued"
                )));
            }
            store_push(
                conn,
                &PushWrite {
                    pushed_by: None,
                    records: vec![record],
                },
            )?;
            conn.execute(
                "INSERT INTO bo_assignments
                 (id, region, grp, kind, title, sector, site, lead_id, due, issued_by, issued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    a.id,
                    a.region,
                    a.group,
                    a.kind,
                    a.title,
                    a.sector,
                    a.site,
                    a.lead,
                    a.due,
                    a.issued_by,
                    a.issued_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn assignments(
        &self,
        rows: &RowFilter,
        only: Option<&str>,
    ) -> StorageResult<Vec<IssuedAssignment>> {
        let mut sql = format!("SELECT {COLUMNS} FROM bo_assignments a WHERE 1=1");
        let mut args = Vec::new();
        rows.to_sqlite("a").append_to(&mut sql, &mut args);
        if let Some(id) = only {
            sql.push_str(" AND a.id = ?");
            args.push(Value::Text(id.to_owned()));
        }
        sql.push_str(&format!(
            " ORDER BY a.issued_at DESC, a.id LIMIT {ASSIGNMENT_LIST_LIMIT}"
        ));
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let found = stmt
                .query_map(params_from_iter(args.iter()), assignment_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(found)
        })
        .await
    }

    async fn assignments_of_leads(&self, leads: &[String]) -> StorageResult<Vec<(String, String)>> {
        let leads = leads.to_vec();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT lead_id, id FROM bo_assignments WHERE lead_id = ?1 ORDER BY id",
            )?;
            let mut out = Vec::new();
            for lead in &leads {
                for pair in stmt.query_map([lead], |r| Ok((r.get(0)?, r.get(1)?)))? {
                    out.push(pair?);
                }
            }
            Ok(out)
        })
        .await
    }
}
