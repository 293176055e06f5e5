//! [`SupervisionStore`] for PostgreSQL: the lists and their audit (migration 011), the risk
//! facts read as on SQLite, and the log of risk changes (migration 012).
//!
//! An open entry is taken once by the unique indexes of open entries: of two processes
//! adding one, the second's insert waits for the first's commit and then does nothing, a
//! `Conflict`. A removal locks the entry's row before it checks it, so of two the second
//! finds it closed.
//! The risk facts and the rule of reading their log are in `risk_facts.rs`.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use super::PostgresStorage;
use super::risk_facts::{Query, position, read_facts, rows_of, snapshot, update};
use crate::storage::supervision::count_of;
use crate::storage::{
    AuditRow, Facts, HeldWrite, ListEntry, ListRemoval, NewListEntry, OfficeRows, RiskPosition,
    RiskUpdate, RiskView, RowFilter, StorageError, StorageResult, SupervisionList,
    SupervisionStore,
};

fn entry_row(r: &Row) -> ListEntry {
    ListEntry {
        id: r.get(0),
        credit_code: r.get(1),
        name: r.get(2),
        reason: r.get(3),
        decided_on: r.get(4),
        added_by: r.get(5),
        added_at: r.get(6),
        removed_by: r.get(7),
        removed_at: r.get(8),
        removed_reason: r.get(9),
    }
}

fn entry_select(list: SupervisionList) -> String {
    format!(
        "SELECT l.id, l.credit_code, l.name, l.reason, {}, l.added_by, l.added_at,
                l.removed_by, l.removed_at, l.removed_reason
         FROM {} l",
        list.decided_column(),
        list.table()
    )
}

/// Writes one audit row (inside the caller's transaction).
async fn audit(
    tx: &Transaction<'_>,
    list: SupervisionList,
    action: &str,
    region: &str,
    (code, name): (&str, &str),
    (reason, by, at): (&str, &str, i64),
) -> StorageResult<()> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO bo_supervision_audit
             (region, list, action, credit_code, name, reason, by_login, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &region,
            &list.code(),
            &action,
            &code,
            &name,
            &reason,
            &by,
            &at,
        ],
    )
    .await?;
    Ok(())
}

async fn write_rows(tx: &Transaction<'_>, rows: &OfficeRows) -> StorageResult<()> {
    for (region, code, name, sectors) in &rows.enterprises {
        tx.execute(
            "INSERT INTO bo_enterprises (region, credit_code, name, sectors, search, updated_at)
             VALUES ($1, $2, $3, $4, lower($3), 0)",
            &[region, code, name, sectors],
        )
        .await?;
    }
    for (region, site, code, at, undone) in &rows.merges {
        tx.execute(
            "INSERT INTO bo_site_merges
             (region, site, credit_code, merged_by, merged_at, undone_by, undone_at)
             VALUES ($1, $2, $3, 'office', $4, CASE WHEN $5 THEN 'office' END,
                     CASE WHEN $5 THEN $4::BIGINT END)",
            &[region, site, code, at, undone],
        )
        .await?;
    }
    for v in &rows.visits {
        tx.execute(
            "INSERT INTO bo_visits (id, region, grp, site, sector, mode, started_at, major,
                                    general, conflicts, assignment, credit_code)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, 0, $8, $9)",
            &[
                &v.id,
                &v.region,
                &v.group,
                &v.site,
                &v.sector,
                &v.mode,
                &v.started_at,
                &v.assignment,
                &v.credit_code,
            ],
        )
        .await?;
    }
    for (visit, finding, severity, at, item) in &rows.findings {
        tx.execute(
            "INSERT INTO bo_findings (visit_id, finding_id, region, grp, sector, severity, at, item)
             SELECT id, $2, region, grp, sector, $3, $4, $5 FROM bo_visits WHERE id = $1",
            &[visit, finding, severity, at, item],
        )
        .await?;
    }
    for (id, visit, finding, severity, status, opened_at, deadline) in &rows.cases {
        tx.execute(
            "INSERT INTO bo_cases (id, region, grp, visit_id, finding_id, site, sector, severity,
                                   description, status, escalated, opened_at, open_deadline)
             SELECT $1, region, grp, id, $3, site, sector, $4, '', $5, FALSE, $6, $7
             FROM bo_visits WHERE id = $2",
            &[id, visit, finding, severity, status, opened_at, deadline],
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl SupervisionStore for PostgresStorage {
    async fn list_entries(
        &self,
        list: SupervisionList,
        rows: &RowFilter,
        open: Option<bool>,
    ) -> StorageResult<Vec<ListEntry>> {
        let mut q = Query::new(&entry_select(list));
        q.push(" WHERE TRUE").filter(rows, "l").push(match open {
            Some(true) => " AND l.removed_at IS NULL",
            Some(false) => " AND l.removed_at IS NOT NULL",
            None => "",
        });
        q.push(" ORDER BY l.removed_at IS NOT NULL, l.added_at DESC, l.id DESC");
        let found = rows_of(self, &q).await?;
        Ok(found.iter().map(entry_row).collect())
    }

    async fn audit_rows(&self, rows: &RowFilter) -> StorageResult<Vec<AuditRow>> {
        let mut q = Query::new(
            "SELECT a.list, a.action, a.credit_code, a.name, a.reason, a.by_login, a.at
             FROM bo_supervision_audit a WHERE TRUE",
        );
        q.filter(rows, "a")
            .push(" ORDER BY a.at DESC, a.id DESC LIMIT 1000");
        let found = rows_of(self, &q).await?;
        Ok(found
            .iter()
            .map(|r| AuditRow {
                list: r.get(0),
                action: r.get(1),
                credit_code: r.get(2),
                name: r.get(3),
                reason: r.get(4),
                by: r.get(5),
                at: r.get(6),
            })
            .collect())
    }

    async fn visible_name(&self, view: &RiskView, code: &str) -> StorageResult<Option<String>> {
        let mut registered = Query::new("SELECT name FROM bo_enterprises WHERE region = ");
        registered
            .bind(view.region.clone())
            .push(" AND credit_code = ")
            .bind(code.to_owned());
        let mut visited = Query::new("SELECT v.site FROM bo_visits v WHERE v.credit_code = ");
        visited
            .bind(code.to_owned())
            .filter(&view.rows, "v")
            .push(" ORDER BY v.started_at DESC, v.id DESC LIMIT 1");
        for q in [&registered, &visited] {
            if let Some(row) = rows_of(self, q).await?.first() {
                return Ok(Some(row.get(0)));
            }
        }
        Ok(None)
    }

    async fn add_to_list(&self, list: SupervisionList, e: &NewListEntry) -> StorageResult<i64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let inserted = match list {
            SupervisionList::KeyList => {
                tx.query_opt(
                    "INSERT INTO bo_key_list (region, credit_code, name, reason, added_by, added_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (region, credit_code) WHERE removed_at IS NULL DO NOTHING
                     RETURNING id",
                    &[&e.region, &e.credit_code, &e.name, &e.reason, &e.by, &e.at],
                )
                .await?
            }
            SupervisionList::Blacklist => {
                tx.query_opt(
                    "INSERT INTO bo_blacklist
                     (region, credit_code, name, reason, decided_on, added_by, added_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (region, credit_code) WHERE removed_at IS NULL DO NOTHING
                     RETURNING id",
                    &[
                        &e.region,
                        &e.credit_code,
                        &e.name,
                        &e.reason,
                        &e.decided_on,
                        &e.by,
                        &e.at,
                    ],
                )
                .await?
            }
        };
        let Some(row) = inserted else {
            return Err(StorageError::Conflict(
                "the enterprise is already on this list".into(),
            ));
        };
        let id: i64 = row.get(0);
        audit(
            &tx,
            list,
            "add",
            &e.region,
            (&e.credit_code, &e.name),
            (&e.reason, &e.by, e.at),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn remove_from_list(
        &self,
        list: SupervisionList,
        id: i64,
        r: &ListRemoval,
    ) -> StorageResult<ListEntry> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let found = tx
            .query_opt(
                &format!(
                    "{} WHERE l.id = $1 AND l.region = $2 FOR UPDATE",
                    entry_select(list)
                ),
                &[&id, &r.region],
            )
            .await?;
        let Some(entry) = found.as_ref().map(entry_row) else {
            return Err(StorageError::NotFound(format!("list entry {id}")));
        };
        if entry.removed_at.is_some() {
            return Err(StorageError::Conflict(format!(
                "list entry {id} is already removed"
            )));
        }
        tx.execute(
            &format!(
                "UPDATE {} SET removed_by = $1, removed_at = $2, removed_reason = $3
                 WHERE id = $4",
                list.table()
            ),
            &[&r.by, &r.at, &r.reason, &id],
        )
        .await?;
        audit(
            &tx,
            list,
            "remove",
            &r.region,
            (&entry.credit_code, &entry.name),
            (&r.reason, &r.by, r.at),
        )
        .await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn risk_facts(
        &self,
        view: &RiskView,
        only: Option<&str>,
    ) -> StorageResult<HashMap<String, Facts>> {
        let mut conn = self.conn().await?;
        let tx = snapshot(&mut conn).await?;
        let facts = read_facts(&tx, view, only).await?;
        tx.commit().await?;
        Ok(facts)
    }

    async fn risk_update(
        &self,
        view: &RiskView,
        from: Option<RiskPosition>,
        one_by_one: usize,
    ) -> StorageResult<RiskUpdate> {
        let mut conn = self.conn().await?;
        let tx = snapshot(&mut conn).await?;
        let out = update(&tx, view, from, one_by_one).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn risk_regions_changed(
        &self,
        since: RiskPosition,
    ) -> StorageResult<(RiskPosition, Vec<String>)> {
        let mut conn = self.conn().await?;
        let tx = snapshot(&mut conn).await?;
        let at = position(&tx).await?;
        let rows = tx
            .query(
                "SELECT DISTINCT region FROM bo_risk_changes WHERE seq > $1 OR xid >= $2",
                &[&since.seq.min(at.seq), &since.horizon.min(at.horizon)],
            )
            .await?;
        tx.commit().await?;
        Ok((at, rows.iter().map(|r| r.get(0)).collect()))
    }

    async fn prune_risk_changes(&self, read_past: RiskPosition, batch: i64) -> StorageResult<i64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let below: i64 = tx
            .query_one(
                "SELECT LEAST($1, COALESCE(MIN(seq), 0) + $2, COALESCE(MAX(seq), 0))
                 FROM bo_risk_changes",
                &[&read_past.seq, &batch],
            )
            .await?
            .get(0);
        // Only rows of transactions that had finished when `read_past` was read: rows its
        // snapshot saw.
        let gone: Option<i64> = tx
            .query_one(
                "WITH gone AS (DELETE FROM bo_risk_changes WHERE seq < $1 AND xid < $2
                               RETURNING xid)
                 SELECT MAX(xid) FROM gone",
                &[&below, &read_past.horizon],
            )
            .await?
            .get(0);
        if let Some(xid) = gone {
            tx.execute(
                "UPDATE bo_risk_pruned SET below = GREATEST(below, $1) WHERE id = 1",
                &[&(xid + 1)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(below)
    }

    async fn hazard_counts(
        &self,
        rows: &RowFilter,
        now: i64,
    ) -> StorageResult<HashMap<String, (u32, u32)>> {
        let mut q =
            Query::new("SELECT v.credit_code, COUNT(*), COUNT(*) FILTER (WHERE c.open_deadline < ");
        q.bind(now)
            .push(
                ") FROM bo_visits v JOIN bo_cases c ON c.visit_id = v.id
                 WHERE v.credit_code IS NOT NULL AND c.status <> 'closed'",
            )
            .filter(rows, "c")
            .push(" GROUP BY v.credit_code");
        let found = rows_of(self, &q).await?;
        Ok(found
            .iter()
            .map(|r| (r.get(0), (count_of(r.get(1)), count_of(r.get::<_, i64>(2)))))
            .collect())
    }

    async fn write_office_rows(
        &self,
        rows: &OfficeRows,
        held: Option<HeldWrite>,
    ) -> StorageResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        write_rows(&tx, rows).await?;
        if let Some(held) = held {
            let _ = held.written.send(());
            let _ = held.commit.await;
        }
        tx.commit().await?;
        Ok(())
    }
}
