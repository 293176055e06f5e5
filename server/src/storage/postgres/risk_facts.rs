//! The risk facts for PostgreSQL, read as on SQLite, and the log of risk changes (migration
//! 012).
//!
//! The log's writers do not wait for each other, so a reader may see `seq` 11 before `seq`
//! 10 commits. A position is read with the facts in one `REPEATABLE READ` snapshot: the
//! highest `seq` it saw, the transactions in flight then (`pg_snapshot_xip`) and the first
//! not begun (`xmax`), [`position`]. Every row that snapshot did not see has a higher `seq`
//! or is of one of those transactions or a later one, so those are the changes after a
//! position: exactly what was not seen (a transaction in flight that writes nothing here, in
//! this database or another, makes no view read anything again). Pruning (`supervision.rs`)
//! deletes only rows below the pruning process's horizon (the oldest transaction in flight
//! that may write here) and raises `bo_risk_pruned.below` past their transactions in the
//! same transaction; a reader whose horizon is below that mark reads its view whole.

use std::collections::HashMap;

use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};

use super::{Conn, PostgresStorage};
use crate::storage::supervision::FactRows;
use crate::storage::{
    Facts, RiskPosition, RiskRead, RiskUpdate, RiskView, RowFilter, StorageResult,
};

/// The leads linked to an enterprise, as `(region, credit_code, lead)`: as the registry's
/// `LEADS_OF` on SQLite.
const LEADS_OF: &str = "SELECT m.region AS region, m.credit_code AS credit_code, l.id AS lead
       FROM bo_site_merges m JOIN bo_leads l ON l.region = m.region AND l.site = m.site
       WHERE m.undone_at IS NULL
     UNION
     SELECT v.region, v.credit_code, l.id FROM bo_leads l
       JOIN bo_visits v ON v.assignment = l.assignment_id AND v.region = l.region
       WHERE l.assignment_id IS NOT NULL AND v.credit_code IS NOT NULL";

pub(super) type Arg = Box<dyn ToSql + Sync + Send>;

/// A query being built: its SQL and the arguments of its `$n` placeholders.
#[derive(Default)]
pub(super) struct Query {
    sql: String,
    args: Vec<Arg>,
}

impl Query {
    pub(super) fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_owned(),
            args: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub(super) fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> &mut Self {
        self.args.push(Box::new(value));
        let mark = format!("${}", self.args.len());
        self.sql.push_str(&mark);
        self
    }

    /// Appends the condition of `rows` on `alias`.
    pub(super) fn filter(&mut self, rows: &RowFilter, alias: &str) -> &mut Self {
        let c = rows.to_postgres(alias, self.args.len() + 1);
        self.sql.push_str(&c.sql);
        self.args
            .extend(c.args.into_iter().map(|a| Box::new(a) as Arg));
        self
    }

    /// Narrows to one enterprise of `region`, when asked.
    pub(super) fn only(&mut self, alias: &str, region: &str, only: Option<&str>) -> &mut Self {
        if let Some(code) = only {
            self.push(&format!(" AND {alias}.region = "))
                .bind(region.to_owned())
                .push(&format!(" AND {alias}.credit_code = "))
                .bind(code.to_owned());
        }
        self
    }

    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.args
            .iter()
            .map(|a| a.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }

    pub(super) async fn rows(&self, tx: &Transaction<'_>) -> StorageResult<Vec<Row>> {
        let stmt = tx.prepare_cached(&self.sql).await?;
        Ok(tx.query(&stmt, &self.params()).await?)
    }
}

fn pairs(rows: Vec<Row>) -> Vec<(String, i64)> {
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// The facts of every enterprise `view` sees (or just `only`), read in `tx`'s snapshot.
pub(super) async fn read_facts(
    tx: &Transaction<'_>,
    view: &RiskView,
    only: Option<&str>,
) -> StorageResult<HashMap<String, Facts>> {
    let region = view.region.as_str();
    let registry = Query::new("SELECT e.credit_code, e.name, e.sectors FROM bo_enterprises e")
        .push(" WHERE e.region = ")
        .bind(region.to_owned())
        .only("e", region, only)
        .rows(tx)
        .await?;
    let latest = Query::new(
        "SELECT DISTINCT ON (v.credit_code) v.credit_code, v.site, v.sector, v.grp, v.started_at
         FROM bo_visits v WHERE v.credit_code IS NOT NULL",
    )
    .filter(&view.rows, "v")
    .only("v", region, only)
    .push(" ORDER BY v.credit_code, v.started_at DESC, v.id DESC")
    .rows(tx)
    .await?;
    let covert = Query::new(
        "SELECT v.credit_code, MAX(v.started_at) FROM bo_visits v
         WHERE v.credit_code IS NOT NULL AND v.mode = 'covert'",
    )
    .filter(&view.rows, "v")
    .only("v", region, only)
    .push(" GROUP BY v.credit_code")
    .rows(tx)
    .await?;
    let cases = |what: &str, condition: &str| {
        let mut q = Query::new(&format!(
            "SELECT v.credit_code, c.{what} FROM bo_cases c JOIN bo_visits v ON v.id = c.visit_id
             WHERE {condition} AND v.credit_code IS NOT NULL"
        ));
        q.filter(&view.rows, "c").only("v", region, only);
        q
    };
    let major = cases("opened_at", "c.severity = 'major'").rows(tx).await?;
    let deadlines = cases("open_deadline", "c.open_deadline IS NOT NULL")
        .rows(tx)
        .await?;
    let items = Query::new(
        "SELECT v.credit_code, f.item, MAX(f.at) FROM bo_findings f
         JOIN bo_visits v ON v.id = f.visit_id
         WHERE v.credit_code IS NOT NULL AND f.item IS NOT NULL",
    )
    .filter(&view.rows, "f")
    .only("v", region, only)
    .push(" GROUP BY v.credit_code, f.item, f.visit_id ORDER BY v.credit_code, f.item")
    .rows(tx)
    .await?;
    let leads = Query::new(&format!(
        "SELECT DISTINCT o.credit_code, l.received_on, l.id FROM ({LEADS_OF}) o
         JOIN bo_leads l ON l.id = o.lead WHERE o.region = "
    ))
    .bind(region.to_owned())
    .filter(&view.lead_rows, "l")
    .only("o", region, only)
    .rows(tx)
    .await?;
    Ok(FactRows {
        registry: registry
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect(),
        latest: latest
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect(),
        covert: pairs(covert),
        major: pairs(major),
        deadlines: pairs(deadlines),
        items: items
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect(),
        leads: pairs(leads),
    }
    .into_facts())
}

/// The log's position in `tx`'s snapshot: its highest `seq`, the transactions in flight and
/// the snapshot's `xmax` (the changes it did not see are exactly those with a higher `seq` or
/// of one of those transactions or a later one: a transaction of another database of the
/// cluster has none, so it makes no process read anything again), and as the horizon for
/// pruning the oldest transaction in flight that may have written rows it did not see, else
/// `xmax`. Only a transaction of this database can write the log, so those in flight that
/// `pg_stat_activity` shows in another database are left out of the horizon (one whose
/// backend is gone meanwhile stays in: the horizon only errs low, which prunes less).
pub(super) async fn position(tx: &Transaction<'_>) -> StorageResult<RiskPosition> {
    let row = tx
        .query_one(
            "WITH s AS (SELECT pg_current_snapshot() AS s),
                  xip AS (SELECT x::text::bigint AS x FROM s, pg_snapshot_xip(s.s) AS x)
             SELECT (SELECT COALESCE(MAX(seq), 0) FROM bo_risk_changes),
                    COALESCE(
                        (SELECT MIN(x) FROM xip
                         WHERE (x % 4294967296) NOT IN (
                             SELECT backend_xid::text::bigint FROM pg_stat_activity
                             WHERE backend_xid IS NOT NULL
                               AND datname IS DISTINCT FROM current_database())),
                        (SELECT pg_snapshot_xmax(s)::text::bigint FROM s)),
                    (SELECT pg_snapshot_xmax(s)::text::bigint FROM s),
                    (SELECT COALESCE(array_agg(x ORDER BY x), '{}') FROM xip)",
            &[],
        )
        .await?;
    let in_flight: Vec<i64> = row.get(3);
    Ok(RiskPosition {
        seq: row.get(0),
        horizon: row.get(1),
        next_writer: row.get(2),
        in_flight: in_flight.into(),
    })
}

/// Whether changes after `from` may have been deleted.
async fn pruned_past(tx: &Transaction<'_>, from: &RiskPosition) -> StorageResult<bool> {
    let below: i64 = tx
        .query_one("SELECT below FROM bo_risk_pruned WHERE id = 1", &[])
        .await?
        .get(0);
    Ok(below > from.horizon)
}

async fn changed_since(
    tx: &Transaction<'_>,
    region: &str,
    after: &RiskPosition,
) -> StorageResult<Vec<String>> {
    let stmt = tx
        .prepare_cached(
            "SELECT credit_code FROM bo_risk_changes WHERE region = $1 AND seq > $2
             UNION
             SELECT credit_code FROM bo_risk_changes
             WHERE region = $1 AND (xid >= $3 OR xid = ANY($4))",
        )
        .await?;
    let in_flight: &[i64] = &after.in_flight;
    let rows = tx
        .query(
            &stmt,
            &[&region, &after.seq, &after.next_writer, &in_flight],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub(super) async fn update(
    tx: &Transaction<'_>,
    view: &RiskView,
    from: Option<RiskPosition>,
    one_by_one: usize,
) -> StorageResult<RiskUpdate> {
    let at = position(tx).await?;
    // The table went back (a database put back from a backup), or what changed since was
    // deleted: read it all again.
    let lost = match &from {
        Some(from) => from.seq > at.seq || pruned_past(tx, from).await?,
        None => false,
    };
    let read = match &from {
        Some(_) if lost => RiskRead::Whole(read_facts(tx, view, None).await?),
        Some(from) => {
            // Even at an equal position: a transaction in flight then may have committed
            // rows since.
            let codes = changed_since(tx, &view.region, from).await?;
            if codes.is_empty() && *from == at {
                RiskRead::Fresh
            } else if codes.len() <= one_by_one {
                let mut facts = Vec::with_capacity(codes.len());
                for code in codes {
                    let f = read_facts(tx, view, Some(&code)).await?.remove(&code);
                    facts.push((code, f));
                }
                RiskRead::Codes(facts)
            } else {
                RiskRead::Whole(read_facts(tx, view, None).await?)
            }
        }
        None => RiskRead::Whole(read_facts(tx, view, None).await?),
    };
    Ok(RiskUpdate { at, read })
}

/// A `REPEATABLE READ` read-only transaction on `conn`: what it reads is one snapshot.
pub(super) async fn snapshot<'c>(conn: &'c mut Conn<'_>) -> StorageResult<Transaction<'c>> {
    Ok(conn
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

/// Runs `query` in a snapshot of its own.
pub(super) async fn rows_of(storage: &PostgresStorage, query: &Query) -> StorageResult<Vec<Row>> {
    let mut conn = storage.conn().await?;
    let tx = snapshot(&mut conn).await?;
    let rows = query.rows(&tx).await?;
    tx.commit().await?;
    Ok(rows)
}
