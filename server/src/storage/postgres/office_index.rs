//! [`OfficeIndexStore`] for PostgreSQL: the visit index's tables (migration 011) and the
//! ledger's `bo_cases` (migration 009) beside the change log. A store of index rows is one
//! transaction that first locks the position's row (`bo_index_state`, `FOR UPDATE`): of
//! processes storing at once the second waits for the first's commit, then reads the position
//! the first moved and writes nothing. Text is ordered as SQLite orders it (`COLLATE "C"`).

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PostgresStorage;
use super::cases::{COLUMNS as CASE_COLUMNS, case_row, put_row};
use crate::storage::columns::{from_sql_seq, to_sql_seq};
use crate::storage::{
    CaseRow, CollectionRow, FindingEntry, FindingRow, HazardCounts, IndexPosition, IndexRows,
    LedgerFilter, OfficeIndexStore, PeriodFigures, ReinspectionRow, RowFilter, SectorCount,
    StorageResult, VisitCounts, VisitFilter, VisitRow, ledger_columns,
};
use siteproof_core::CaseStatus;

/// A statement built piece by piece, its placeholders numbered as values are bound.
#[derive(Default)]
struct Query {
    sql: String,
    args: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Query {
    fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// The placeholder of `value`, bound next.
    fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.args.push(Box::new(value));
        format!("${}", self.args.len())
    }

    /// Appends ` AND <condition>` with `value` bound at `{}` in `condition`.
    fn and(&mut self, condition: &str, value: impl ToSql + Sync + Send + 'static) {
        let mark = self.bind(value);
        self.sql
            .push_str(&format!(" AND {}", condition.replace("{}", &mark)));
    }

    /// Appends the condition of the rows `rows` admits on `table`.
    fn visible(&mut self, rows: &RowFilter, table: &str) {
        let c = rows.to_postgres(table, self.args.len() + 1);
        self.sql.push_str(&c.sql);
        for a in c.args {
            self.args.push(Box::new(a));
        }
    }

    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.args
            .iter()
            .map(|a| a.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

pub(super) const VISIT_COLUMNS: &str = "v.id, v.region, v.grp, v.site, v.sector, v.mode, v.started_at, \
                             v.ended_at, v.major, v.general, v.conflicts, v.assignment, \
                             v.credit_code";

pub(super) fn visit_row(r: &Row) -> VisitRow {
    VisitRow {
        id: r.get(0),
        region: r.get(1),
        group: r.get(2),
        site: r.get(3),
        sector: r.get(4),
        mode: r.get(5),
        started_at: r.get(6),
        ended_at: r.get(7),
        major: r.get(8),
        general: r.get(9),
        conflicts: r.get(10),
        assignment: r.get(11),
        credit_code: r.get(12),
    }
}

/// A `WHERE` clause: the rows `rows` admits of `table`, its `equalities` and the range
/// `[from, to)` of its column `time`.
fn filtered_where(
    rows: &RowFilter,
    table: &str,
    equalities: &[(&str, &Option<String>)],
    (time, from, to): (&str, Option<i64>, Option<i64>),
) -> Query {
    let mut q = Query::new(" WHERE TRUE");
    q.visible(rows, table);
    for (column, value) in equalities {
        if let Some(v) = value {
            q.and(&format!("{table}.{column} = {{}}"), v.clone());
        }
    }
    for (bound, op) in [(from, ">="), (to, "<")] {
        if let Some(at) = bound {
            q.and(&format!("{table}.{time} {op} {{}}"), at);
        }
    }
    q
}

/// The visits `rows` admits matching `f`, as a `WHERE` clause.
fn visit_where(rows: &RowFilter, f: &VisitFilter) -> Query {
    let mut q = filtered_where(rows, "v", &f.equalities(), ("started_at", f.from, f.to));
    q.push(&f.fixed_conditions());
    q
}

/// The ledger entries `rows` admits matching `filter` at `now`, as a `WHERE` clause.
fn ledger_where(rows: &RowFilter, filter: &LedgerFilter, now: i64) -> Query {
    let mut q = filtered_where(
        rows,
        "c",
        &filter.equalities(),
        ("opened_at", filter.from, filter.to),
    );
    if filter.overdue {
        q.and("c.open_deadline < {}", now);
    }
    if filter.covert {
        q.push(
            " AND EXISTS (SELECT 1 FROM bo_visits v WHERE v.id = c.visit_id AND v.mode = 'covert')",
        );
    }
    if filter.listed {
        q.and("(c.listed OR c.open_deadline < {})", now);
    }
    q
}

/// Replaces the re-inspection results a visit holds.
async fn put_reinspections(
    tx: &Transaction<'_>,
    v: &VisitRow,
    results: &[ReinspectionRow],
) -> StorageResult<()> {
    tx.execute("DELETE FROM bo_reinspections WHERE visit_id = $1", &[&v.id])
        .await?;
    let put = tx
        .prepare_cached(
            "INSERT INTO bo_reinspections
             (id, case_id, visit_id, region, grp, outcome, note, media, by_name, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET case_id = excluded.case_id,
              visit_id = excluded.visit_id, region = excluded.region, grp = excluded.grp,
              outcome = excluded.outcome, note = excluded.note, media = excluded.media,
              by_name = excluded.by_name, at = excluded.at",
        )
        .await?;
    for r in results {
        tx.execute(
            &put,
            &[
                &r.id,
                &r.case_id,
                &v.id,
                &v.region,
                &v.group,
                &r.outcome,
                &r.note,
                &r.media.join(" "),
                &r.by,
                &r.at,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Enters a visit's findings into the ledger, as on SQLite: a finding with a case record
/// keeps it (only when it was found is refreshed), the others follow the finding; entries of
/// findings the visit no longer has go.
async fn enter_findings(
    tx: &Transaction<'_>,
    v: &VisitRow,
    findings: &[FindingRow],
) -> StorageResult<()> {
    tx.execute(
        "DELETE FROM bo_cases WHERE visit_id = $1 AND NOT recorded",
        &[&v.id],
    )
    .await?;
    let found = tx
        .prepare_cached(
            "UPDATE bo_cases SET opened_at = $3 WHERE visit_id = $1 AND finding_id = $2",
        )
        .await?;
    let enter = tx
        .prepare_cached(
            "INSERT INTO bo_cases
             (id, region, grp, visit_id, finding_id, site, sector, severity, description, status,
              unit, deadline, escalated, opened_at, closed_at, fixed_on_spot, recorded, listed,
              open_deadline)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL, FALSE, $11, NULL, $12,
              FALSE, $13, NULL)",
        )
        .await?;
    for f in findings {
        if tx.execute(&found, &[&v.id, &f.id, &f.at]).await? > 0 {
            continue;
        }
        let status = CaseStatus::of_finding(f.fixed_on_spot);
        let (listed, _) = ledger_columns(status.code(), false, &f.severity, f.fixed_on_spot, None);
        tx.execute(
            &enter,
            &[
                &f.case_id,
                &v.region,
                &v.group,
                &v.id,
                &f.id,
                &v.site,
                &v.sector,
                &f.severity,
                &f.description,
                &status.code(),
                &f.at,
                &f.fixed_on_spot,
                &listed,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Writes the rows of one visit (its enterprise: typed, or from the live merge of its site).
async fn put_visit(
    tx: &Transaction<'_>,
    v: &VisitRow,
    findings: &[FindingRow],
    results: &[ReinspectionRow],
) -> StorageResult<()> {
    put_reinspections(tx, v, results).await?;
    let (code, merge) = match &v.credit_code {
        Some(code) => (Some(code.clone()), None),
        // Under the site's lock, so a merge or undo committing meanwhile is seen whole.
        None => match super::enterprises::live_merge_in(tx, &v.region, &v.site).await? {
            Some((id, code)) => (Some(code), Some(id)),
            None => (None, None),
        },
    };
    let put = tx
        .prepare_cached(
            "INSERT INTO bo_visits
             (id, region, grp, site, sector, mode, started_at, ended_at, major, general,
              conflicts, assignment, credit_code, site_merge)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (id) DO UPDATE SET region = excluded.region, grp = excluded.grp,
              site = excluded.site, sector = excluded.sector, mode = excluded.mode,
              started_at = excluded.started_at, ended_at = excluded.ended_at,
              major = excluded.major, general = excluded.general,
              conflicts = excluded.conflicts, assignment = excluded.assignment,
              credit_code = excluded.credit_code, site_merge = excluded.site_merge",
        )
        .await?;
    tx.execute(
        &put,
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
    tx.execute("DELETE FROM bo_findings WHERE visit_id = $1", &[&v.id])
        .await?;
    let finding = tx
        .prepare_cached(
            "INSERT INTO bo_findings
             (visit_id, finding_id, region, grp, sector, severity, at, item)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    for f in findings {
        tx.execute(
            &finding,
            &[
                &v.id,
                &f.id,
                &v.region,
                &v.group,
                &v.sector,
                &f.severity,
                &f.at,
                &f.item,
            ],
        )
        .await?;
    }
    enter_findings(tx, v, findings).await
}

async fn put_collection(tx: &Transaction<'_>, c: &CollectionRow) -> StorageResult<()> {
    let put = tx
        .prepare_cached(
            "INSERT INTO bo_collections (id, region, grp, kind, title, body, author, written_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO UPDATE SET region = excluded.region, grp = excluded.grp,
              kind = excluded.kind, title = excluded.title, body = excluded.body,
              author = excluded.author, written_at = excluded.written_at",
        )
        .await?;
    tx.execute(
        &put,
        &[
            &c.id,
            &c.region,
            &c.group,
            &c.kind,
            &c.title,
            &c.body,
            &c.author,
            &c.written_at,
        ],
    )
    .await?;
    Ok(())
}

fn reinspection_row(r: &Row) -> ReinspectionRow {
    let media: String = r.get(5);
    ReinspectionRow {
        id: r.get(0),
        case_id: r.get(1),
        visit_id: r.get(2),
        outcome: r.get(3),
        note: r.get(4),
        media: media.split_whitespace().map(str::to_owned).collect(),
        by: r.get(6),
        at: r.get(7),
    }
}

impl PostgresStorage {
    /// The rows of `q`.
    async fn rows_of(&self, q: &Query) -> StorageResult<Vec<Row>> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(&q.sql).await?;
        Ok(conn.query(&stmt, &q.params()).await?)
    }

    /// The one row of `q`.
    async fn row_of(&self, q: &Query) -> StorageResult<Row> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(&q.sql).await?;
        Ok(conn.query_one(&stmt, &q.params()).await?)
    }
}

#[async_trait]
impl OfficeIndexStore for PostgresStorage {
    async fn index_position(&self) -> StorageResult<IndexPosition> {
        let conn = self.conn().await?;
        let row = conn
            .query_one(
                "SELECT (SELECT last_seq FROM bo_index_state WHERE id = 1),
                        (SELECT COALESCE(MAX(seq), 0) FROM changes)",
                &[],
            )
            .await?;
        Ok(IndexPosition {
            indexed: from_sql_seq(row.get(0)),
            head: from_sql_seq(row.get(1)),
        })
    }

    async fn changed_records(&self, after: u64, through: u64) -> StorageResult<Vec<String>> {
        let (after, through) = (to_sql_seq(after)?, to_sql_seq(through)?);
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT DISTINCT c.doc_id FROM changes c JOIN documents d ON d.id = c.doc_id
                 WHERE c.seq > $1 AND c.seq <= $2 AND d.kind IN ('visit', 'report', 'case')",
            )
            .await?;
        Ok(conn
            .query(&stmt, &[&after, &through])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    async fn store_index(
        &self,
        rows: &[IndexRows],
        read_at: u64,
        through: u64,
    ) -> StorageResult<bool> {
        let (read_at, through) = (to_sql_seq(read_at)?, to_sql_seq(through)?);
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        // Held until the commit: a store of another process waits here, then reads the
        // position this one leaves.
        let last: i64 = tx
            .query_one(
                "SELECT last_seq FROM bo_index_state WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await?
            .get(0);
        if last != read_at {
            return Ok(false);
        }
        for r in rows {
            match r {
                IndexRows::Visit(v, findings, results) => {
                    put_visit(&tx, v, findings, results).await?;
                }
                IndexRows::Case(c) => put_row(&tx, c).await?,
                IndexRows::Collection(c) => put_collection(&tx, c).await?,
            }
        }
        tx.execute(
            "UPDATE bo_index_state SET last_seq = GREATEST(last_seq, $1) WHERE id = 1",
            &[&through],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn visits(
        &self,
        rows: &RowFilter,
        filter: &VisitFilter,
        limit: i64,
        offset: i64,
    ) -> StorageResult<(Vec<VisitRow>, VisitCounts)> {
        let cond = visit_where(rows, filter);
        let mut counts = Query::new(format!(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE v.mode = 'covert'),
                    COALESCE(SUM(v.major), 0)::BIGINT, COALESCE(SUM(v.general), 0)::BIGINT
             FROM bo_visits v{}",
            cond.sql
        ));
        counts.args = cond.args;
        let r = self.row_of(&counts).await?;
        let totals = VisitCounts {
            visits: r.get(0),
            covert: r.get(1),
            major: r.get(2),
            general: r.get(3),
        };
        let mut page = visit_where(rows, filter);
        page.sql = format!("SELECT {VISIT_COLUMNS} FROM bo_visits v{}", page.sql);
        let (limit, offset) = (page.bind(limit), page.bind(offset));
        page.push(&format!(
            " ORDER BY v.started_at DESC, v.id COLLATE \"C\" LIMIT {limit} OFFSET {offset}"
        ));
        let found = self.rows_of(&page).await?;
        Ok((found.iter().map(visit_row).collect(), totals))
    }

    async fn visit(&self, rows: &RowFilter, id: &str) -> StorageResult<Option<VisitRow>> {
        let mut q = Query::new(format!(
            "SELECT {VISIT_COLUMNS} FROM bo_visits v WHERE TRUE"
        ));
        q.and("v.id = {}", id.to_owned());
        q.visible(rows, "v");
        Ok(self.rows_of(&q).await?.first().map(visit_row))
    }

    async fn collections(&self, rows: &RowFilter) -> StorageResult<Vec<CollectionRow>> {
        let mut q = Query::new(
            "SELECT c.id, c.region, c.grp, c.kind, c.title, c.body, c.author, c.written_at
             FROM bo_collections c WHERE TRUE",
        );
        q.visible(rows, "c");
        q.push(" ORDER BY c.written_at DESC, c.id COLLATE \"C\" LIMIT 1000");
        Ok(self
            .rows_of(&q)
            .await?
            .iter()
            .map(|r| CollectionRow {
                id: r.get(0),
                region: r.get(1),
                group: r.get(2),
                kind: r.get(3),
                title: r.get(4),
                body: r.get(5),
                author: r.get(6),
                written_at: r.get(7),
            })
            .collect())
    }

    async fn visits_per_assignment(
        &self,
        assignments: &[String],
    ) -> StorageResult<HashMap<String, i64>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT assignment, COUNT(*) FROM bo_visits WHERE assignment = ANY($1)
                 GROUP BY assignment",
            )
            .await?;
        Ok(conn
            .query(&stmt, &[&assignments])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    async fn visits_of_assignment(
        &self,
        rows: &RowFilter,
        id: &str,
    ) -> StorageResult<Vec<VisitRow>> {
        let mut q = Query::new(format!(
            "SELECT {VISIT_COLUMNS} FROM bo_visits v WHERE TRUE"
        ));
        q.and("v.assignment = {}", id.to_owned());
        q.visible(rows, "v");
        q.push(" ORDER BY v.started_at, v.id COLLATE \"C\"");
        Ok(self.rows_of(&q).await?.iter().map(visit_row).collect())
    }

    async fn ledger(
        &self,
        rows: &RowFilter,
        filter: &LedgerFilter,
        now: i64,
        limit: i64,
    ) -> StorageResult<Vec<CaseRow>> {
        let mut q = ledger_where(rows, filter, now);
        q.sql = format!("SELECT {CASE_COLUMNS} FROM bo_cases c{}", q.sql);
        let limit = q.bind(limit);
        q.push(&format!(
            " ORDER BY c.opened_at DESC, c.id COLLATE \"C\" LIMIT {limit}"
        ));
        Ok(self.rows_of(&q).await?.iter().map(case_row).collect())
    }

    async fn ledger_count(
        &self,
        rows: &RowFilter,
        filter: &LedgerFilter,
        now: i64,
    ) -> StorageResult<i64> {
        let mut q = ledger_where(rows, filter, now);
        q.sql = format!("SELECT COUNT(*) FROM bo_cases c{}", q.sql);
        Ok(self.row_of(&q).await?.get(0))
    }

    async fn entries_of_visit(&self, visit: &str) -> StorageResult<Vec<FindingEntry>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("SELECT finding_id, id, status FROM bo_cases WHERE visit_id = $1")
            .await?;
        Ok(conn
            .query(&stmt, &[&visit])
            .await?
            .iter()
            .map(|r| FindingEntry {
                finding_id: r.get(0),
                case_id: r.get(1),
                status: r.get(2),
            })
            .collect())
    }

    async fn reinspections_of(&self, case: &str) -> StorageResult<Vec<ReinspectionRow>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT r.id, r.case_id, r.visit_id, r.outcome, r.note, r.media, r.by_name, r.at
                 FROM bo_reinspections r JOIN bo_cases c ON c.id = r.case_id
                 WHERE r.case_id = $1 AND r.region = c.region AND r.grp = c.grp
                 ORDER BY r.at, r.id COLLATE \"C\"",
            )
            .await?;
        Ok(conn
            .query(&stmt, &[&case])
            .await?
            .iter()
            .map(reinspection_row)
            .collect())
    }

    async fn period_figures(
        &self,
        rows: &RowFilter,
        start: i64,
        end: i64,
        now: i64,
    ) -> StorageResult<PeriodFigures> {
        let mut q = Query::new(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE v.mode = 'covert') FROM bo_visits v
             WHERE TRUE",
        );
        q.visible(rows, "v");
        q.and("v.started_at >= {}", start);
        q.and("v.started_at < {}", end);
        let r = self.row_of(&q).await?;
        let (visits, covert) = (r.get(0), r.get(1));

        let in_period = |select: &str| {
            let mut q = Query::new(format!("{select} FROM bo_cases c WHERE TRUE"));
            q.visible(rows, "c");
            q.and("c.opened_at >= {}", start);
            q.and("c.opened_at < {}", end);
            q
        };
        let mut q = in_period(
            "SELECT c.sector, COUNT(*) FILTER (WHERE c.severity = 'major'),
                    COUNT(*) FILTER (WHERE c.severity = 'general')",
        );
        q.push(" GROUP BY c.sector ORDER BY c.sector COLLATE \"C\"");
        let by_sector = self
            .rows_of(&q)
            .await?
            .iter()
            .map(|r| SectorCount {
                sector: r.get(0),
                major: r.get(1),
                general: r.get(2),
            })
            .collect();
        let mut q = in_period(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE c.fixed_on_spot),
                    COUNT(*) FILTER (WHERE c.status IN ('rectified', 'verified')),
                    COUNT(*) FILTER (WHERE c.status = 'closed')",
        );
        let overdue = q.bind(now);
        let listed = q.bind(now);
        q.sql = q.sql.replacen(
            " FROM bo_cases c",
            &format!(
                ", COUNT(*) FILTER (WHERE c.open_deadline < {overdue}),
                   COUNT(*) FILTER (WHERE c.listed OR c.open_deadline < {listed})
                 FROM bo_cases c"
            ),
            1,
        );
        let r = self.row_of(&q).await?;
        Ok(PeriodFigures {
            visits,
            covert,
            by_sector,
            hazards: HazardCounts {
                found: r.get(0),
                fixed_on_spot: r.get(1),
                rectified: r.get(2),
                closed: r.get(3),
                overdue: r.get(4),
                listed: r.get(5),
            },
        })
    }
}
