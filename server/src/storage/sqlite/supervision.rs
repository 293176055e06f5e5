//! [`SupervisionStore`] for SQLite: the lists and their audit (migration 010), each change
//! one job of the one writer connection, so an entry's check and write never interleave with
//! another's; the risk facts and their log in `risk_facts.rs`.

use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::SqliteStorage;
use super::risk_facts::{position, prune, read_facts, rows_of, update};
use crate::storage::supervision::count_of;
use crate::storage::{
    AuditRow, Facts, HeldWrite, ListEntry, ListRemoval, NewListEntry, OfficeRows, RiskPosition,
    RiskUpdate, RiskView, RowFilter, StorageError, StorageResult, SupervisionList,
    SupervisionStore,
};

fn entry_row(r: &Row<'_>) -> rusqlite::Result<ListEntry> {
    Ok(ListEntry {
        id: r.get(0)?,
        credit_code: r.get(1)?,
        name: r.get(2)?,
        reason: r.get(3)?,
        decided_on: r.get(4)?,
        added_by: r.get(5)?,
        added_at: r.get(6)?,
        removed_by: r.get(7)?,
        removed_at: r.get(8)?,
        removed_reason: r.get(9)?,
    })
}

fn entry_columns(list: SupervisionList) -> String {
    format!(
        "l.id, l.credit_code, l.name, l.reason, {}, l.added_by, l.added_at, l.removed_by,
         l.removed_at, l.removed_reason",
        list.decided_column()
    )
}

/// Writes one audit row (inside the caller's transaction).
fn audit(
    conn: &Connection,
    list: SupervisionList,
    action: &str,
    region: &str,
    (code, name): (&str, &str),
    (reason, by, at): (&str, &str, i64),
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO bo_supervision_audit
         (region, list, action, credit_code, name, reason, by_login, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        region,
        list.code(),
        action,
        code,
        name,
        reason,
        by,
        at
    ])?;
    Ok(())
}

fn add(conn: &Connection, list: SupervisionList, e: &NewListEntry) -> StorageResult<i64> {
    let inserted = match list {
        SupervisionList::KeyList => conn.execute(
            "INSERT INTO bo_key_list (region, credit_code, name, reason, added_by, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            params![e.region, e.credit_code, e.name, e.reason, e.by, e.at],
        )?,
        SupervisionList::Blacklist => conn.execute(
            "INSERT INTO bo_blacklist
             (region, credit_code, name, reason, decided_on, added_by, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            params![
                e.region,
                e.credit_code,
                e.name,
                e.reason,
                e.decided_on,
                e.by,
                e.at
            ],
        )?,
    };
    if inserted == 0 {
        return Err(StorageError::Conflict(
            "the enterprise is already on this list".into(),
        ));
    }
    let id = conn.last_insert_rowid();
    audit(
        conn,
        list,
        "add",
        &e.region,
        (&e.credit_code, &e.name),
        (&e.reason, &e.by, e.at),
    )?;
    Ok(id)
}

fn remove(
    conn: &Connection,
    list: SupervisionList,
    id: i64,
    r: &ListRemoval,
) -> StorageResult<ListEntry> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {} FROM {} l WHERE l.id = ?1 AND l.region = ?2",
            entry_columns(list),
            list.table()
        ))?
        .query_row(params![id, r.region], entry_row)
        .optional()?;
    let Some(entry) = found else {
        return Err(StorageError::NotFound(format!("list entry {id}")));
    };
    if entry.removed_at.is_some() {
        return Err(StorageError::Conflict(format!(
            "list entry {id} is already removed"
        )));
    }
    conn.execute(
        &format!(
            "UPDATE {} SET removed_by = ?1, removed_at = ?2, removed_reason = ?3
             WHERE id = ?4 AND removed_at IS NULL",
            list.table()
        ),
        params![r.by, r.at, r.reason, id],
    )?;
    audit(
        conn,
        list,
        "remove",
        &r.region,
        (&entry.credit_code, &entry.name),
        (&r.reason, &r.by, r.at),
    )?;
    Ok(entry)
}

fn write_rows(conn: &Connection, rows: &OfficeRows) -> rusqlite::Result<()> {
    for (region, code, name, sectors) in &rows.enterprises {
        conn.execute(
            "INSERT INTO bo_enterprises (region, credit_code, name, sectors, search, updated_at)
             VALUES (?1, ?2, ?3, ?4, lower(?3), 0)",
            params![region, code, name, sectors],
        )?;
    }
    for (region, site, code, at, undone) in &rows.merges {
        conn.execute(
            "INSERT INTO bo_site_merges
             (region, site, credit_code, merged_by, merged_at, undone_by, undone_at)
             VALUES (?1, ?2, ?3, 'office', ?4, CASE WHEN ?5 THEN 'office' END,
                     CASE WHEN ?5 THEN ?4 END)",
            params![region, site, code, at, undone],
        )?;
    }
    for v in &rows.visits {
        conn.execute(
            "INSERT INTO bo_visits (id, region, grp, site, sector, mode, started_at, major,
                                    general, conflicts, assignment, credit_code)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, 0, ?8, ?9)",
            params![
                v.id,
                v.region,
                v.group,
                v.site,
                v.sector,
                v.mode,
                v.started_at,
                v.assignment,
                v.credit_code
            ],
        )?;
    }
    for (visit, finding, severity, at, item) in &rows.findings {
        conn.execute(
            "INSERT INTO bo_findings (visit_id, finding_id, region, grp, sector, severity, at, item)
             SELECT id, ?2, region, grp, sector, ?3, ?4, ?5 FROM bo_visits WHERE id = ?1",
            params![visit, finding, severity, at, item],
        )?;
    }
    for (id, visit, finding, severity, status, opened_at, deadline) in &rows.cases {
        conn.execute(
            "INSERT INTO bo_cases (id, region, grp, visit_id, finding_id, site, sector, severity,
                                   description, status, escalated, opened_at, open_deadline)
             SELECT ?1, region, grp, id, ?3, site, sector, ?4, '', ?5, 0, ?6, ?7
             FROM bo_visits WHERE id = ?2",
            params![id, visit, finding, severity, status, opened_at, deadline],
        )?;
    }
    Ok(())
}

#[async_trait]
impl SupervisionStore for SqliteStorage {
    async fn list_entries(
        &self,
        list: SupervisionList,
        rows: &RowFilter,
        open: Option<bool>,
    ) -> StorageResult<Vec<ListEntry>> {
        let filter = rows.to_sqlite("l");
        let state = match open {
            Some(true) => " AND l.removed_at IS NULL",
            Some(false) => " AND l.removed_at IS NOT NULL",
            None => "",
        };
        let sql = format!(
            "SELECT {} FROM {} l WHERE 1=1{}{state}
             ORDER BY l.removed_at IS NOT NULL, l.added_at DESC, l.id DESC",
            entry_columns(list),
            list.table(),
            filter.sql
        );
        self.read(move |conn| Ok(rows_of(conn, &(sql, filter.args), entry_row)?))
            .await
    }

    async fn audit_rows(&self, rows: &RowFilter) -> StorageResult<Vec<AuditRow>> {
        let filter = rows.to_sqlite("a");
        let sql = format!(
            "SELECT a.list, a.action, a.credit_code, a.name, a.reason, a.by_login, a.at
             FROM bo_supervision_audit a WHERE 1=1{} ORDER BY a.at DESC, a.id DESC LIMIT 1000",
            filter.sql
        );
        self.read(move |conn| {
            Ok(rows_of(conn, &(sql, filter.args), |r| {
                Ok(AuditRow {
                    list: r.get(0)?,
                    action: r.get(1)?,
                    credit_code: r.get(2)?,
                    name: r.get(3)?,
                    reason: r.get(4)?,
                    by: r.get(5)?,
                    at: r.get(6)?,
                })
            })?)
        })
        .await
    }

    async fn visible_name(&self, view: &RiskView, code: &str) -> StorageResult<Option<String>> {
        let (region, code) = (view.region.clone(), code.to_owned());
        let mut sql = String::from("SELECT v.site FROM bo_visits v WHERE v.credit_code = ?");
        let mut args = vec![Value::Text(code.clone())];
        view.rows.to_sqlite("v").append_to(&mut sql, &mut args);
        sql.push_str(" ORDER BY v.started_at DESC LIMIT 1");
        self.read(move |conn| {
            let registered = conn
                .prepare_cached(
                    "SELECT name FROM bo_enterprises WHERE region = ?1 AND credit_code = ?2",
                )?
                .query_row(params![region, code], |r| r.get(0))
                .optional()?;
            if registered.is_some() {
                return Ok(registered);
            }
            Ok(conn
                .query_row(&sql, params_from_iter(args.iter()), |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn add_to_list(&self, list: SupervisionList, entry: &NewListEntry) -> StorageResult<i64> {
        let entry = entry.clone();
        self.write(move |conn| add(conn, list, &entry)).await
    }

    async fn remove_from_list(
        &self,
        list: SupervisionList,
        id: i64,
        removal: &ListRemoval,
    ) -> StorageResult<ListEntry> {
        let removal = removal.clone();
        self.write(move |conn| remove(conn, list, id, &removal))
            .await
    }

    async fn risk_facts(
        &self,
        view: &RiskView,
        only: Option<&str>,
    ) -> StorageResult<HashMap<String, Facts>> {
        let (view, only) = (view.clone(), only.map(str::to_owned));
        self.read(move |conn| Ok(read_facts(conn, &view, only.as_deref())?))
            .await
    }

    async fn risk_update(
        &self,
        view: &RiskView,
        from: Option<RiskPosition>,
        one_by_one: usize,
    ) -> StorageResult<RiskUpdate> {
        let view = view.clone();
        self.read(move |conn| {
            // One read transaction: the position and the facts read agree.
            let tx = conn.unchecked_transaction()?;
            let out = update(&tx, &view, from, one_by_one)?;
            tx.finish()?;
            Ok(out)
        })
        .await
    }

    async fn risk_regions_changed(
        &self,
        since: RiskPosition,
    ) -> StorageResult<(RiskPosition, Vec<String>)> {
        self.read(move |conn| {
            let tx = conn.unchecked_transaction()?;
            let at = position(&tx)?;
            let regions = rows_of(
                &tx,
                &(
                    "SELECT DISTINCT region FROM bo_risk_changes WHERE seq > ?".into(),
                    vec![Value::Integer(since.seq.min(at.seq))],
                ),
                |r| r.get(0),
            )?;
            tx.finish()?;
            Ok((at, regions))
        })
        .await
    }

    async fn prune_risk_changes(&self, read_past: RiskPosition, batch: i64) -> StorageResult<i64> {
        self.write(move |conn| Ok(prune(conn, read_past, batch)?))
            .await
    }

    async fn hazard_counts(
        &self,
        rows: &RowFilter,
        now: i64,
    ) -> StorageResult<HashMap<String, (u32, u32)>> {
        let mut sql = String::from(
            "SELECT v.credit_code, COUNT(*),
                    SUM(c.open_deadline IS NOT NULL AND c.open_deadline < ?)
             FROM bo_visits v JOIN bo_cases c ON c.visit_id = v.id
             WHERE v.credit_code IS NOT NULL AND c.status <> 'closed'",
        );
        let mut args = vec![Value::Integer(now)];
        rows.to_sqlite("c").append_to(&mut sql, &mut args);
        sql.push_str(" GROUP BY v.credit_code");
        self.read(move |conn| {
            let counts = rows_of(conn, &(sql, args), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    (
                        count_of(r.get(1)?),
                        count_of(r.get::<_, Option<i64>>(2)?.unwrap_or(0)),
                    ),
                ))
            })?;
            Ok(counts.into_iter().collect())
        })
        .await
    }

    async fn write_office_rows(
        &self,
        rows: &OfficeRows,
        held: Option<HeldWrite>,
    ) -> StorageResult<()> {
        // One writer: a write held open would hold every other; it waits before it writes.
        if let Some(held) = held {
            let _ = held.written.send(());
            let _ = held.commit.await;
        }
        let rows = rows.clone();
        self.write(move |conn| Ok(write_rows(conn, &rows)?)).await
    }
}
