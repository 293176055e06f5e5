//! [`EnterpriseStore`] for SQLite: tables `bo_enterprises` and `bo_site_merges` (migration
//! 009), and an enterprise's visits, hazards and leads found from the index. Writes go
//! through the one writer connection in an immediate transaction, and processes on one file
//! take its write lock in turn, so a merge's check and insert, and an import's reads and
//! writes, never interleave with another's.
//!
//! The back office's other SQLite readers (the visit index, supervision, the directory) read
//! the registry through [`live_merge`], [`get`], [`all`], [`all_of`] and [`LEADS_OF`].

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::SqliteStorage;
use super::cases::{COLUMNS as CASE_COLUMNS, case_row, put_row as put_case_row};
use super::office_index::{VISIT_COLUMNS, visit_row};
use crate::storage::enterprises::{CANDIDATE_ROWS, HISTORY_ROWS, search_pattern};
use crate::storage::{
    CaseRow, Enterprise, EnterpriseHistory, EnterpriseLead, EnterpriseListRow, EnterpriseReader,
    EnterpriseStore, IndexedFinding, RepeatFinding, RowFilter, SiteMerge, StorageError,
    StorageResult, VisitRow,
};

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

const MERGE_COLUMNS: &str = "id, site, credit_code, merged_by, merged_at, undone_by, undone_at";

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

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Enterprise> {
    Ok(Enterprise::from_columns(
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        &r.get::<_, String>(3)?,
        r.get(4)?,
        &r.get::<_, String>(5)?,
        r.get(6)?,
    ))
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

/// The condition of the list: the registry rows and, optionally, a search term.
fn list_where(registry: &RowFilter, search: Option<&str>) -> (String, Vec<Value>) {
    let mut sql = String::from(" WHERE 1=1");
    let mut args = Vec::new();
    registry.to_sqlite("e").append_to(&mut sql, &mut args);
    if let Some(pattern) = search_pattern(search) {
        sql.push_str(" AND e.search LIKE ? ESCAPE '\\'");
        args.push(Value::Text(pattern));
    }
    (sql, args)
}

/// The count of one enterprise's open hazards (not closed) that `records` admits: read
/// through the enterprise's visits (`bo_visits_by_credit_code`) and their ledger rows
/// (`bo_cases_by_visit`), so a list page costs its fifty enterprises, not the region.
fn open_hazards_query(records: &RowFilter, region: &str, code: &str) -> (String, Vec<Value>) {
    let mut sql = String::from(
        "SELECT COUNT(*) FROM bo_visits v CROSS JOIN bo_cases c INDEXED BY bo_cases_by_visit ON c.visit_id = v.id
         WHERE v.region = ?1 AND v.credit_code = ?2 AND c.status <> 'closed'",
    );
    let mut args = vec![Value::Text(region.into()), Value::Text(code.into())];
    records.to_sqlite("c").append_to(&mut sql, &mut args);
    (sql, args)
}

fn list(
    conn: &Connection,
    reader: &EnterpriseReader,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<EnterpriseListRow>, i64)> {
    let (cond, args) = list_where(&reader.registry, search);
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
            let (sql, args) = open_hazards_query(&reader.records, &e.region, &e.credit_code);
            let open = conn
                .prepare_cached(&sql)?
                .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
            Ok(EnterpriseListRow {
                enterprise: e,
                open_hazards: open,
            })
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((rows, total))
}

/// Every enterprise `registry` admits, by name.
pub fn all(conn: &Connection, registry: &RowFilter) -> rusqlite::Result<Vec<Enterprise>> {
    let (cond, args) = list_where(registry, None);
    conn.prepare(&format!(
        "SELECT {COLUMNS} FROM bo_enterprises e{cond} ORDER BY e.name, e.credit_code"
    ))?
    .query_map(params_from_iter(args.iter()), row)?
    .collect()
}

/// The enterprises `registry` admits, or just `only` (by code, unordered).
pub fn all_of(
    conn: &Connection,
    registry: &RowFilter,
    only: Option<&str>,
) -> rusqlite::Result<Vec<Enterprise>> {
    let (mut cond, mut args) = list_where(registry, None);
    if let Some(code) = only {
        cond.push_str(" AND e.credit_code = ?");
        args.push(Value::Text(code.to_owned()));
    }
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM bo_enterprises e{cond}"))?
        .query_map(params_from_iter(args.iter()), row)?
        .collect()
}

/// One enterprise `registry` admits.
pub fn get(
    conn: &Connection,
    registry: &RowFilter,
    code: &str,
) -> rusqlite::Result<Option<Enterprise>> {
    let mut sql = format!("SELECT {COLUMNS} FROM bo_enterprises e WHERE e.credit_code = ?");
    let mut args = vec![Value::Text(code.into())];
    registry.to_sqlite("e").append_to(&mut sql, &mut args);
    conn.query_row(&sql, params_from_iter(args.iter()), row)
        .optional()
}

/// The key of an enterprise's visits in [`VISITS_OF`].
fn key_of(e: &Enterprise) -> [Value; 2] {
    [
        Value::Text(e.region.clone()),
        Value::Text(e.credit_code.clone()),
    ]
}

/// The enterprise's visits `records` admits, newest first. The selected visits lead
/// (`CROSS JOIN` keeps SQLite's order), each row found by its id: left to itself the planner
/// walks the region's visits by date to skip the sort.
fn visits_query(records: &RowFilter, key: &[Value]) -> (String, Vec<Value>) {
    let mut sql = format!(
        "SELECT {VISIT_COLUMNS} FROM ({VISITS_OF}) k CROSS JOIN bo_visits v ON v.id = k.id WHERE 1=1"
    );
    let mut args = key.to_vec();
    records.to_sqlite("v").append_to(&mut sql, &mut args);
    sql.push_str(" ORDER BY v.started_at DESC, v.id LIMIT ?");
    args.push(Value::Integer(HISTORY_ROWS));
    (sql, args)
}

/// How many of the enterprise's visits `records` admits: (all, covert).
fn visit_counts_query(records: &RowFilter, key: &[Value]) -> (String, Vec<Value>) {
    let mut sql = format!(
        "SELECT COUNT(*), COALESCE(SUM(v.mode = 'covert'), 0)
         FROM ({VISITS_OF}) k CROSS JOIN bo_visits v ON v.id = k.id WHERE 1=1"
    );
    let mut args = key.to_vec();
    records.to_sqlite("v").append_to(&mut sql, &mut args);
    (sql, args)
}

/// The ledger rows of the enterprise's visits, led by those visits and found by visit: left
/// to itself the planner walks the region's entries by date.
fn cases_of() -> String {
    format!(
        "FROM ({VISITS_OF}) k CROSS JOIN bo_cases c INDEXED BY bo_cases_by_visit ON c.visit_id = k.id WHERE 1=1"
    )
}

/// The enterprise's hazards `records` admits, newest first.
fn hazards_query(records: &RowFilter, key: &[Value]) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {CASE_COLUMNS} {}", cases_of());
    let mut args = key.to_vec();
    records.to_sqlite("c").append_to(&mut sql, &mut args);
    sql.push_str(" ORDER BY c.opened_at DESC, c.id LIMIT ?");
    args.push(Value::Integer(HISTORY_ROWS));
    (sql, args)
}

/// How many of the enterprise's hazards `records` admits, per status code.
fn statuses_query(records: &RowFilter, key: &[Value]) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT c.status, COUNT(*) {}", cases_of());
    let mut args = key.to_vec();
    records.to_sqlite("c").append_to(&mut sql, &mut args);
    sql.push_str(" GROUP BY c.status ORDER BY c.status");
    (sql, args)
}

fn history(
    conn: &Connection,
    reader: &EnterpriseReader,
    code: &str,
) -> rusqlite::Result<Option<EnterpriseHistory>> {
    let Some(enterprise) = get(conn, &reader.registry, code)? else {
        return Ok(None);
    };
    let key = key_of(&enterprise);
    let (sql, args) = visits_query(&reader.records, &key);
    let visits = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), visit_row)?
        .collect::<rusqlite::Result<_>>()?;
    let (sql, args) = visit_counts_query(&reader.records, &key);
    let visit_counts = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let (sql, args) = hazards_query(&reader.records, &key);
    let hazards = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), case_row)?
        .collect::<rusqlite::Result<_>>()?;
    let (sql, args) = statuses_query(&reader.records, &key);
    let by_status = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let repeats = repeats(conn, &reader.records, &key)?;
    let leads = leads(conn, &reader.leads, &key)?;
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
    records: &RowFilter,
    key: &[Value],
) -> rusqlite::Result<Vec<RepeatFinding>> {
    let mut sql = String::from(
        "SELECT f.item, COUNT(DISTINCT f.visit_id), COUNT(*), MAX(f.at)
         FROM bo_visits v CROSS JOIN bo_findings f INDEXED BY bo_findings_by_item
         ON f.visit_id = v.id
         WHERE v.region = ?1 AND v.credit_code = ?2 AND f.item IS NOT NULL",
    );
    let mut args = key.to_vec();
    records.to_sqlite("f").append_to(&mut sql, &mut args);
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
    rows: &RowFilter,
    key: &[Value],
) -> rusqlite::Result<Vec<EnterpriseLead>> {
    let mut sql = format!(
        "SELECT l.id, l.site, l.description, l.received_on, l.status FROM bo_leads l
         WHERE l.id IN (SELECT lead FROM ({LEADS_OF}) WHERE region = ?1 AND credit_code = ?2)"
    );
    let mut args = key.to_vec();
    rows.to_sqlite("l").append_to(&mut sql, &mut args);
    sql.push_str(&format!(
        " ORDER BY l.received_on DESC, l.id LIMIT {HISTORY_ROWS}"
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

/// Every merge into an enterprise, newest first.
fn merges(conn: &Connection, region: &str, code: &str) -> rusqlite::Result<Vec<SiteMerge>> {
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
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT site FROM (
           SELECT DISTINCT v.site FROM bo_visits v WHERE v.region = ?1 AND v.credit_code IS NULL
             AND instr(v.site, ?2) > 0
           UNION SELECT DISTINCT l.site FROM bo_leads l WHERE l.region = ?1 AND instr(l.site, ?2) > 0)
         WHERE site NOT IN (SELECT site FROM bo_site_merges WHERE region = ?1 AND undone_at IS NULL)
         ORDER BY site LIMIT {CANDIDATE_ROWS}"
    ))?;
    for name in std::iter::once(&e.name).chain(&e.former_names) {
        for site in stmt.query_map(params![e.region, name], |r| r.get::<_, String>(0))? {
            out.insert(site?);
        }
    }
    Ok(out.into_iter().collect())
}

fn merge(
    conn: &Connection,
    region: &str,
    code: &str,
    site: &str,
    by: &str,
    now: i64,
) -> StorageResult<i64> {
    let Some(e) = get(conn, &RowFilter::region(region), code)? else {
        return Err(StorageError::NotFound(format!("enterprise {code}")));
    };
    if let Some((_, other)) = live_merge(conn, region, site)? {
        return Err(StorageError::Conflict(format!(
            "the site is already merged into enterprise {other}; undo that merge first"
        )));
    }
    conn.execute(
        "INSERT INTO bo_site_merges (region, site, credit_code, merged_by, merged_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![region, site, e.credit_code, by, now],
    )?;
    let id = conn.last_insert_rowid();
    conn.execute(
        "UPDATE bo_visits SET credit_code = ?1, site_merge = ?2
         WHERE region = ?3 AND site = ?4 AND credit_code IS NULL",
        params![e.credit_code, id, region, site],
    )?;
    Ok(id)
}

fn undo_merge(
    conn: &Connection,
    region: &str,
    id: i64,
    by: &str,
    now: i64,
) -> StorageResult<SiteMerge> {
    let changed = conn.execute(
        "UPDATE bo_site_merges SET undone_by = ?1, undone_at = ?2
         WHERE id = ?3 AND region = ?4 AND undone_at IS NULL",
        params![by, now, id, region],
    )?;
    if changed > 0 {
        conn.execute(
            "UPDATE bo_visits SET credit_code = NULL, site_merge = NULL WHERE site_merge = ?1",
            [id],
        )?;
    }
    let row = conn
        .query_row(
            &format!("SELECT {MERGE_COLUMNS} FROM bo_site_merges WHERE id = ?1 AND region = ?2"),
            params![id, region],
            merge_row,
        )
        .optional()?;
    match (changed, row) {
        (_, None) => Err(StorageError::NotFound(format!("merge {id}"))),
        (0, Some(_)) => Err(StorageError::Conflict(
            "this merge was already undone".into(),
        )),
        (_, Some(m)) => Ok(m),
    }
}

/// Writes one enterprise (insert or replace).
fn put(conn: &Connection, e: &Enterprise, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO bo_enterprises
         (region, credit_code, name, former_names, address, sectors, department, search, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        e.region,
        e.credit_code,
        e.name,
        e.former_names_text(),
        e.address,
        e.sectors_text(),
        e.department,
        e.search_text(),
        now
    ])?;
    Ok(())
}

fn put_index_rows(
    conn: &Connection,
    visits: &[VisitRow],
    findings: &[IndexedFinding],
    cases: &[CaseRow],
) -> StorageResult<()> {
    let mut put = conn.prepare_cached(
        "INSERT OR REPLACE INTO bo_visits
         (id, region, grp, site, sector, mode, started_at, ended_at, major, general, conflicts,
          assignment, credit_code, site_merge)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    for v in visits {
        let (code, merge) = match &v.credit_code {
            Some(code) => (Some(code.clone()), None),
            None => live_merge(conn, &v.region, &v.site)?
                .map_or((None, None), |(id, code)| (Some(code), Some(id))),
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
    }
    let mut finding = conn.prepare_cached(
        "INSERT OR REPLACE INTO bo_findings
         (visit_id, finding_id, region, grp, sector, severity, at, item)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for f in findings {
        finding.execute(params![
            f.visit_id,
            f.finding_id,
            f.region,
            f.group,
            f.sector,
            f.severity,
            f.at,
            f.item
        ])?;
    }
    for c in cases {
        put_case_row(conn, c)?;
    }
    Ok(())
}

#[async_trait]
impl EnterpriseStore for SqliteStorage {
    async fn enterprises(
        &self,
        reader: &EnterpriseReader,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StorageResult<(Vec<EnterpriseListRow>, i64)> {
        let (reader, search) = (reader.clone(), search.map(str::to_owned));
        self.read(move |conn| Ok(list(conn, &reader, search.as_deref(), limit, offset)?))
            .await
    }

    async fn all_enterprises(&self, registry: &RowFilter) -> StorageResult<Vec<Enterprise>> {
        let registry = registry.clone();
        self.read(move |conn| Ok(all(conn, &registry)?)).await
    }

    async fn enterprise(
        &self,
        registry: &RowFilter,
        code: &str,
    ) -> StorageResult<Option<Enterprise>> {
        let (registry, code) = (registry.clone(), code.to_owned());
        self.read(move |conn| Ok(get(conn, &registry, &code)?))
            .await
    }

    async fn history(
        &self,
        reader: &EnterpriseReader,
        code: &str,
    ) -> StorageResult<Option<EnterpriseHistory>> {
        let (reader, code) = (reader.clone(), code.to_owned());
        self.read(move |conn| {
            // One snapshot: the counts agree with the rows, the merges with the visits.
            let tx = conn.unchecked_transaction()?;
            let found = history(&tx, &reader, &code)?;
            tx.commit()?;
            Ok(found)
        })
        .await
    }

    async fn live_merge(&self, region: &str, site: &str) -> StorageResult<Option<(i64, String)>> {
        let (region, site) = (region.to_owned(), site.to_owned());
        self.read(move |conn| Ok(live_merge(conn, &region, &site)?))
            .await
    }

    async fn merge_site(
        &self,
        region: &str,
        code: &str,
        site: &str,
        by: &str,
        now: i64,
    ) -> StorageResult<i64> {
        let (region, code, site, by) = (
            region.to_owned(),
            code.to_owned(),
            site.to_owned(),
            by.to_owned(),
        );
        self.write(move |conn| merge(conn, &region, &code, &site, &by, now))
            .await
    }

    async fn undo_merge(
        &self,
        region: &str,
        id: i64,
        by: &str,
        now: i64,
    ) -> StorageResult<SiteMerge> {
        let (region, by) = (region.to_owned(), by.to_owned());
        self.write(move |conn| undo_merge(conn, &region, id, &by, now))
            .await
    }

    async fn import_enterprises(
        &self,
        region: &str,
        rows: &[Enterprise],
        now: i64,
    ) -> StorageResult<usize> {
        let (region, rows) = (region.to_owned(), rows.to_vec());
        self.write(move |conn| {
            let registry = RowFilter::region(&region);
            for new in &rows {
                let old = get(conn, &registry, &new.credit_code)?;
                put(conn, &new.imported_over(&region, old), now)?;
            }
            Ok(rows.len())
        })
        .await
    }

    async fn put_index_rows_for_tests(
        &self,
        visits: &[VisitRow],
        findings: &[IndexedFinding],
        cases: &[CaseRow],
    ) -> StorageResult<()> {
        let (visits, findings, cases) = (visits.to_vec(), findings.to_vec(), cases.to_vec());
        self.write(move |conn| put_index_rows(conn, &visits, &findings, &cases))
            .await
    }
}

#[cfg(test)]
mod tests {
    use siteproof_core::Sector;

    use super::super::plans;
    use super::*;
    use crate::storage::SectorRows;

    /// The visits, hazards and leads filters of a reviewer and of a gas department.
    fn readers() -> [RowFilter; 2] {
        [
            RowFilter::region("hebei"),
            RowFilter::Region {
                region: "hebei".into(),
                sectors: Some(SectorRows {
                    sectors: vec![Sector::Gas],
                    unsectored: false,
                }),
            },
        ]
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
        for records in readers() {
            for (sql, args) in [
                visits_query(&records, &key),
                visit_counts_query(&records, &key),
                hazards_query(&records, &key),
                statuses_query(&records, &key),
            ] {
                let steps = plans::steps(&conn, &sql, &args);
                assert!(
                    !plans::reads_the_region(&steps)
                        && steps.iter().any(|s| s.contains("bo_visits_by_credit_code")),
                    "{records:?}: {sql}\n{steps:#?}"
                );
            }
        }
    }

    /// The list's open-hazard count searches the enterprise's visits and their hazards by
    /// index (no step scans a table), for a reviewer and a sector department.
    #[test]
    fn the_open_hazard_count_is_searched_by_index() {
        let (_dir, conn) = plans::migrated();
        for records in readers() {
            let (sql, args) = open_hazards_query(&records, "hebei", "91350100M000100Y43");
            let plan = plans::steps(&conn, &sql, &args);
            assert!(
                plan.iter().any(|s| s.contains("bo_visits_by_credit_code"))
                    && plan.iter().any(|s| s.contains("bo_cases_by_visit"))
                    && plan.iter().all(|s| !s.starts_with("SCAN ")),
                "{records:?}: {plan:#?}"
            );
        }
    }
}
