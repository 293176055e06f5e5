//! [`OfficeIndexStore`] for SQLite: the visit index's tables (`bo_visits`, `bo_findings`,
//! `bo_collections`, `bo_reinspections`, `bo_index_state`; migrations 002, 003, 007 and 009)
//! and the ledger's `bo_cases` beside the change log. A store of index rows is one job of the
//! one writer connection: the check of the position, the rows and the new position commit
//! together, and no other writer of the file runs between the check and the commit.
//!
//! The queries an enterprise's page builds on (an enterprise's visits, their counts, its
//! hazards and their statuses, each led by a subquery selecting the visits) are
//! `pub(crate)` here.

use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use siteproof_core::CaseStatus;

use super::SqliteStorage;
use super::cases::{COLUMNS as CASE_COLUMNS, case_row, put_row};
use crate::storage::columns::{from_sql_seq, to_sql_seq};
use crate::storage::{
    CaseRow, CollectionRow, FindingEntry, FindingRow, HazardCounts, IndexPosition, IndexRows,
    LedgerFilter, OfficeIndexStore, PeriodFigures, ReinspectionRow, RowFilter, SectorCount,
    StorageResult, VisitCounts, VisitFilter, VisitRow, ledger_columns,
};

/// A `WHERE` clause: the rows `rows` admits of `table`, its `equalities` and the range
/// `[from, to)` of its column `time`.
fn filtered_where(
    rows: &RowFilter,
    table: &str,
    equalities: &[(&str, &Option<String>)],
    (time, from, to): (&str, Option<i64>, Option<i64>),
) -> (String, Vec<Value>) {
    let mut sql = String::from(" WHERE 1=1");
    let mut args = Vec::new();
    rows.to_sqlite(table).append_to(&mut sql, &mut args);
    for (column, value) in equalities {
        if let Some(v) = value {
            sql.push_str(&format!(" AND {table}.{column} = ?"));
            args.push(Value::Text(v.clone()));
        }
    }
    for (bound, op) in [(from, ">="), (to, "<")] {
        if let Some(at) = bound {
            sql.push_str(&format!(" AND {table}.{time} {op} ?"));
            args.push(Value::Integer(at));
        }
    }
    (sql, args)
}

fn visit_where(rows: &RowFilter, f: &VisitFilter) -> (String, Vec<Value>) {
    let (mut sql, args) = filtered_where(rows, "v", &f.equalities(), ("started_at", f.from, f.to));
    sql.push_str(&f.fixed_conditions());
    (sql, args)
}

pub(super) fn visit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VisitRow> {
    Ok(VisitRow {
        id: r.get(0)?,
        region: r.get(1)?,
        group: r.get(2)?,
        site: r.get(3)?,
        sector: r.get(4)?,
        mode: r.get(5)?,
        started_at: r.get(6)?,
        ended_at: r.get(7)?,
        major: r.get(8)?,
        general: r.get(9)?,
        conflicts: r.get(10)?,
        assignment: r.get(11)?,
        credit_code: r.get(12)?,
    })
}

pub(super) const VISIT_COLUMNS: &str = "v.id, v.region, v.grp, v.site, v.sector, v.mode, v.started_at, \
                             v.ended_at, v.major, v.general, v.conflicts, v.assignment, \
                             v.credit_code";

fn list_visits(
    conn: &Connection,
    rows: &RowFilter,
    f: &VisitFilter,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<VisitRow>, VisitCounts)> {
    let (cond, args) = visit_where(rows, f);
    let counts = conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(v.mode = 'covert'), 0), COALESCE(SUM(v.major), 0),
                    COALESCE(SUM(v.general), 0) FROM bo_visits v{cond}"
        ),
        params_from_iter(args.iter()),
        |r| {
            Ok(VisitCounts {
                visits: r.get(0)?,
                covert: r.get(1)?,
                major: r.get(2)?,
                general: r.get(3)?,
            })
        },
    )?;
    let mut page_args = args;
    page_args.push(Value::Integer(limit));
    page_args.push(Value::Integer(offset));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {VISIT_COLUMNS} FROM bo_visits v{cond} ORDER BY v.started_at DESC, v.id LIMIT ? OFFSET ?"
    ))?;
    let rows = stmt
        .query_map(params_from_iter(page_args.iter()), visit_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, counts))
}

fn visit(conn: &Connection, rows: &RowFilter, id: &str) -> rusqlite::Result<Option<VisitRow>> {
    let mut sql = format!("SELECT {VISIT_COLUMNS} FROM bo_visits v WHERE v.id = ?");
    let mut args = vec![Value::Text(id.into())];
    rows.to_sqlite("v").append_to(&mut sql, &mut args);
    conn.query_row(&sql, params_from_iter(args.iter()), visit_row)
        .optional()
}

fn list_collections(conn: &Connection, rows: &RowFilter) -> rusqlite::Result<Vec<CollectionRow>> {
    let filter = rows.to_sqlite("c");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.id, c.region, c.grp, c.kind, c.title, c.body, c.author, c.written_at
         FROM bo_collections c WHERE 1=1{} ORDER BY c.written_at DESC, c.id LIMIT 1000",
        filter.sql
    ))?;
    stmt.query_map(params_from_iter(filter.args.iter()), |r| {
        Ok(CollectionRow {
            id: r.get(0)?,
            region: r.get(1)?,
            group: r.get(2)?,
            kind: r.get(3)?,
            title: r.get(4)?,
            body: r.get(5)?,
            author: r.get(6)?,
            written_at: r.get(7)?,
        })
    })?
    .collect()
}

fn visits_per_assignment(
    conn: &Connection,
    assignments: &[String],
) -> rusqlite::Result<HashMap<String, i64>> {
    let mut stmt = conn.prepare_cached("SELECT COUNT(*) FROM bo_visits WHERE assignment = ?1")?;
    let mut out = HashMap::new();
    for id in assignments {
        let n: i64 = stmt.query_row([id], |r| r.get(0))?;
        if n > 0 {
            out.insert(id.clone(), n);
        }
    }
    Ok(out)
}

fn visits_of_assignment(
    conn: &Connection,
    rows: &RowFilter,
    id: &str,
) -> rusqlite::Result<Vec<VisitRow>> {
    let mut sql = format!("SELECT {VISIT_COLUMNS} FROM bo_visits v WHERE v.assignment = ?");
    let mut args = vec![Value::Text(id.into())];
    rows.to_sqlite("v").append_to(&mut sql, &mut args);
    sql.push_str(" ORDER BY v.started_at, v.id");
    let mut stmt = conn.prepare(&sql)?;
    stmt.query_map(params_from_iter(args.iter()), visit_row)?
        .collect()
}

fn index_position(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    let last: i64 = conn.query_row(
        "SELECT last_seq FROM bo_index_state WHERE id = 1",
        [],
        |r| r.get(0),
    )?;
    let max: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
        r.get(0)
    })?;
    Ok((last, max))
}

fn changed_records(conn: &Connection, after: i64, through: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT c.doc_id FROM changes c JOIN documents d ON d.id = c.doc_id
         WHERE c.seq > ?1 AND c.seq <= ?2 AND d.kind IN ('visit', 'report', 'case')",
    )?;
    stmt.query_map([after, through], |r| r.get(0))?.collect()
}

/// Replaces the results a visit holds (the index reads the visit whole each time).
fn put_reinspections(
    conn: &Connection,
    visit: &str,
    region: &str,
    group: &str,
    results: &[ReinspectionRow],
) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM bo_reinspections WHERE visit_id = ?1")?
        .execute([visit])?;
    let mut put = conn.prepare_cached(
        "INSERT OR REPLACE INTO bo_reinspections
         (id, case_id, visit_id, region, grp, outcome, note, media, by_name, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for r in results {
        put.execute(params![
            r.id,
            r.case_id,
            visit,
            region,
            group,
            r.outcome,
            r.note,
            r.media.join(" "),
            r.by,
            r.at
        ])?;
    }
    Ok(())
}

/// Enters a visit's findings into the ledger: a finding with a case record keeps it (only
/// when it was found is refreshed), the others follow the finding; entries of findings the
/// visit no longer has go.
fn enter_findings(
    conn: &Connection,
    v: &VisitRow,
    findings: &[FindingRow],
) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM bo_cases WHERE visit_id = ?1 AND recorded = 0")?
        .execute([&v.id])?;
    let mut found = conn.prepare_cached(
        "UPDATE bo_cases SET opened_at = ?3 WHERE visit_id = ?1 AND finding_id = ?2",
    )?;
    let mut enter = conn.prepare_cached(
        "INSERT INTO bo_cases
         (id, region, grp, visit_id, finding_id, site, sector, severity, description, status,
          unit, deadline, escalated, opened_at, closed_at, fixed_on_spot, recorded, listed,
          open_deadline)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, NULL, 0, ?11, NULL, ?12, 0, ?13,
          NULL)",
    )?;
    for f in findings {
        if found.execute(params![v.id, f.id, f.at])? > 0 {
            continue;
        }
        let status = CaseStatus::of_finding(f.fixed_on_spot);
        let (listed, _) = ledger_columns(status.code(), false, &f.severity, f.fixed_on_spot, None);
        enter.execute(params![
            f.case_id,
            v.region,
            v.group,
            v.id,
            f.id,
            v.site,
            v.sector,
            f.severity,
            f.description,
            status.code(),
            f.at,
            f.fixed_on_spot,
            listed
        ])?;
    }
    Ok(())
}

/// Writes the rows of one visit (its enterprise: typed, or from the live merge of its site).
fn put_visit(
    conn: &Connection,
    v: &VisitRow,
    findings: &[FindingRow],
    results: &[ReinspectionRow],
) -> rusqlite::Result<()> {
    put_reinspections(conn, &v.id, &v.region, &v.group, results)?;
    let (code, merge) = match &v.credit_code {
        Some(code) => (Some(code.clone()), None),
        None => match super::enterprises::live_merge(conn, &v.region, &v.site)? {
            Some((id, code)) => (Some(code), Some(id)),
            None => (None, None),
        },
    };
    conn.prepare_cached(
        "INSERT OR REPLACE INTO bo_visits
         (id, region, grp, site, sector, mode, started_at, ended_at, major, general, conflicts,
          assignment, credit_code, site_merge)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        v.id,
        v.region,
        v.group,
        v.site,
        v.sector,
        v.mode,
        v.started_at,
        v.ended_at,
        v.major,
        v.general,
        v.conflicts,
        v.assignment,
        code,
        merge
    ])?;
    conn.prepare_cached("DELETE FROM bo_findings WHERE visit_id = ?1")?
        .execute([&v.id])?;
    let mut finding = conn.prepare_cached(
        "INSERT INTO bo_findings
         (visit_id, finding_id, region, grp, sector, severity, at, item)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for f in findings {
        finding.execute(params![
            v.id, f.id, v.region, v.group, v.sector, f.severity, f.at, f.item
        ])?;
    }
    enter_findings(conn, v, findings)
}

/// The store of index rows, inside the writer's transaction (see the module docs).
fn store_index(
    conn: &Connection,
    rows: &[IndexRows],
    read_at: i64,
    through: i64,
) -> StorageResult<bool> {
    let last: i64 = conn
        .prepare_cached("SELECT last_seq FROM bo_index_state WHERE id = 1")?
        .query_row([], |r| r.get(0))?;
    if last != read_at {
        return Ok(false);
    }
    for r in rows {
        match r {
            IndexRows::Visit(v, findings, results) => put_visit(conn, v, findings, results)?,
            IndexRows::Case(c) => put_row(conn, c)?,
            IndexRows::Collection(c) => {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO bo_collections
                     (id, region, grp, kind, title, body, author, written_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    c.id,
                    c.region,
                    c.group,
                    c.kind,
                    c.title,
                    c.body,
                    c.author,
                    c.written_at
                ])?;
            }
        }
    }
    conn.prepare_cached("UPDATE bo_index_state SET last_seq = MAX(last_seq, ?1) WHERE id = 1")?
        .execute([through])?;
    Ok(true)
}

/// The SQL condition "overdue at `?`" on alias `c` (one argument: now).
pub(crate) fn overdue_sql() -> String {
    "(c.open_deadline < ?)".into()
}

/// The SQL condition "listed at `?`" on alias `c` (one argument: now): listed whatever the
/// date, or overdue (an overdue hazard is never closed, so this is `is_listed`).
pub(crate) fn listed_sql() -> String {
    format!("(c.listed = 1 OR {})", overdue_sql())
}

/// The WHERE clause and arguments of `filter` within what `rows` admits, at `now`.
fn ledger_where(rows: &RowFilter, filter: &LedgerFilter, now: i64) -> (String, Vec<Value>) {
    let (mut sql, mut args) = filtered_where(
        rows,
        "c",
        &filter.equalities(),
        ("opened_at", filter.from, filter.to),
    );
    if filter.overdue {
        sql.push_str(&format!(" AND {}", overdue_sql()));
        args.push(Value::Integer(now));
    }
    if filter.covert {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM bo_visits v WHERE v.id = c.visit_id AND v.mode = 'covert')",
        );
    }
    if filter.listed {
        sql.push_str(&format!(" AND {}", listed_sql()));
        args.push(Value::Integer(now));
    }
    (sql, args)
}

fn ledger(
    conn: &Connection,
    rows: &RowFilter,
    filter: &LedgerFilter,
    now: i64,
    limit: i64,
) -> rusqlite::Result<Vec<CaseRow>> {
    let (sql, mut args) = ledger_where(rows, filter, now);
    args.push(Value::Integer(limit));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CASE_COLUMNS} FROM bo_cases c{sql} ORDER BY c.opened_at DESC, c.id LIMIT ?"
    ))?;
    stmt.query_map(params_from_iter(args.iter()), case_row)?
        .collect()
}

fn ledger_count(
    conn: &Connection,
    rows: &RowFilter,
    filter: &LedgerFilter,
    now: i64,
) -> rusqlite::Result<i64> {
    let (sql, args) = ledger_where(rows, filter, now);
    conn.query_row(
        &format!("SELECT COUNT(*) FROM bo_cases c{sql}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )
}

fn entries_of_visit(conn: &Connection, visit: &str) -> rusqlite::Result<Vec<FindingEntry>> {
    let mut stmt =
        conn.prepare_cached("SELECT finding_id, id, status FROM bo_cases WHERE visit_id = ?1")?;
    stmt.query_map([visit], |r| {
        Ok(FindingEntry {
            finding_id: r.get(0)?,
            case_id: r.get(1)?,
            status: r.get(2)?,
        })
    })?
    .collect()
}

fn reinspections_of(conn: &Connection, case: &str) -> rusqlite::Result<Vec<ReinspectionRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.case_id, r.visit_id, r.outcome, r.note, r.media, r.by_name, r.at
         FROM bo_reinspections r JOIN bo_cases c ON c.id = r.case_id
         WHERE r.case_id = ?1 AND r.region = c.region AND r.grp = c.grp
         ORDER BY r.at, r.id",
    )?;
    stmt.query_map([case], |r| {
        let media: String = r.get(5)?;
        Ok(ReinspectionRow {
            id: r.get(0)?,
            case_id: r.get(1)?,
            visit_id: r.get(2)?,
            outcome: r.get(3)?,
            note: r.get(4)?,
            media: media.split_whitespace().map(str::to_owned).collect(),
            by: r.get(6)?,
            at: r.get(7)?,
        })
    })?
    .collect()
}

fn period_figures(
    conn: &Connection,
    rows: &RowFilter,
    start: i64,
    end: i64,
    now: i64,
) -> rusqlite::Result<PeriodFigures> {
    let period = [Value::Integer(start), Value::Integer(end)];
    let visible = rows.to_sqlite("v");
    let all: Vec<Value> = visible.args.iter().cloned().chain(period.clone()).collect();
    let (visits, covert) = conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(v.mode = 'covert'), 0) FROM bo_visits v
             WHERE 1=1{} AND v.started_at >= ? AND v.started_at < ?",
            visible.sql
        ),
        params_from_iter(all.iter()),
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let visible = rows.to_sqlite("c");
    let cond = visible.sql;
    let all: Vec<Value> = visible.args.iter().cloned().chain(period.clone()).collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.sector, COALESCE(SUM(c.severity = 'major'), 0), COALESCE(SUM(c.severity = 'general'), 0)
         FROM bo_cases c WHERE 1=1{cond} AND c.opened_at >= ? AND c.opened_at < ?
         GROUP BY c.sector ORDER BY c.sector"
    ))?;
    let by_sector = stmt
        .query_map(params_from_iter(all.iter()), |r| {
            Ok(SectorCount {
                sector: r.get(0)?,
                major: r.get(1)?,
                general: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let all: Vec<Value> = [Value::Integer(now), Value::Integer(now)]
        .into_iter()
        .chain(visible.args)
        .chain(period)
        .collect();
    let hazards = conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(c.fixed_on_spot), 0),
                    COALESCE(SUM(c.status IN ('rectified', 'verified')), 0),
                    COALESCE(SUM(c.status = 'closed'), 0),
                    COALESCE(SUM({}), 0), COALESCE(SUM({}), 0)
             FROM bo_cases c WHERE 1=1{cond} AND c.opened_at >= ? AND c.opened_at < ?",
            overdue_sql(),
            listed_sql()
        ),
        params_from_iter(all.iter()),
        |r| {
            Ok(HazardCounts {
                found: r.get(0)?,
                fixed_on_spot: r.get(1)?,
                rectified: r.get(2)?,
                closed: r.get(3)?,
                overdue: r.get(4)?,
                listed: r.get(5)?,
            })
        },
    )?;
    Ok(PeriodFigures {
        visits,
        covert,
        by_sector,
        hazards,
    })
}

#[async_trait]
impl OfficeIndexStore for SqliteStorage {
    async fn index_position(&self) -> StorageResult<IndexPosition> {
        let (indexed, head) = self.read(|c| Ok(index_position(c)?)).await?;
        Ok(IndexPosition {
            indexed: from_sql_seq(indexed),
            head: from_sql_seq(head),
        })
    }

    async fn changed_records(&self, after: u64, through: u64) -> StorageResult<Vec<String>> {
        let (after, through) = (to_sql_seq(after)?, to_sql_seq(through)?);
        self.read(move |c| Ok(changed_records(c, after, through)?))
            .await
    }

    async fn store_index(
        &self,
        rows: &[IndexRows],
        read_at: u64,
        through: u64,
    ) -> StorageResult<bool> {
        let (read_at, through) = (to_sql_seq(read_at)?, to_sql_seq(through)?);
        let rows = rows.to_vec();
        self.write(move |c| store_index(c, &rows, read_at, through))
            .await
    }

    async fn visits(
        &self,
        rows: &RowFilter,
        filter: &VisitFilter,
        limit: i64,
        offset: i64,
    ) -> StorageResult<(Vec<VisitRow>, VisitCounts)> {
        let (rows, filter) = (rows.clone(), filter.clone());
        self.read(move |c| Ok(list_visits(c, &rows, &filter, limit, offset)?))
            .await
    }

    async fn visit(&self, rows: &RowFilter, id: &str) -> StorageResult<Option<VisitRow>> {
        let (rows, id) = (rows.clone(), id.to_owned());
        self.lookup(move |c| Ok(visit(c, &rows, &id)?)).await
    }

    async fn collections(&self, rows: &RowFilter) -> StorageResult<Vec<CollectionRow>> {
        let rows = rows.clone();
        self.read(move |c| Ok(list_collections(c, &rows)?)).await
    }

    async fn visits_per_assignment(
        &self,
        assignments: &[String],
    ) -> StorageResult<HashMap<String, i64>> {
        let ids = assignments.to_vec();
        self.read(move |c| Ok(visits_per_assignment(c, &ids)?))
            .await
    }

    async fn visits_of_assignment(
        &self,
        rows: &RowFilter,
        id: &str,
    ) -> StorageResult<Vec<VisitRow>> {
        let (rows, id) = (rows.clone(), id.to_owned());
        self.read(move |c| Ok(visits_of_assignment(c, &rows, &id)?))
            .await
    }

    async fn ledger(
        &self,
        rows: &RowFilter,
        filter: &LedgerFilter,
        now: i64,
        limit: i64,
    ) -> StorageResult<Vec<CaseRow>> {
        let (rows, filter) = (rows.clone(), filter.clone());
        self.read(move |c| Ok(ledger(c, &rows, &filter, now, limit)?))
            .await
    }

    async fn ledger_count(
        &self,
        rows: &RowFilter,
        filter: &LedgerFilter,
        now: i64,
    ) -> StorageResult<i64> {
        let (rows, filter) = (rows.clone(), filter.clone());
        self.read(move |c| Ok(ledger_count(c, &rows, &filter, now)?))
            .await
    }

    async fn entries_of_visit(&self, visit: &str) -> StorageResult<Vec<FindingEntry>> {
        let visit = visit.to_owned();
        self.lookup(move |c| Ok(entries_of_visit(c, &visit)?)).await
    }

    async fn reinspections_of(&self, case: &str) -> StorageResult<Vec<ReinspectionRow>> {
        let case = case.to_owned();
        self.lookup(move |c| Ok(reinspections_of(c, &case)?)).await
    }

    async fn period_figures(
        &self,
        rows: &RowFilter,
        start: i64,
        end: i64,
        now: i64,
    ) -> StorageResult<PeriodFigures> {
        let rows = rows.clone();
        self.read(move |c| Ok(period_figures(c, &rows, start, end, now)?))
            .await
    }
}
