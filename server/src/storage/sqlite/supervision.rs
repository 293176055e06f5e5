//! [`SupervisionStore`] for SQLite: the lists and their audit (migration 010), the risk facts
//! read from the registry, the visit index and the ledger (one grouped query per fact, each
//! reading an enterprise's visits through the index's one credit-code field, so a region of
//! 10,000 enterprises is read in a few passes over indexes), and the log of risk changes
//! (migration 012) with its pruning mark (migration 015). Writes go through the one writer
//! connection, one at a time, so a `seq` is visible before any higher one: a position is the
//! highest `seq` read.

use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::SqliteStorage;
use crate::storage::supervision::{FactRows, count_of};
use crate::storage::{
    AuditRow, Facts, HeldWrite, ListEntry, ListRemoval, NewListEntry, OfficeRows, RiskPosition,
    RiskRead, RiskUpdate, RiskView, RowFilter, StorageError, StorageResult, SupervisionList,
    SupervisionStore,
};

/// The leads linked to an enterprise, as `(region, credit_code, lead)`: a lead whose site
/// name was merged into it (a live merge), or whose assignment led to one of its visits. The
/// rule of the registry's `LEADS_OF` (`backoffice/enterprises/sql.rs`), which the enterprise
/// page reads.
const LEADS_OF: &str = "SELECT m.region AS region, m.credit_code AS credit_code, l.id AS lead
       FROM bo_site_merges m CROSS JOIN bo_leads l ON l.region = m.region AND l.site = m.site
       WHERE m.undone_at IS NULL
     UNION
     SELECT v.region, v.credit_code, l.id FROM bo_leads l
       JOIN bo_visits v ON v.assignment = l.assignment_id AND v.region = l.region
       WHERE l.assignment_id IS NOT NULL AND v.credit_code IS NOT NULL";

/// One query: its SQL (with the visibility filter in it) and its arguments.
type Query = (String, Vec<Value>);

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

/// The queries of the facts: the registry, latest visit, latest covert visit, major
/// hazards, open deadlines, findings by item and visit, leads. `only`: one enterprise.
fn queries(view: &RiskView, only: Option<&str>) -> [Query; 7] {
    let region = view.region.clone();
    // Narrowing a query to one code of the region, when asked.
    let one = |alias: &str, args: &mut Vec<Value>| -> String {
        match only {
            Some(code) => {
                args.push(Value::Text(region.clone()));
                args.push(Value::Text(code.to_owned()));
                format!(" AND {alias}.region = ? AND {alias}.credit_code = ?")
            }
            None => String::new(),
        }
    };
    let mut args = vec![Value::Text(region.clone())];
    let registry = (
        format!(
            "SELECT e.credit_code, e.name, e.sectors FROM bo_enterprises e
             WHERE e.region = ?{}",
            match only {
                Some(code) => {
                    args.push(Value::Text(code.to_owned()));
                    " AND e.credit_code = ?"
                }
                None => "",
            }
        ),
        args,
    );
    // For one enterprise, its visits lead (`CROSS JOIN` keeps SQLite's order) and the hazards
    // and findings follow by visit (`INDEXED BY`: not the region's indexes); for the region,
    // the hazards' own indexes lead.
    let (cases_join, findings_join) = if only.is_some() {
        (
            "bo_visits v CROSS JOIN bo_cases c INDEXED BY bo_cases_by_visit ON c.visit_id = v.id",
            "bo_visits v CROSS JOIN bo_findings f INDEXED BY bo_findings_by_item
             ON f.visit_id = v.id",
        )
    } else {
        (
            "bo_cases c JOIN bo_visits v ON v.id = c.visit_id",
            "bo_findings f JOIN bo_visits v ON v.id = f.visit_id",
        )
    };
    let visits = view.rows.to_sqlite("v");
    // SQLite takes the bare columns from the row of the one MAX(): the latest visit.
    let mut args = visits.args.clone();
    let narrow = one("v", &mut args);
    let latest = (
        format!(
            "SELECT v.credit_code, v.site, v.sector, v.grp, MAX(v.started_at)
             FROM bo_visits v WHERE v.credit_code IS NOT NULL{}{narrow}
             GROUP BY v.credit_code",
            visits.sql
        ),
        args,
    );
    let mut args = visits.args.clone();
    let narrow = one("v", &mut args);
    let covert = (
        format!(
            "SELECT v.credit_code, MAX(v.started_at) FROM bo_visits v
             WHERE v.credit_code IS NOT NULL AND v.mode = 'covert'{}{narrow}
             GROUP BY v.credit_code",
            visits.sql
        ),
        args,
    );
    let cases = view.rows.to_sqlite("c");
    let mut args = cases.args.clone();
    let narrow = one("v", &mut args);
    let major = (
        format!(
            "SELECT v.credit_code, c.opened_at FROM {cases_join}
             WHERE c.severity = 'major'{} AND v.credit_code IS NOT NULL{narrow}",
            cases.sql
        ),
        args,
    );
    let mut args = cases.args.clone();
    let narrow = one("v", &mut args);
    let deadlines = (
        format!(
            "SELECT v.credit_code, c.open_deadline FROM {cases_join}
             WHERE c.open_deadline IS NOT NULL{} AND v.credit_code IS NOT NULL{narrow}",
            cases.sql
        ),
        args,
    );
    let findings = view.rows.to_sqlite("f");
    let mut args = findings.args.clone();
    let narrow = one("v", &mut args);
    let items = (
        format!(
            "SELECT v.credit_code, f.item, MAX(f.at) FROM {findings_join}
             WHERE v.credit_code IS NOT NULL AND f.item IS NOT NULL{}{narrow}
             GROUP BY v.credit_code, f.item, f.visit_id
             ORDER BY v.credit_code, f.item",
            findings.sql
        ),
        args,
    );
    let leads = view.lead_rows.to_sqlite("l");
    let mut args = vec![Value::Text(region.clone())];
    args.extend(leads.args.iter().cloned());
    let narrow = one("o", &mut args);
    let leads = (
        format!(
            "SELECT DISTINCT o.credit_code, l.received_on, l.id FROM ({LEADS_OF}) o
             JOIN bo_leads l ON l.id = o.lead
             WHERE o.region = ?{}{narrow}",
            leads.sql
        ),
        args,
    );
    [registry, latest, covert, major, deadlines, items, leads]
}

/// Runs `query`, each row read by `row`.
fn rows_of<T>(
    conn: &Connection,
    (sql, args): &Query,
    row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    conn.prepare_cached(sql)?
        .query_map(params_from_iter(args.iter()), row)?
        .collect()
}

fn pair(r: &Row<'_>) -> rusqlite::Result<(String, i64)> {
    Ok((r.get(0)?, r.get(1)?))
}

/// The facts of every enterprise `view` sees (or just `only`).
fn read_facts(
    conn: &Connection,
    view: &RiskView,
    only: Option<&str>,
) -> rusqlite::Result<HashMap<String, Facts>> {
    let [registry, latest, covert, major, deadlines, items, leads] = queries(view, only);
    Ok(FactRows {
        registry: rows_of(conn, &registry, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?,
        latest: rows_of(conn, &latest, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?,
        covert: rows_of(conn, &covert, pair)?,
        major: rows_of(conn, &major, pair)?,
        deadlines: rows_of(conn, &deadlines, pair)?,
        items: rows_of(conn, &items, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?,
        leads: rows_of(conn, &leads, pair)?,
    }
    .into_facts())
}

/// The log's position: the highest `seq` (one writer: every lower one is visible).
fn position(conn: &Connection) -> rusqlite::Result<RiskPosition> {
    let seq: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM bo_risk_changes")?
        .query_row([], |r| r.get(0))?;
    Ok(RiskPosition {
        seq,
        horizon: seq + 1,
    })
}

/// Whether changes after `from` may have been deleted.
fn pruned_past(conn: &Connection, from: RiskPosition) -> rusqlite::Result<bool> {
    let below: i64 = conn
        .prepare_cached("SELECT below FROM bo_risk_pruned WHERE id = 1")?
        .query_row([], |r| r.get(0))?;
    Ok(below > from.horizon)
}

fn changed_since(
    conn: &Connection,
    region: &str,
    after: RiskPosition,
) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT DISTINCT credit_code FROM bo_risk_changes WHERE seq > ?1 AND region = ?2",
    )?
    .query_map(params![after.seq, region], |r| r.get(0))?
    .collect()
}

fn update(
    conn: &Connection,
    view: &RiskView,
    from: Option<RiskPosition>,
    one_by_one: usize,
) -> rusqlite::Result<RiskUpdate> {
    let at = position(conn)?;
    let read = match from {
        Some(from) if from == at => RiskRead::Fresh,
        // The table went back (a database put back from a backup), or what changed since was
        // deleted: read it all again.
        Some(from) if from.seq > at.seq || pruned_past(conn, from)? => {
            RiskRead::Whole(read_facts(conn, view, None)?)
        }
        Some(from) => {
            let codes = changed_since(conn, &view.region, from)?;
            if codes.len() <= one_by_one {
                RiskRead::Codes(
                    codes
                        .into_iter()
                        .map(|code| {
                            let f = read_facts(conn, view, Some(&code))?.remove(&code);
                            Ok((code, f))
                        })
                        .collect::<rusqlite::Result<_>>()?,
                )
            } else {
                RiskRead::Whole(read_facts(conn, view, None)?)
            }
        }
        None => RiskRead::Whole(read_facts(conn, view, None)?),
    };
    Ok(RiskUpdate { at, read })
}

/// Deletes one batch of the changes `read_past` has read past (never the newest) and moves
/// the pruning mark past them; the `seq` below which changes are gone.
fn prune(conn: &Connection, read_past: RiskPosition, batch: i64) -> rusqlite::Result<i64> {
    let below: i64 = conn
        .prepare_cached(
            "SELECT MIN(?1, COALESCE(MIN(seq), 0) + ?2, COALESCE(MAX(seq), 0))
             FROM bo_risk_changes",
        )?
        .query_row(params![read_past.seq, batch], |r| r.get(0))?;
    conn.prepare_cached("DELETE FROM bo_risk_changes WHERE seq < ?1")?
        .execute([below])?;
    conn.prepare_cached("UPDATE bo_risk_pruned SET below = MAX(below, ?1) WHERE id = 1")?
        .execute([below])?;
    Ok(below)
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

#[cfg(test)]
mod tests {
    use siteproof_core::Sector;

    use super::*;
    use crate::backoffice::db::plans;
    use crate::storage::SectorRows;

    fn views() -> [RiskView; 2] {
        let sectored = |unsectored| RowFilter::Region {
            region: "hebei".into(),
            sectors: Some(SectorRows {
                sectors: vec![Sector::Gas],
                unsectored,
            }),
        };
        [
            RiskView {
                region: "hebei".into(),
                rows: RowFilter::region("hebei"),
                lead_rows: RowFilter::region("hebei"),
            },
            RiskView {
                region: "hebei".into(),
                rows: sectored(false),
                lead_rows: sectored(true),
            },
        ]
    }

    /// One enterprise's facts (its page) are read through indexes only: no step of any plan
    /// scans a table, so the work grows with the enterprise's history, not the region's.
    #[test]
    fn one_enterprises_facts_are_searched_by_index() {
        let (_dir, conn) = plans::migrated();
        for view in views() {
            for (sql, args) in queries(&view, Some("91350100M000100Y43")) {
                let steps = plans::steps(&conn, &sql, &args);
                assert!(
                    !plans::reads_the_region(&steps),
                    "{view:?}: {sql}\n{steps:#?}"
                );
            }
        }
    }

    fn changes(conn: &Connection) -> (i64, i64) {
        conn.query_row(
            "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM bo_risk_changes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count")
    }

    /// Changes read past go a batch at a time, the newest stays (the position never goes
    /// back), and the mark says below which they are gone.
    #[test]
    fn changes_read_past_are_deleted_a_batch_at_a_time() {
        let (_dir, conn) = plans::migrated();
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
             INSERT INTO bo_risk_changes (region, credit_code) SELECT 'r', 'c' || i FROM n",
        )
        .expect("changes");
        let read_past = |seq| RiskPosition {
            seq,
            horizon: seq + 1,
        };
        assert_eq!(
            prune(&conn, read_past(12_000), 1_000).expect("prune"),
            1_001
        );
        assert_eq!(changes(&conn), (11_000, 12_000), "one batch");
        assert!(pruned_past(&conn, read_past(999)).expect("mark"));
        assert!(!pruned_past(&conn, read_past(1_000)).expect("mark"));
        assert_eq!(prune(&conn, read_past(5_000), 1_000).expect("prune"), 2_001);
        assert_eq!(prune(&conn, read_past(2_500), 1_000).expect("prune"), 2_500);
        assert_eq!(changes(&conn), (12_000 - 2_499, 12_000));
        while prune(&conn, read_past(30_000), 1_000).expect("prune") < 12_000 {}
        assert_eq!(changes(&conn), (1, 12_000), "all but the newest");
        assert_eq!(position(&conn).expect("position").seq, 12_000);
    }
}
