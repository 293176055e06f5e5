//! [`LeadStore`] for SQLite: table `bo_leads` (migrations 003 and 009). Writes go through the
//! one writer connection, so a triage's check and update cannot interleave with another's.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use super::SqliteStorage;
use crate::storage::leads::LEAD_LIST_LIMIT;
use crate::storage::{
    LeadRecord, LeadState, LeadStore, LeadTriage, NewLead, RowFilter, StorageError, StorageResult,
};

const COLUMNS: &str = "l.id, l.region, l.sector, l.site, l.address, l.description, l.received_on,
     l.status, l.triage_note, l.triaged_by, l.assignment_id";

fn lead_row(r: &Row<'_>) -> rusqlite::Result<LeadRecord> {
    Ok(LeadRecord {
        id: r.get(0)?,
        region: r.get(1)?,
        sector: r.get(2)?,
        site: r.get(3)?,
        address: r.get(4)?,
        description: r.get(5)?,
        received_on: r.get(6)?,
        state: LeadState::from_code(&r.get::<_, String>(7)?),
        triage_note: r.get(8)?,
        triaged_by: r.get(9)?,
        assignment: r.get(10)?,
    })
}

#[async_trait]
impl LeadStore for SqliteStorage {
    async fn insert_lead(&self, lead: &NewLead) -> StorageResult<()> {
        let l = lead.clone();
        self.write(move |conn| {
            let inserted = conn.execute(
                "INSERT INTO bo_leads
                     (id, receipt_hash, region, sector, site, address, description, received_on,
                      status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'received')
                 ON CONFLICT DO NOTHING",
                params![
                    l.id,
                    &l.receipt_hash[..],
                    l.region,
                    l.sector,
                    l.site,
                    l.address,
                    l.description,
                    l.received_on
                ],
            )?;
            if inserted == 0 {
                return Err(StorageError::Conflict("the lead already exists".into()));
            }
            Ok(())
        })
        .await
    }

    async fn lead_by_receipt(&self, receipt_hash: &[u8; 32]) -> StorageResult<Option<LeadRecord>> {
        let hash = *receipt_hash;
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM bo_leads l WHERE l.receipt_hash = ?1"
                ))?
                .query_row([&hash[..]], lead_row)
                .optional()?)
        })
        .await
    }

    async fn leads(&self, rows: &RowFilter, only: Option<&str>) -> StorageResult<Vec<LeadRecord>> {
        let mut sql = format!("SELECT {COLUMNS} FROM bo_leads l WHERE 1=1");
        let mut args = Vec::new();
        rows.to_sqlite("l").append_to(&mut sql, &mut args);
        if let Some(id) = only {
            sql.push_str(" AND l.id = ?");
            args.push(rusqlite::types::Value::Text(id.to_owned()));
        }
        sql.push_str(&format!(
            " ORDER BY l.received_on DESC, l.id LIMIT {LEAD_LIST_LIMIT}"
        ));
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let found = stmt
                .query_map(params_from_iter(args.iter()), lead_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(found)
        })
        .await
    }

    async fn triage_lead(&self, id: &str, triage: &LeadTriage) -> StorageResult<()> {
        let (id, t) = (id.to_owned(), triage.clone());
        self.write(move |conn| {
            let updated = conn.execute(
                "UPDATE bo_leads SET status = ?1, triage_note = ?2, triaged_by = ?3,
                     assignment_id = ?4
                 WHERE id = ?5 AND status = 'received'",
                params![t.state().code(), t.note, t.by, t.assignment, id],
            )?;
            if updated == 1 {
                return Ok(());
            }
            let found: Option<String> = conn
                .query_row("SELECT status FROM bo_leads WHERE id = ?1", [&id], |r| {
                    r.get(0)
                })
                .optional()?;
            Err(match found {
                None => StorageError::NotFound(format!("lead {id}")),
                Some(status) => StorageError::Conflict(format!("lead {id} is already {status}")),
            })
        })
        .await
    }

    async fn undo_triage(&self, id: &str, triage: &LeadTriage) -> StorageResult<bool> {
        let (id, t) = (id.to_owned(), triage.clone());
        self.write(move |conn| {
            let updated = conn.execute(
                "UPDATE bo_leads SET status = 'received', triage_note = NULL, triaged_by = NULL,
                     assignment_id = NULL
                 WHERE id = ?1 AND status = ?2 AND triaged_by = ?3
                   AND assignment_id IS ?4 AND triage_note IS ?5",
                params![id, t.state().code(), t.by, t.assignment, t.note],
            )?;
            Ok(updated == 1)
        })
        .await
    }
}
