//! SQL of the `bo_cases` table: the ledger's index of case records, written with each case.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::backoffice::db::CaseRow;
use crate::identity::visibility::{Unsectored, Visibility};

const COLUMNS: &str = "c.id, c.region, c.grp, c.visit_id, c.finding_id, c.site, c.sector, \
                       c.severity, c.description, c.status, c.unit, c.deadline, c.escalated, \
                       c.opened_at, c.closed_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaseRow> {
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
    })
}

fn scope(vis: &Visibility) -> (String, Vec<Value>) {
    let filter = vis.sql_filter("c", Unsectored::Hidden);
    (format!(" WHERE 1=1{}", filter.sql), filter.args)
}

/// Inserts or replaces a case's row.
pub fn put(conn: &Connection, c: &CaseRow) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO bo_cases
         (id, region, grp, visit_id, finding_id, site, sector, severity, description, status,
          unit, deadline, escalated, opened_at, closed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
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
            c.closed_at
        ],
    )?;
    Ok(())
}

/// Every case the user may see, opened in `[from, to)` when given, newest first.
pub fn list(
    conn: &Connection,
    vis: &Visibility,
    from: Option<i64>,
    to: Option<i64>,
    status: Option<&str>,
    limit: i64,
) -> rusqlite::Result<Vec<CaseRow>> {
    let (mut sql, mut args) = scope(vis);
    if let Some(from) = from {
        sql.push_str(" AND c.opened_at >= ?");
        args.push(Value::Integer(from));
    }
    if let Some(to) = to {
        sql.push_str(" AND c.opened_at < ?");
        args.push(Value::Integer(to));
    }
    if let Some(status) = status {
        sql.push_str(" AND c.status = ?");
        args.push(Value::Text(status.into()));
    }
    args.push(Value::Integer(limit));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM bo_cases c{sql} ORDER BY c.opened_at DESC, c.id LIMIT ?"
    ))?;
    stmt.query_map(params_from_iter(args.iter()), row)?
        .collect()
}

/// One case, if the user may see it.
pub fn get(conn: &Connection, vis: &Visibility, id: &str) -> rusqlite::Result<Option<CaseRow>> {
    let (sql, mut args) = scope(vis);
    args.push(Value::Text(id.into()));
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM bo_cases c{sql} AND c.id = ?"),
        params_from_iter(args.iter()),
        row,
    )
    .optional()
}

/// The cases opened from a visit's findings: finding id -> case id.
pub fn of_visit(conn: &Connection, visit: &str) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT finding_id, id FROM bo_cases WHERE visit_id = ?1")?;
    stmt.query_map([visit], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}
