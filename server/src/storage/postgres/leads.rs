//! [`LeadStore`] for PostgreSQL: table `bo_leads` (migration 004). A triage locks the lead's
//! row (`SELECT ... FOR UPDATE`) before it checks and writes, so of processes deciding on one
//! lead at once the second waits for the first's commit, then finds the lead decided.

use async_trait::async_trait;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PostgresStorage;
use crate::storage::leads::LEAD_LIST_LIMIT;
use crate::storage::{
    LeadRecord, LeadState, LeadStore, LeadTriage, NewLead, RowFilter, StorageError, StorageResult,
};

const COLUMNS: &str = "l.id, l.region, l.sector, l.site, l.address, l.description, l.received_on,
     l.status, l.triage_note, l.triaged_by, l.assignment_id";

fn lead_row(r: &Row) -> LeadRecord {
    LeadRecord {
        id: r.get(0),
        region: r.get(1),
        sector: r.get(2),
        site: r.get(3),
        address: r.get(4),
        description: r.get(5),
        received_on: r.get(6),
        state: LeadState::from_code(r.get(7)),
        triage_note: r.get(8),
        triaged_by: r.get(9),
        assignment: r.get(10),
    }
}

#[async_trait]
impl LeadStore for PostgresStorage {
    async fn insert_lead(&self, l: &NewLead) -> StorageResult<()> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "INSERT INTO bo_leads
                     (id, receipt_hash, region, sector, site, address, description, received_on,
                      status)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'received')
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        let inserted = conn
            .execute(
                &stmt,
                &[
                    &l.id,
                    &&l.receipt_hash[..],
                    &l.region,
                    &l.sector,
                    &l.site,
                    &l.address,
                    &l.description,
                    &l.received_on,
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StorageError::Conflict("the lead already exists".into()));
        }
        Ok(())
    }

    async fn lead_by_receipt(&self, receipt_hash: &[u8; 32]) -> StorageResult<Option<LeadRecord>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM bo_leads l WHERE l.receipt_hash = $1"
            ))
            .await?;
        let row = conn.query_opt(&stmt, &[&&receipt_hash[..]]).await?;
        Ok(row.as_ref().map(lead_row))
    }

    async fn leads(&self, rows: &RowFilter, only: Option<&str>) -> StorageResult<Vec<LeadRecord>> {
        let visible = rows.to_postgres("l", 1);
        let mut sql = format!("SELECT {COLUMNS} FROM bo_leads l WHERE TRUE{}", visible.sql);
        let mut params: Vec<&(dyn ToSql + Sync)> = visible.params().collect();
        if let Some(id) = &only {
            sql.push_str(&format!(" AND l.id = ${}", params.len() + 1));
            params.push(id);
        }
        sql.push_str(&format!(
            " ORDER BY l.received_on DESC, l.id LIMIT {LEAD_LIST_LIMIT}"
        ));
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(&sql).await?;
        let found = conn.query(&stmt, &params).await?;
        Ok(found.iter().map(lead_row).collect())
    }

    async fn triage_lead(&self, id: &str, t: &LeadTriage) -> StorageResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let lock = tx
            .prepare_cached("SELECT status FROM bo_leads WHERE id = $1 FOR UPDATE")
            .await?;
        let status: String = match tx.query_opt(&lock, &[&id]).await? {
            None => return Err(StorageError::NotFound(format!("lead {id}"))),
            Some(row) => row.get(0),
        };
        if LeadState::from_code(&status) != LeadState::Received {
            return Err(StorageError::Conflict(format!(
                "lead {id} is already {status}"
            )));
        }
        let update = tx
            .prepare_cached(
                "UPDATE bo_leads SET status = $1, triage_note = $2, triaged_by = $3,
                     assignment_id = $4
                 WHERE id = $5",
            )
            .await?;
        tx.execute(
            &update,
            &[&t.state().code(), &t.note, &t.by, &t.assignment, &id],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn undo_triage(&self, id: &str, t: &LeadTriage) -> StorageResult<bool> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "UPDATE bo_leads SET status = 'received', triage_note = NULL, triaged_by = NULL,
                     assignment_id = NULL
                 WHERE id = $1 AND status = $2 AND triaged_by = $3
                   AND assignment_id IS NOT DISTINCT FROM $4
                   AND triage_note IS NOT DISTINCT FROM $5",
            )
            .await?;
        let updated = conn
            .execute(
                &stmt,
                &[&id, &t.state().code(), &t.by, &t.assignment, &t.note],
            )
            .await?;
        Ok(updated == 1)
    }
}
