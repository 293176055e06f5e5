//! SQL of the `bo_cases` table that the visit index reads and writes: the hazard ledger, one
//! row per finding. The visit index enters each finding as it is synced (`recorded` 0: the row
//! follows the finding); the office's case record, once written, owns the row (`recorded` 1),
//! which the storage's `CaseStore` writes with the record. Lists and counts join the index's
//! visits, so they stay here with it.

use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use crate::backoffice::db::{CaseRow, FindingRow, LedgerFilter, VisitRow};
use crate::identity::visibility::{Unsectored, Visibility};
use crate::storage::{SQLITE_CASE_COLUMNS as COLUMNS, ledger_columns, sqlite_case_row as row};
use siteproof_core::CaseStatus;

fn scope(vis: &Visibility) -> (String, Vec<Value>) {
    let filter = vis.rows(Unsectored::Hidden).to_sqlite("c");
    (format!(" WHERE 1=1{}", filter.sql), filter.args)
}

/// The SQL condition "overdue at `?`" on alias `c` (one argument: now).
pub fn overdue_sql() -> String {
    "(c.open_deadline < ?)".into()
}

/// The SQL condition "listed at `?`" on alias `c` (one argument: now): listed whatever the
/// date, or overdue (an overdue hazard is never closed, so this is `is_listed`).
pub fn listed_sql() -> String {
    format!("(c.listed = 1 OR {})", overdue_sql())
}

/// The WHERE clause and arguments of `filter` within what `vis` may see, at `now`.
fn filtered(vis: &Visibility, filter: &LedgerFilter, now: i64) -> (String, Vec<Value>) {
    let (mut sql, mut args) = scope(vis);
    let mut eq = |column: &str, value: &Option<String>| {
        if let Some(v) = value {
            sql.push_str(&format!(" AND c.{column} = ?"));
            args.push(Value::Text(v.clone()));
        }
    };
    eq("status", &filter.status);
    eq("sector", &filter.sector);
    eq("grp", &filter.group);
    eq("severity", &filter.severity);
    if let Some(from) = filter.from {
        sql.push_str(" AND c.opened_at >= ?");
        args.push(Value::Integer(from));
    }
    if let Some(to) = filter.to {
        sql.push_str(" AND c.opened_at < ?");
        args.push(Value::Integer(to));
    }
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

/// Enters a visit's findings into the ledger: a finding with a case record keeps it (only
/// when it was found is refreshed), the others follow the finding; entries of findings the
/// visit no longer has go.
pub fn enter_findings(
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

/// The entries matching `filter` that the user may see, newest found first, at most `limit`.
pub fn list(
    conn: &Connection,
    vis: &Visibility,
    filter: &LedgerFilter,
    now: i64,
    limit: i64,
) -> rusqlite::Result<Vec<CaseRow>> {
    let (sql, mut args) = filtered(vis, filter, now);
    args.push(Value::Integer(limit));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM bo_cases c{sql} ORDER BY c.opened_at DESC, c.id LIMIT ?"
    ))?;
    stmt.query_map(params_from_iter(args.iter()), row)?
        .collect()
}

/// How many entries match `filter`.
pub fn count(
    conn: &Connection,
    vis: &Visibility,
    filter: &LedgerFilter,
    now: i64,
) -> rusqlite::Result<i64> {
    let (sql, args) = filtered(vis, filter, now);
    conn.query_row(
        &format!("SELECT COUNT(*) FROM bo_cases c{sql}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )
}

/// The ledger entries of a visit's findings: finding id -> (entry id, status code).
pub fn of_visit(
    conn: &Connection,
    visit: &str,
) -> rusqlite::Result<Vec<(String, (String, String))>> {
    let mut stmt =
        conn.prepare_cached("SELECT finding_id, id, status FROM bo_cases WHERE visit_id = ?1")?;
    stmt.query_map([visit], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
        .collect()
}
