//! The visit index's SQL: the `bo_visits`, `bo_findings` and `bo_collections` rows, each read
//! through the caller's [`Visibility`] filter, and the index's position in the sync log. The
//! sync tables (`changes`, `documents`) are only read, to find records changed since the index
//! last looked.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::backoffice::ledger::rows as case_rows;
use crate::backoffice::rows::{CollectionRow, IndexRows, VisitCounts, VisitFilter, VisitRow};
use crate::identity::visibility::{Unsectored, Visibility};
use crate::storage::sqlite_enterprises as enterprise_sql;

fn visit_where(vis: &Visibility, f: &VisitFilter) -> (String, Vec<Value>) {
    let mut sql = String::from(" WHERE 1=1");
    let mut args = Vec::new();
    vis.rows(Unsectored::Hidden)
        .to_sqlite("v")
        .append_to(&mut sql, &mut args);
    let mut eq = |col: &str, v: &Option<String>| {
        if let Some(v) = v {
            sql.push_str(&format!(" AND v.{col} = ?"));
            args.push(Value::Text(v.clone()));
        }
    };
    eq("grp", &f.group);
    eq("sector", &f.sector);
    eq("mode", &f.mode);
    if let Some(from) = f.from {
        sql.push_str(" AND v.started_at >= ?");
        args.push(Value::Integer(from));
    }
    if let Some(to) = f.to {
        sql.push_str(" AND v.started_at < ?");
        args.push(Value::Integer(to));
    }
    match f.severity.as_deref() {
        Some("major") => sql.push_str(" AND v.major > 0"),
        Some("general") => sql.push_str(" AND v.general > 0"),
        _ => {}
    }
    match f.status.as_deref() {
        Some("ended") => sql.push_str(" AND v.ended_at IS NOT NULL"),
        Some("in_progress") => sql.push_str(" AND v.ended_at IS NULL"),
        _ => {}
    }
    (sql, args)
}

fn visit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VisitRow> {
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

const VISIT_COLUMNS: &str = "v.id, v.region, v.grp, v.site, v.sector, v.mode, v.started_at, \
                             v.ended_at, v.major, v.general, v.conflicts, v.assignment, \
                             v.credit_code";

/// A page of the user's visits matching `f`, newest first, and the counts over all matches.
pub fn list_visits(
    conn: &Connection,
    vis: &Visibility,
    f: &VisitFilter,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<VisitRow>, VisitCounts)> {
    let (cond, args) = visit_where(vis, f);
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

/// One visit's row, if the user may see it.
pub fn visit(conn: &Connection, vis: &Visibility, id: &str) -> rusqlite::Result<Option<VisitRow>> {
    let mut sql = format!("SELECT {VISIT_COLUMNS} FROM bo_visits v WHERE v.id = ?");
    let mut args = vec![Value::Text(id.into())];
    vis.rows(Unsectored::Hidden)
        .to_sqlite("v")
        .append_to(&mut sql, &mut args);
    conn.query_row(&sql, params_from_iter(args.iter()), visit_row)
        .optional()
}

/// The collections (work updates, practices) of a region, newest first.
pub fn list_collections(
    conn: &Connection,
    vis: &Visibility,
) -> rusqlite::Result<Vec<CollectionRow>> {
    let filter = vis.region_rows().to_sqlite("c");
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

/// How many visits the index holds for each of `assignments` (whoever may see them); an
/// assignment with none is absent.
pub fn visits_per_assignment(
    conn: &Connection,
    assignments: &[String],
) -> rusqlite::Result<std::collections::HashMap<String, i64>> {
    let mut stmt = conn.prepare_cached("SELECT COUNT(*) FROM bo_visits WHERE assignment = ?1")?;
    let mut out = std::collections::HashMap::new();
    for id in assignments {
        let n: i64 = stmt.query_row([id], |r| r.get(0))?;
        if n > 0 {
            out.insert(id.clone(), n);
        }
    }
    Ok(out)
}

/// The visits the user may see that were started from assignment `id`.
pub fn visits_of_assignment(
    conn: &Connection,
    vis: &Visibility,
    id: &str,
) -> rusqlite::Result<Vec<VisitRow>> {
    let mut sql = format!("SELECT {VISIT_COLUMNS} FROM bo_visits v WHERE v.assignment = ?");
    let mut args = vec![Value::Text(id.into())];
    vis.rows(Unsectored::Hidden)
        .to_sqlite("v")
        .append_to(&mut sql, &mut args);
    sql.push_str(" ORDER BY v.started_at");
    let mut stmt = conn.prepare(&sql)?;
    stmt.query_map(params_from_iter(args.iter()), visit_row)?
        .collect()
}

/// The index's position in the change log.
pub fn index_seq(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
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

/// Records written by devices (visits, collections) with a change in `(after, through]`.
pub fn changed_records(
    conn: &Connection,
    after: i64,
    through: i64,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT c.doc_id FROM changes c JOIN documents d ON d.id = c.doc_id
         WHERE c.seq > ?1 AND c.seq <= ?2 AND d.kind IN ('visit', 'report', 'case')",
    )?;
    stmt.query_map([after, through], |r| r.get(0))?.collect()
}

/// Replaces the index rows of some visits and moves the index position, in one transaction.
pub fn store_index(
    conn: &mut Connection,
    rows: &[IndexRows],
    through: i64,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO bo_visits
             (id, region, grp, site, sector, mode, started_at, ended_at, major, general, conflicts,
              assignment, credit_code, site_merge)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        let mut collection = tx.prepare_cached(
            "INSERT OR REPLACE INTO bo_collections
             (id, region, grp, kind, title, body, author, written_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut clear = tx.prepare_cached("DELETE FROM bo_findings WHERE visit_id = ?1")?;
        let mut finding = tx.prepare_cached(
            "INSERT INTO bo_findings
             (visit_id, finding_id, region, grp, sector, severity, at, item)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for r in rows {
            let (v, findings) = match r {
                IndexRows::Visit(v, findings, results) => {
                    crate::backoffice::ledger::reinspection::put_of_visit(
                        &tx, &v.id, &v.region, &v.group, results,
                    )?;
                    (v, findings)
                }
                IndexRows::Case(c) => {
                    crate::storage::put_sqlite_case_row(&tx, c)
                        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                    continue;
                }
                IndexRows::Collection(c) => {
                    collection.execute(params![
                        c.id,
                        c.region,
                        c.group,
                        c.kind,
                        c.title,
                        c.body,
                        c.author,
                        c.written_at
                    ])?;
                    continue;
                }
            };
            // A name-only site takes the enterprise of its live merge, if any.
            let (code, merge) = match &v.credit_code {
                Some(code) => (Some(code.clone()), None),
                None => match enterprise_sql::live_merge(&tx, &v.region, &v.site)? {
                    Some((id, code)) => (Some(code), Some(id)),
                    None => (None, None),
                },
            };
            put.execute(params![
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
            clear.execute([&v.id])?;
            for f in findings {
                finding.execute(params![
                    v.id, f.id, v.region, v.group, v.sector, f.severity, f.at, f.item
                ])?;
            }
            case_rows::enter_findings(&tx, v, findings)?;
        }
    }
    tx.execute(
        "UPDATE bo_index_state SET last_seq = MAX(last_seq, ?1) WHERE id = 1",
        [through],
    )?;
    tx.commit()
}
