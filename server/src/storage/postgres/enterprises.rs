//! [`EnterpriseStore`] for PostgreSQL: tables `bo_enterprises` and `bo_site_merges`
//! (migration 011), and an enterprise's visits, hazards and leads found from the index.
//!
//! Across processes: a merge inserts under the unique index of live merges
//! (`bo_site_merges_live`), so of two merging one site at once the second waits for the
//! first's commit and finds the site taken. A merge, its undo and [`live_merge_in`] hold the
//! site's advisory lock ([`SITE_LOCK`], the site's name hashed) to their commit, so a writer
//! of index rows reading a site's merge with it never stores a visit against a merge being
//! made or undone. An import holds its region's lock ([`REGISTRY_LOCK`]) from reading the
//! stored rows to its commit, so imports into one region run one after the other and each
//! keeps the names the one before wrote. Text is ordered as SQLite orders it (`COLLATE "C"`,
//! by bytes), so both backends list in one order.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PostgresStorage;
use super::cases::{COLUMNS as CASE_COLUMNS, case_row, put_row as put_case_row};
use super::office_index::{VISIT_COLUMNS, visit_row};
use crate::storage::enterprises::{CANDIDATE_ROWS, HISTORY_ROWS, search_pattern};
use crate::storage::{
    CaseRow, Enterprise, EnterpriseHistory, EnterpriseLead, EnterpriseListRow, EnterpriseReader,
    EnterpriseStore, IndexedFinding, RepeatFinding, RowFilter, SiteMerge, StorageError,
    StorageResult, VisitRow,
};

/// The class (first key) of the advisory locks on one site's merges: the second key hashes
/// the region and site name. Two-key locks never meet the one-key locks of the log.
const SITE_LOCK: i32 = 0x7370_534d;
/// The class of the advisory locks on one region's registry: the second key hashes the
/// region.
const REGISTRY_LOCK: i32 = 0x7370_5245;

/// Rows an import reads or writes per statement.
const IMPORT_CHUNK: usize = 1000;

const COLUMNS: &str =
    "e.credit_code, e.region, e.name, e.former_names, e.address, e.sectors, e.department";

const MERGE_COLUMNS: &str = "id, site, credit_code, merged_by, merged_at, undone_by, undone_at";

/// The condition of an enterprise's rows joined to its visits `v`: `$1` region, `$2` code.
const OF_ENTERPRISE: &str = "v.region = $1 AND v.credit_code = $2";

type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

fn row(r: &Row) -> Enterprise {
    Enterprise::from_columns(
        r.get(0),
        r.get(1),
        r.get(2),
        r.get(3),
        r.get(4),
        r.get(5),
        r.get(6),
    )
}

fn merge_row(r: &Row) -> SiteMerge {
    SiteMerge {
        id: r.get(0),
        site: r.get(1),
        credit_code: r.get(2),
        merged_by: r.get(3),
        merged_at: r.get(4),
        undone_by: r.get(5),
        undone_at: r.get(6),
    }
}

/// Runs `sql` with `params` and reads every row with `read`.
async fn rows_of<T>(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    read: impl Fn(&Row) -> T,
) -> StorageResult<Vec<T>> {
    let stmt = client.prepare_cached(sql).await?;
    Ok(client
        .query(&stmt, params)
        .await?
        .iter()
        .map(read)
        .collect())
}

/// One enterprise `registry` admits.
async fn get_in(
    client: &impl GenericClient,
    registry: &RowFilter,
    code: &str,
) -> StorageResult<Option<Enterprise>> {
    let visible = registry.to_postgres("e", 2);
    let sql = format!(
        "SELECT {COLUMNS} FROM bo_enterprises e WHERE e.credit_code = $1{}",
        visible.sql
    );
    let mut params: Params<'_> = vec![&code];
    params.extend(visible.params());
    Ok(rows_of(client, &sql, &params, row).await?.pop())
}

/// Takes the advisory lock of `region`'s site `site` until the transaction ends.
async fn lock_site(client: &impl GenericClient, region: &str, site: &str) -> StorageResult<()> {
    client
        .execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2 || chr(10) || $3))",
            &[&SITE_LOCK, &region, &site],
        )
        .await?;
    Ok(())
}

/// The live merge of a name-only site of `region` (its id and enterprise), read under the
/// site's lock: a writer of index rows calls it in its transaction, so a visit it stores
/// takes the merge as it stands until that transaction commits.
pub(super) async fn live_merge_in(
    client: &impl GenericClient,
    region: &str,
    site: &str,
) -> StorageResult<Option<(i64, String)>> {
    lock_site(client, region, site).await?;
    live_merge(client, region, site).await
}

/// The live merge of a name-only site of `region`: its id and enterprise.
async fn live_merge(
    client: &impl GenericClient,
    region: &str,
    site: &str,
) -> StorageResult<Option<(i64, String)>> {
    let stmt = client
        .prepare_cached(
            "SELECT id, credit_code FROM bo_site_merges
             WHERE region = $1 AND site = $2 AND undone_at IS NULL",
        )
        .await?;
    let found = client.query_opt(&stmt, &[&region, &site]).await?;
    Ok(found.map(|r| (r.get(0), r.get(1))))
}

/// Every enterprise `registry` admits matching `search`, by name: the `WHERE` condition and
/// its parameters (from `$1`).
fn list_where<'a>(
    visible: &'a super::PostgresCondition,
    pattern: &'a Option<String>,
) -> (String, Params<'a>) {
    let mut sql = format!(" WHERE TRUE{}", visible.sql);
    let mut params: Params<'a> = visible.params().collect();
    if let Some(p) = pattern {
        sql.push_str(&format!(
            " AND e.search LIKE ${} ESCAPE '\\'",
            params.len() + 1
        ));
        params.push(p);
    }
    (sql, params)
}

const BY_NAME: &str = " ORDER BY e.name COLLATE \"C\", e.credit_code COLLATE \"C\"";

async fn list(
    client: &impl GenericClient,
    reader: &EnterpriseReader,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> StorageResult<(Vec<EnterpriseListRow>, i64)> {
    let visible = reader.registry.to_postgres("e", 1);
    let pattern = search_pattern(search);
    let (cond, params) = list_where(&visible, &pattern);
    let total: i64 = client
        .query_one(
            &format!("SELECT COUNT(*) FROM bo_enterprises e{cond}"),
            &params,
        )
        .await?
        .get(0);
    let n = params.len();
    let mut page_params = params;
    page_params.extend([&limit as &(dyn ToSql + Sync), &offset]);
    let enterprises = rows_of(
        client,
        &format!(
            "SELECT {COLUMNS} FROM bo_enterprises e{cond}{BY_NAME} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ),
        &page_params,
        row,
    )
    .await?;
    let open = open_hazards(client, &reader.records, &enterprises).await?;
    let rows = enterprises
        .into_iter()
        .map(|e| {
            let key = (e.region.clone(), e.credit_code.clone());
            EnterpriseListRow {
                open_hazards: open.get(&key).copied().unwrap_or(0),
                enterprise: e,
            }
        })
        .collect();
    Ok((rows, total))
}

/// The open hazards (not closed) `records` admits of each of `enterprises`, in one query
/// led by their visits (`bo_visits_by_credit_code`) and found by visit.
async fn open_hazards(
    client: &impl GenericClient,
    records: &RowFilter,
    enterprises: &[Enterprise],
) -> StorageResult<HashMap<(String, String), i64>> {
    if enterprises.is_empty() {
        return Ok(HashMap::new());
    }
    let regions: Vec<&str> = enterprises.iter().map(|e| e.region.as_str()).collect();
    let codes: Vec<&str> = enterprises.iter().map(|e| e.credit_code.as_str()).collect();
    let visible = records.to_postgres("c", 3);
    let sql = format!(
        "SELECT v.region, v.credit_code, COUNT(*)
         FROM UNNEST($1::text[], $2::text[]) k (region, code)
         JOIN bo_visits v ON v.region = k.region AND v.credit_code = k.code
         JOIN bo_cases c ON c.visit_id = v.id
         WHERE c.status <> 'closed'{}
         GROUP BY v.region, v.credit_code",
        visible.sql
    );
    let mut params: Params<'_> = vec![&regions, &codes];
    params.extend(visible.params());
    let counts = rows_of(client, &sql, &params, |r| {
        ((r.get::<_, String>(0), r.get::<_, String>(1)), r.get(2))
    })
    .await?;
    Ok(counts.into_iter().collect())
}

/// The enterprise's key (`$1`, `$2`) followed by a row filter's arguments.
fn keyed<'a>(key: &[&'a (dyn ToSql + Sync)], args: &'a [String]) -> Params<'a> {
    key.iter()
        .copied()
        .chain(args.iter().map(|a| a as &(dyn ToSql + Sync)))
        .collect()
}

async fn history(
    client: &impl GenericClient,
    reader: &EnterpriseReader,
    code: &str,
) -> StorageResult<Option<EnterpriseHistory>> {
    let Some(enterprise) = get_in(client, &reader.registry, code).await? else {
        return Ok(None);
    };
    let (region, code) = (&enterprise.region, &enterprise.credit_code);
    let key: Params<'_> = vec![region, code];
    let with = |filter: &RowFilter, table: &str| {
        let visible = filter.to_postgres(table, 3);
        (visible.sql.clone(), visible.args)
    };

    let (cond, args) = with(&reader.records, "v");
    let visits = rows_of(
        client,
        &format!(
            "SELECT {VISIT_COLUMNS} FROM bo_visits v WHERE {OF_ENTERPRISE}{cond}
             ORDER BY v.started_at DESC, v.id COLLATE \"C\" LIMIT {HISTORY_ROWS}"
        ),
        &keyed(&key, &args),
        visit_row,
    )
    .await?;
    let counts = client
        .query_one(
            &format!(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE v.mode = 'covert')
                 FROM bo_visits v WHERE {OF_ENTERPRISE}{cond}"
            ),
            &keyed(&key, &args),
        )
        .await?;
    let visit_counts = (counts.get(0), counts.get(1));

    let (cond, args) = with(&reader.records, "c");
    let cases_of = format!(
        "FROM bo_visits v JOIN bo_cases c ON c.visit_id = v.id WHERE {OF_ENTERPRISE}{cond}"
    );
    let hazards = rows_of(
        client,
        &format!(
            "SELECT {CASE_COLUMNS} {cases_of}
             ORDER BY c.opened_at DESC, c.id COLLATE \"C\" LIMIT {HISTORY_ROWS}"
        ),
        &keyed(&key, &args),
        case_row,
    )
    .await?;
    let by_status = rows_of(
        client,
        &format!(
            "SELECT c.status, COUNT(*) {cases_of}
             GROUP BY c.status ORDER BY c.status COLLATE \"C\""
        ),
        &keyed(&key, &args),
        |r| (r.get(0), r.get(1)),
    )
    .await?;

    let (cond, args) = with(&reader.records, "f");
    let repeats = rows_of(
        client,
        &format!(
            "SELECT f.item, COUNT(DISTINCT f.visit_id), COUNT(*), MAX(f.at)
             FROM bo_visits v JOIN bo_findings f ON f.visit_id = v.id
             WHERE {OF_ENTERPRISE} AND f.item IS NOT NULL{cond}
             GROUP BY f.item HAVING COUNT(DISTINCT f.visit_id) > 1
             ORDER BY 2 DESC, f.item COLLATE \"C\""
        ),
        &keyed(&key, &args),
        |r| RepeatFinding {
            item: r.get(0),
            visits: r.get(1),
            findings: r.get(2),
            last_at: r.get(3),
        },
    )
    .await?;

    let (cond, args) = with(&reader.leads, "l");
    let leads = rows_of(
        client,
        &format!(
            "SELECT l.id, l.site, l.description, l.received_on, l.status FROM bo_leads l
             WHERE l.id IN (
               SELECT ml.id FROM bo_site_merges m
                 JOIN bo_leads ml ON ml.region = m.region AND ml.site = m.site
                 WHERE m.undone_at IS NULL AND m.region = $1 AND m.credit_code = $2
               UNION
               SELECT al.id FROM bo_leads al
                 JOIN bo_visits v ON v.assignment = al.assignment_id AND v.region = al.region
                 WHERE al.assignment_id IS NOT NULL AND {OF_ENTERPRISE}){cond}
             ORDER BY l.received_on DESC, l.id COLLATE \"C\" LIMIT {HISTORY_ROWS}"
        ),
        &keyed(&key, &args),
        |r| EnterpriseLead {
            id: r.get(0),
            site: r.get(1),
            description: r.get(2),
            received_on: r.get(3),
            status: r.get(4),
        },
    )
    .await?;

    let merges = rows_of(
        client,
        &format!(
            "SELECT {MERGE_COLUMNS} FROM bo_site_merges WHERE region = $1 AND credit_code = $2
             ORDER BY merged_at DESC, id DESC"
        ),
        &key,
        merge_row,
    )
    .await?;
    let candidates = candidates(client, &enterprise).await?;
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

/// Name-only sites (visits and leads with no credit code) of the region, not merged, whose
/// name contains the enterprise's name or a former name.
async fn candidates(client: &impl GenericClient, e: &Enterprise) -> StorageResult<Vec<String>> {
    let sql = format!(
        "SELECT site FROM (
           SELECT v.site FROM bo_visits v WHERE v.region = $1 AND v.credit_code IS NULL
             AND strpos(v.site, $2) > 0
           UNION SELECT l.site FROM bo_leads l WHERE l.region = $1 AND strpos(l.site, $2) > 0) s
         WHERE site NOT IN (SELECT site FROM bo_site_merges WHERE region = $1 AND undone_at IS NULL)
         ORDER BY site COLLATE \"C\" LIMIT {CANDIDATE_ROWS}"
    );
    let mut out = std::collections::BTreeSet::new();
    for name in std::iter::once(&e.name).chain(&e.former_names) {
        out.extend(rows_of(client, &sql, &[&e.region, name], |r| r.get::<_, String>(0)).await?);
    }
    Ok(out.into_iter().collect())
}

/// Writes `rows` (each replacing the stored row of its code).
async fn put_all(client: &impl GenericClient, rows: &[Enterprise], now: i64) -> StorageResult<()> {
    for chunk in rows.chunks(IMPORT_CHUNK) {
        let column = |f: fn(&Enterprise) -> String| chunk.iter().map(f).collect::<Vec<_>>();
        let (regions, codes, names) = (
            column(|e| e.region.clone()),
            column(|e| e.credit_code.clone()),
            column(|e| e.name.clone()),
        );
        let (former, addresses, sectors) = (
            column(Enterprise::former_names_text),
            column(|e| e.address.clone()),
            column(Enterprise::sectors_text),
        );
        let (departments, search) = (
            column(|e| e.department.clone()),
            column(Enterprise::search_text),
        );
        client
            .execute(
                "INSERT INTO bo_enterprises
                 (region, credit_code, name, former_names, address, sectors, department, search,
                  updated_at)
                 SELECT r, c, n, f, a, s, d, q, $9 FROM UNNEST($1::text[], $2::text[],
                   $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
                   AS t (r, c, n, f, a, s, d, q)
                 ON CONFLICT (region, credit_code) DO UPDATE SET name = EXCLUDED.name,
                   former_names = EXCLUDED.former_names, address = EXCLUDED.address,
                   sectors = EXCLUDED.sectors, department = EXCLUDED.department,
                   search = EXCLUDED.search, updated_at = EXCLUDED.updated_at",
                &[
                    &regions,
                    &codes,
                    &names,
                    &former,
                    &addresses,
                    &sectors,
                    &departments,
                    &search,
                    &now,
                ],
            )
            .await?;
    }
    Ok(())
}

#[async_trait]
impl EnterpriseStore for PostgresStorage {
    async fn enterprises(
        &self,
        reader: &EnterpriseReader,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StorageResult<(Vec<EnterpriseListRow>, i64)> {
        let conn = self.conn().await?;
        list(&conn.client, reader, search, limit, offset).await
    }

    async fn all_enterprises(&self, registry: &RowFilter) -> StorageResult<Vec<Enterprise>> {
        let visible = registry.to_postgres("e", 1);
        let (cond, params) = list_where(&visible, &None);
        let conn = self.conn().await?;
        rows_of(
            &conn.client,
            &format!("SELECT {COLUMNS} FROM bo_enterprises e{cond}{BY_NAME}"),
            &params,
            row,
        )
        .await
    }

    async fn enterprise(
        &self,
        registry: &RowFilter,
        code: &str,
    ) -> StorageResult<Option<Enterprise>> {
        let conn = self.conn().await?;
        get_in(&conn.client, registry, code).await
    }

    async fn history(
        &self,
        reader: &EnterpriseReader,
        code: &str,
    ) -> StorageResult<Option<EnterpriseHistory>> {
        let mut conn = self.conn().await?;
        // One snapshot: the counts agree with the rows.
        let tx = conn
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let found = history(&tx, reader, code).await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn live_merge(&self, region: &str, site: &str) -> StorageResult<Option<(i64, String)>> {
        let conn = self.conn().await?;
        live_merge(&conn.client, region, site).await
    }

    async fn merge_site(
        &self,
        region: &str,
        code: &str,
        site: &str,
        by: &str,
        now: i64,
    ) -> StorageResult<i64> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let Some(e) = get_in(&tx, &RowFilter::region(region), code).await? else {
            return Err(StorageError::NotFound(format!("enterprise {code}")));
        };
        lock_site(&tx, region, site).await?;
        let inserted = tx
            .query_opt(
                "INSERT INTO bo_site_merges (region, site, credit_code, merged_by, merged_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (region, site) WHERE undone_at IS NULL DO NOTHING
                 RETURNING id",
                &[&region, &site, &e.credit_code, &by, &now],
            )
            .await?;
        let Some(inserted) = inserted else {
            let other = live_merge(&tx, region, site).await?.map(|(_, code)| code);
            return Err(StorageError::Conflict(format!(
                "the site is already merged into enterprise {}; undo that merge first",
                other.unwrap_or_default()
            )));
        };
        let id: i64 = inserted.get(0);
        tx.execute(
            "UPDATE bo_visits SET credit_code = $1, site_merge = $2
             WHERE region = $3 AND site = $4 AND credit_code IS NULL",
            &[&e.credit_code, &id, &region, &site],
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn undo_merge(
        &self,
        region: &str,
        id: i64,
        by: &str,
        now: i64,
    ) -> StorageResult<SiteMerge> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let site: String = match tx
            .query_opt(
                "SELECT site FROM bo_site_merges WHERE id = $1 AND region = $2",
                &[&id, &region],
            )
            .await?
        {
            Some(r) => r.get(0),
            None => return Err(StorageError::NotFound(format!("merge {id}"))),
        };
        lock_site(&tx, region, &site).await?;
        let undone = tx
            .query_opt(
                &format!(
                    "UPDATE bo_site_merges SET undone_by = $1, undone_at = $2
                     WHERE id = $3 AND region = $4 AND undone_at IS NULL
                     RETURNING {MERGE_COLUMNS}"
                ),
                &[&by, &now, &id, &region],
            )
            .await?;
        let Some(undone) = undone else {
            return Err(StorageError::Conflict(
                "this merge was already undone".into(),
            ));
        };
        tx.execute(
            "UPDATE bo_visits SET credit_code = NULL, site_merge = NULL WHERE site_merge = $1",
            &[&id],
        )
        .await?;
        tx.commit().await?;
        Ok(merge_row(&undone))
    }

    async fn import_enterprises(
        &self,
        region: &str,
        rows: &[Enterprise],
        now: i64,
    ) -> StorageResult<usize> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&REGISTRY_LOCK, &region],
        )
        .await?;
        // The stored rows of the imported codes, then each row written over the one before
        // it (an import repeating a code keeps the earlier row's names, as one at a time).
        let mut stored: HashMap<String, Enterprise> = HashMap::new();
        let codes: Vec<&str> = rows.iter().map(|e| e.credit_code.as_str()).collect();
        for chunk in codes.chunks(IMPORT_CHUNK) {
            let found = rows_of(
                &tx,
                &format!(
                    "SELECT {COLUMNS} FROM bo_enterprises e
                     WHERE e.region = $1 AND e.credit_code = ANY($2)"
                ),
                &[&region, &chunk],
                row,
            )
            .await?;
            stored.extend(found.into_iter().map(|e| (e.credit_code.clone(), e)));
        }
        let mut order = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for new in rows {
            if seen.insert(new.credit_code.as_str()) {
                order.push(new.credit_code.clone());
            }
            let old = stored.remove(&new.credit_code);
            stored.insert(new.credit_code.clone(), new.imported_over(region, old));
        }
        let written: Vec<Enterprise> = order
            .iter()
            .filter_map(|code| stored.remove(code))
            .collect();
        put_all(&tx, &written, now).await?;
        tx.commit().await?;
        Ok(rows.len())
    }

    async fn put_index_rows_for_tests(
        &self,
        visits: &[VisitRow],
        findings: &[IndexedFinding],
        cases: &[CaseRow],
    ) -> StorageResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        for v in visits {
            let (code, merge) = match &v.credit_code {
                Some(code) => (Some(code.clone()), None),
                None => live_merge_in(&tx, &v.region, &v.site)
                    .await?
                    .map_or((None, None), |(id, code)| (Some(code), Some(id))),
            };
            tx.execute(
                "INSERT INTO bo_visits
                 (id, region, grp, site, sector, mode, started_at, ended_at, major, general,
                  conflicts, assignment, credit_code, site_merge)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (id) DO UPDATE SET region = EXCLUDED.region, grp = EXCLUDED.grp,
                   site = EXCLUDED.site, sector = EXCLUDED.sector, mode = EXCLUDED.mode,
                   started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
                   major = EXCLUDED.major, general = EXCLUDED.general,
                   conflicts = EXCLUDED.conflicts, assignment = EXCLUDED.assignment,
                   credit_code = EXCLUDED.credit_code, site_merge = EXCLUDED.site_merge",
                &[
                    &v.id,
                    &v.region,
                    &v.group,
                    &v.site,
                    &v.sector,
                    &v.mode,
                    &v.started_at,
                    &v.ended_at,
                    &v.major,
                    &v.general,
                    &v.conflicts,
                    &v.assignment,
                    &code,
                    &merge,
                ],
            )
            .await?;
        }
        for f in findings {
            tx.execute(
                "INSERT INTO bo_findings
                 (visit_id, finding_id, region, grp, sector, severity, at, item)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (visit_id, finding_id) DO UPDATE SET region = EXCLUDED.region,
                   grp = EXCLUDED.grp, sector = EXCLUDED.sector, severity = EXCLUDED.severity,
                   at = EXCLUDED.at, item = EXCLUDED.item",
                &[
                    &f.visit_id,
                    &f.finding_id,
                    &f.region,
                    &f.group,
                    &f.sector,
                    &f.severity,
                    &f.at,
                    &f.item,
                ],
            )
            .await?;
        }
        for c in cases {
            put_case_row(&tx, c).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
