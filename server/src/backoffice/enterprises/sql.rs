//! The registry's SQL: `bo_enterprises` and `bo_site_merges`, read through the caller's
//! [`Visibility`], and an enterprise's visits, hazards and leads found from the index.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use siteproof_core::Sector;

use super::{
    Enterprise, EnterpriseHistory, EnterpriseLead, EnterpriseListRow, HISTORY_ROWS, RepeatFinding,
    SiteMerge,
};
use crate::backoffice::ledger::rows as case_rows;
use crate::backoffice::visits::sql as visit_sql;
use crate::error::{Error, Result};
use crate::identity::visibility::{Unsectored, Visibility};

const COLUMNS: &str =
    "e.credit_code, e.region, e.name, e.former_names, e.address, e.sectors, e.department";

/// The ids of the visits of enterprise `?2` in region `?1`: the index keeps each visit's
/// enterprise (`bo_visits.credit_code`: typed, or from the live merge of its site name).
pub const VISITS_OF: &str =
    "SELECT v.id FROM bo_visits v WHERE v.region = ?1 AND v.credit_code = ?2";

/// The leads linked to an enterprise, as `(region, credit_code, lead id)`: a lead whose site
/// name was merged into it (a live merge), or whose assignment led to one of its visits.
/// The one statement of the rule: the enterprise page and the risk facts read it.
pub const LEADS_OF: &str = "SELECT m.region AS region, m.credit_code AS credit_code, l.id AS lead
       FROM bo_site_merges m CROSS JOIN bo_leads l ON l.region = m.region AND l.site = m.site
       WHERE m.undone_at IS NULL
     UNION
     SELECT v.region, v.credit_code, l.id FROM bo_leads l
       JOIN bo_visits v ON v.assignment = l.assignment_id AND v.region = l.region
       WHERE l.assignment_id IS NOT NULL AND v.credit_code IS NOT NULL";

/// The live merge of a name-only site of `region`: its id and enterprise.
pub fn live_merge(
    conn: &Connection,
    region: &str,
    site: &str,
) -> rusqlite::Result<Option<(i64, String)>> {
    conn.prepare_cached(
        "SELECT id, credit_code FROM bo_site_merges
         WHERE region = ?1 AND site = ?2 AND undone_at IS NULL",
    )?
    .query_row(params![region, site], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()
}

fn sectors_text(sectors: &[Sector]) -> String {
    sectors
        .iter()
        .map(|s| s.code())
        .collect::<Vec<_>>()
        .join(",")
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Enterprise> {
    Ok(Enterprise {
        credit_code: r.get(0)?,
        region: r.get(1)?,
        name: r.get(2)?,
        former_names: r
            .get::<_, String>(3)?
            .split('\n')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        address: r.get(4)?,
        sectors: r
            .get::<_, String>(5)?
            .split(',')
            .filter_map(Sector::from_code)
            .collect(),
        department: r.get(6)?,
    })
}

fn search_text(e: &Enterprise) -> String {
    let mut s = format!("{}\n{}", e.name, e.credit_code);
    for n in &e.former_names {
        s.push('\n');
        s.push_str(n);
    }
    s.to_lowercase()
}

/// The condition of the list: the reader's region and, optionally, a search term.
fn list_where(vis: &Visibility, search: Option<&str>) -> (String, Vec<Value>) {
    let mut sql = String::from(" WHERE 1=1");
    let mut args = Vec::new();
    vis.enterprise_rows()
        .to_sqlite("e")
        .append_to(&mut sql, &mut args);
    if let Some(term) = search.map(str::trim).filter(|t| !t.is_empty()) {
        let escaped = term
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        sql.push_str(" AND e.search LIKE ? ESCAPE '\\'");
        args.push(Value::Text(format!("%{escaped}%")));
    }
    (sql, args)
}

/// The count of one enterprise's open hazards (not closed) that the reader may see: read
/// through the enterprise's visits (`bo_visits_by_credit_code`) and their ledger rows
/// (`bo_cases_by_visit`), so a list page costs its fifty enterprises, not the region.
fn open_hazards_query(vis: &Visibility, region: &str, code: &str) -> (String, Vec<Value>) {
    let mut sql = String::from(
        "SELECT COUNT(*) FROM bo_visits v CROSS JOIN bo_cases c INDEXED BY bo_cases_by_visit ON c.visit_id = v.id
         WHERE v.region = ?1 AND v.credit_code = ?2 AND c.status <> 'closed'",
    );
    let mut args = vec![Value::Text(region.into()), Value::Text(code.into())];
    vis.rows(Unsectored::Hidden)
        .to_sqlite("c")
        .append_to(&mut sql, &mut args);
    (sql, args)
}

fn open_hazards(
    conn: &Connection,
    vis: &Visibility,
    region: &str,
    code: &str,
) -> rusqlite::Result<i64> {
    let (sql, args) = open_hazards_query(vis, region, code);
    conn.prepare_cached(&sql)?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))
}

/// A page of the enterprises the reader may see matching `search`, by name, and the count.
pub fn list(
    conn: &Connection,
    vis: &Visibility,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<EnterpriseListRow>, i64)> {
    let (cond, args) = list_where(vis, search);
    let total = conn.query_row(
        &format!("SELECT COUNT(*) FROM bo_enterprises e{cond}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let mut page_args = args;
    page_args.extend([Value::Integer(limit), Value::Integer(offset)]);
    let enterprises = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM bo_enterprises e{cond} ORDER BY e.name, e.credit_code LIMIT ? OFFSET ?"
        ))?
        .query_map(params_from_iter(page_args.iter()), row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let rows = enterprises
        .into_iter()
        .map(|e| {
            let open = open_hazards(conn, vis, &e.region, &e.credit_code)?;
            Ok::<_, rusqlite::Error>(EnterpriseListRow {
                enterprise: e,
                open_hazards: open,
            })
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

/// Every enterprise the reader may see, by name.
pub fn all(conn: &Connection, vis: &Visibility) -> rusqlite::Result<Vec<Enterprise>> {
    let (cond, args) = list_where(vis, None);
    conn.prepare(&format!(
        "SELECT {COLUMNS} FROM bo_enterprises e{cond} ORDER BY e.name, e.credit_code"
    ))?
    .query_map(params_from_iter(args.iter()), row)?
    .collect()
}

/// One enterprise the reader may see.
pub fn get(
    conn: &Connection,
    vis: &Visibility,
    code: &str,
) -> rusqlite::Result<Option<Enterprise>> {
    let mut sql = format!("SELECT {COLUMNS} FROM bo_enterprises e WHERE e.credit_code = ?");
    let mut args = vec![Value::Text(code.into())];
    vis.enterprise_rows()
        .to_sqlite("e")
        .append_to(&mut sql, &mut args);
    conn.query_row(&sql, params_from_iter(args.iter()), row)
        .optional()
}

/// An enterprise's whole history as the reader may see it.
pub fn history(
    conn: &Connection,
    vis: &Visibility,
    code: &str,
) -> rusqlite::Result<Option<EnterpriseHistory>> {
    let Some(enterprise) = get(conn, vis, code)? else {
        return Ok(None);
    };
    let key = [
        Value::Text(enterprise.region.clone()),
        Value::Text(enterprise.credit_code.clone()),
    ];
    let visits = visit_sql::visits_in(conn, vis, VISITS_OF, &key, HISTORY_ROWS)?;
    let visit_counts = visit_sql::count_in(conn, vis, VISITS_OF, &key)?;
    let hazards = case_rows::of_visits_in(conn, vis, VISITS_OF, &key, HISTORY_ROWS)?;
    let by_status = case_rows::statuses_in(conn, vis, VISITS_OF, &key)?;
    let repeats = repeats(conn, vis, &key)?;
    let leads = leads(conn, vis, &enterprise)?;
    let merges = merges(conn, &enterprise.region, &enterprise.credit_code)?;
    let candidates = candidates(conn, &enterprise)?;
    Ok(Some(EnterpriseHistory {
        enterprise,
        visits,
        visit_counts,
        hazards,
        by_status,
        leads,
        repeats,
        merges,
        candidates,
    }))
}

fn repeats(
    conn: &Connection,
    vis: &Visibility,
    key: &[Value],
) -> rusqlite::Result<Vec<RepeatFinding>> {
    let mut sql = String::from(
        "SELECT f.item, COUNT(DISTINCT f.visit_id), COUNT(*), MAX(f.at)
         FROM bo_visits v CROSS JOIN bo_findings f INDEXED BY bo_findings_by_item
         ON f.visit_id = v.id
         WHERE v.region = ?1 AND v.credit_code = ?2 AND f.item IS NOT NULL",
    );
    let mut args = key.to_vec();
    vis.rows(Unsectored::Hidden)
        .to_sqlite("f")
        .append_to(&mut sql, &mut args);
    sql.push_str(" GROUP BY f.item HAVING COUNT(DISTINCT f.visit_id) > 1 ORDER BY 2 DESC, 1");
    conn.prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), |r| {
            Ok(RepeatFinding {
                item: r.get(0)?,
                visits: r.get(1)?,
                findings: r.get(2)?,
                last_at: r.get(3)?,
            })
        })?
        .collect()
}

fn leads(
    conn: &Connection,
    vis: &Visibility,
    e: &Enterprise,
) -> rusqlite::Result<Vec<EnterpriseLead>> {
    let mut sql = format!(
        "SELECT l.id, l.site, l.description, l.received_on, l.status FROM bo_leads l
         WHERE l.id IN (SELECT lead FROM ({LEADS_OF}) WHERE region = ?1 AND credit_code = ?2)"
    );
    let mut args = vec![
        Value::Text(e.region.clone()),
        Value::Text(e.credit_code.clone()),
    ];
    vis.rows(Unsectored::Shown)
        .to_sqlite("l")
        .append_to(&mut sql, &mut args);
    sql.push_str(&format!(
        " ORDER BY l.received_on DESC LIMIT {HISTORY_ROWS}"
    ));
    conn.prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), |r| {
            Ok(EnterpriseLead {
                id: r.get(0)?,
                site: r.get(1)?,
                description: r.get(2)?,
                received_on: r.get(3)?,
                status: r.get(4)?,
            })
        })?
        .collect()
}

fn merge_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SiteMerge> {
    Ok(SiteMerge {
        id: r.get(0)?,
        site: r.get(1)?,
        credit_code: r.get(2)?,
        merged_by: r.get(3)?,
        merged_at: r.get(4)?,
        undone_by: r.get(5)?,
        undone_at: r.get(6)?,
    })
}

const MERGE_COLUMNS: &str = "id, site, credit_code, merged_by, merged_at, undone_by, undone_at";

/// Every merge into an enterprise, newest first.
pub fn merges(conn: &Connection, region: &str, code: &str) -> rusqlite::Result<Vec<SiteMerge>> {
    conn.prepare_cached(&format!(
        "SELECT {MERGE_COLUMNS} FROM bo_site_merges WHERE region = ?1 AND credit_code = ?2
         ORDER BY merged_at DESC, id DESC"
    ))?
    .query_map(params![region, code], merge_row)?
    .collect()
}

/// Name-only sites (visits and leads with no credit code) of the region, not merged, whose
/// name contains the enterprise's name or a former name.
fn candidates(conn: &Connection, e: &Enterprise) -> rusqlite::Result<Vec<String>> {
    let mut out = std::collections::BTreeSet::new();
    let mut stmt = conn.prepare_cached(
        "SELECT site FROM (
           SELECT DISTINCT v.site FROM bo_visits v WHERE v.region = ?1 AND v.credit_code IS NULL
             AND instr(v.site, ?2) > 0
           UNION SELECT DISTINCT l.site FROM bo_leads l WHERE l.region = ?1 AND instr(l.site, ?2) > 0)
         WHERE site NOT IN (SELECT site FROM bo_site_merges WHERE region = ?1 AND undone_at IS NULL)
         LIMIT 50",
    )?;
    for name in std::iter::once(&e.name).chain(&e.former_names) {
        for site in stmt.query_map(params![e.region, name], |r| r.get::<_, String>(0))? {
            out.insert(site?);
        }
    }
    Ok(out.into_iter().collect())
}

/// Merges `site` into enterprise `code` of the reader's region, in one transaction with the
/// checks: the enterprise exists, and the site is not merged already.
pub fn merge(
    conn: &mut Connection,
    vis: &Visibility,
    code: &str,
    site: &str,
    by: &str,
    now: i64,
) -> rusqlite::Result<Result<i64>> {
    let tx = conn.transaction()?;
    let Some(e) = get(&tx, vis, code)? else {
        return Ok(Err(Error::UnknownRecord { id: code.into() }));
    };
    let taken: Option<String> = tx
        .query_row(
            "SELECT credit_code FROM bo_site_merges WHERE region = ?1 AND site = ?2 AND undone_at IS NULL",
            params![e.region, site],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = taken {
        return Ok(Err(Error::Conflict(format!(
            "the site is already merged into enterprise {other}; undo that merge first"
        ))));
    }
    tx.execute(
        "INSERT INTO bo_site_merges (region, site, credit_code, merged_by, merged_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![e.region, site, e.credit_code, by, now],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "UPDATE bo_visits SET credit_code = ?1, site_merge = ?2
         WHERE region = ?3 AND site = ?4 AND credit_code IS NULL",
        params![e.credit_code, id, e.region, site],
    )?;
    tx.commit()?;
    Ok(Ok(id))
}

/// Undoes merge `id` of the reader's region (once).
pub fn undo_merge(
    conn: &mut Connection,
    vis: &Visibility,
    id: i64,
    by: &str,
    now: i64,
) -> rusqlite::Result<Result<SiteMerge>> {
    let region = vis.enterprise_region().to_owned();
    let tx = conn.transaction()?;
    let changed = tx.execute(
        "UPDATE bo_site_merges SET undone_by = ?1, undone_at = ?2
         WHERE id = ?3 AND region = ?4 AND undone_at IS NULL",
        params![by, now, id, region],
    )?;
    if changed > 0 {
        tx.execute(
            "UPDATE bo_visits SET credit_code = NULL, site_merge = NULL WHERE site_merge = ?1",
            [id],
        )?;
    }
    let row = tx
        .query_row(
            &format!("SELECT {MERGE_COLUMNS} FROM bo_site_merges WHERE id = ?1 AND region = ?2"),
            params![id, region],
            merge_row,
        )
        .optional()?;
    tx.commit()?;
    Ok(match (changed, row) {
        (_, None) => Err(Error::UnknownRecord { id: id.to_string() }),
        (0, Some(_)) => Err(Error::Conflict("this merge was already undone".into())),
        (_, Some(m)) => Ok(m),
    })
}

/// Writes every imported enterprise into the reader's region in one transaction: a new one
/// is added, a registered one updated (a changed name is kept as a former name).
pub fn upsert_all(
    conn: &mut Connection,
    vis: &Visibility,
    rows: &[Enterprise],
    now: i64,
) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    {
        for new in rows {
            let mut e = new.clone();
            e.region = vis.enterprise_region().to_owned();
            if let Some(old) = get(&tx, vis, &e.credit_code)? {
                for former in std::iter::once(old.name).chain(old.former_names) {
                    if former != e.name && !e.former_names.contains(&former) {
                        e.former_names.push(former);
                    }
                }
            }
            put(&tx, &e, now)?;
        }
    }
    tx.commit()?;
    Ok(rows.len())
}

/// Writes one enterprise (insert or replace).
pub fn put(conn: &Connection, e: &Enterprise, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO bo_enterprises
         (region, credit_code, name, former_names, address, sectors, department, search, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        e.region,
        e.credit_code,
        e.name,
        e.former_names.join("\n"),
        e.address,
        sectors_text(&e.sectors),
        e.department,
        search_text(e),
        now
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoffice::db::plans;
    use crate::identity::users::{Role, WebUser};

    fn users() -> [WebUser; 2] {
        [Role::Reviewer, Role::SectorDepartment].map(|role| WebUser {
            id: 1,
            login: "r".into(),
            name: "r".into(),
            role,
            region: "hebei".into(),
            sectors: vec![Sector::Gas],
            csrf: String::new(),
        })
    }

    /// An enterprise page's visits, hazards and their counts are read from its own visits
    /// (by credit code) and their rows (by visit): no step reads the region's visits or
    /// hazards, so the page costs the enterprise's history, not the region's (it read the
    /// region's 100,000 hazards four times before).
    #[test]
    fn an_enterprises_history_is_searched_by_index() {
        let (_dir, conn) = plans::migrated();
        let key = [
            Value::Text("hebei".into()),
            Value::Text("91350100M000100Y43".into()),
        ];
        for user in users() {
            let vis = Visibility::user(&user);
            for (sql, args) in [
                visit_sql::visits_in_query(&vis, VISITS_OF, &key, HISTORY_ROWS),
                visit_sql::count_in_query(&vis, VISITS_OF, &key),
                case_rows::of_visits_in_query(&vis, VISITS_OF, &key, HISTORY_ROWS),
                case_rows::statuses_in_query(&vis, VISITS_OF, &key),
            ] {
                let steps = plans::steps(&conn, &sql, &args);
                assert!(
                    !plans::reads_the_region(&steps)
                        && steps.iter().any(|s| s.contains("bo_visits_by_credit_code")),
                    "{:?}: {sql}\n{steps:#?}",
                    user.role
                );
            }
        }
    }

    /// The list's open-hazard count searches the enterprise's visits and their hazards by
    /// index (no step scans a table), for a reviewer and a sector department.
    #[test]
    fn the_open_hazard_count_is_searched_by_index() {
        let (_dir, conn) = plans::migrated();
        for user in users() {
            let (sql, args) =
                open_hazards_query(&Visibility::user(&user), "hebei", "91350100M000100Y43");
            let plan = plans::steps(&conn, &sql, &args);
            assert!(
                plan.iter().any(|s| s.contains("bo_visits_by_credit_code"))
                    && plan.iter().any(|s| s.contains("bo_cases_by_visit"))
                    && plan.iter().all(|s| !s.starts_with("SCAN ")),
                "{:?}: {plan:#?}",
                user.role
            );
        }
    }
}
