//! [`AssignmentStore`] for PostgreSQL: table `bo_assignments` (migration 007) beside the
//! change log. An issue is one transaction that takes the log's append lock before it looks
//! for the record, so of processes issuing one id at once the second waits for the first's
//! commit, then finds the record and stores nothing.

use async_trait::async_trait;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PostgresStorage;
use super::log::{lock_appends, record_exists, store_push};
use crate::storage::assignments::ASSIGNMENT_LIST_LIMIT;
use crate::storage::{
    AssignmentStore, IssuedAssignment, PushWrite, RecordWrite, RowFilter, StorageError,
    StorageResult,
};

const COLUMNS: &str = "a.id, a.region, a.grp, a.kind, a.title, a.sector, a.site, a.lead_id, a.due,
     a.issued_by, a.issued_at";

fn assignment_row(r: &Row) -> IssuedAssignment {
    IssuedAssignment {
        id: r.get(0),
        region: r.get(1),
        group: r.get(2),
        kind: r.get(3),
        title: r.get(4),
        sector: r.get(5),
        site: r.get(6),
        lead: r.get(7),
        due: r.get(8),
        issued_by: r.get(9),
        issued_at: r.get(10),
    }
}

#[async_trait]
impl AssignmentStore for PostgresStorage {
    async fn issue_assignment(
        &self,
        record: &RecordWrite,
        a: &IssuedAssignment,
    ) -> StorageResult<()> {
        let id = &record.header.id;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        lock_appends(&tx).await?;
        if record_exists(&tx, id).await? {
            return Err(StorageError::Conflict(format!(
                "assignment {id} is already issued"
            )));
        }
        store_push(
            &tx,
            &PushWrite {
                pushed_by: None,
                records: vec![record.clone()],
            },
        )
        .await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO bo_assignments
                 (id, region, grp, kind, title, sector, site, lead_id, due, issued_by, issued_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .await?;
        tx.execute(
            &insert,
            &[
                &a.id,
                &a.region,
                &a.group,
                &a.kind,
                &a.title,
                &a.sector,
                &a.site,
                &a.lead,
                &a.due,
                &a.issued_by,
                &a.issued_at,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn assignments(
        &self,
        rows: &RowFilter,
        only: Option<&str>,
    ) -> StorageResult<Vec<IssuedAssignment>> {
        let visible = rows.to_postgres("a", 1);
        let mut sql = format!(
            "SELECT {COLUMNS} FROM bo_assignments a WHERE TRUE{}",
            visible.sql
        );
        let mut params: Vec<&(dyn ToSql + Sync)> = visible.params().collect();
        if let Some(id) = &only {
            sql.push_str(&format!(" AND a.id = ${}", params.len() + 1));
            params.push(id);
        }
        sql.push_str(&format!(
            " ORDER BY a.issued_at DESC, a.id COLLATE \"C\" LIMIT {ASSIGNMENT_LIST_LIMIT}"
        ));
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(&sql).await?;
        let found = conn.query(&stmt, &params).await?;
        Ok(found.iter().map(assignment_row).collect())
    }

    async fn assignments_of_leads(&self, leads: &[String]) -> StorageResult<Vec<(String, String)>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT lead_id, id FROM bo_assignments WHERE lead_id = ANY ($1::text[])
                 ORDER BY lead_id COLLATE \"C\", id COLLATE \"C\"",
            )
            .await?;
        let rows = conn.query(&stmt, &[&leads]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
