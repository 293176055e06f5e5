//! The risk facts for SQLite: one grouped query per fact, each reading an enterprise's visits
//! through the index's one credit-code field, so a region of 10,000 enterprises is read in a
//! few passes over indexes; and the log of risk changes (migration 012) with its pruning mark
//! (migration 015). Writes go through the one writer connection, one at a time, so a `seq`
//! is visible before any higher one: a position is the highest `seq` read.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Connection, Row, params, params_from_iter};

use super::enterprises::LEADS_OF;
use crate::storage::supervision::FactRows;
use crate::storage::{Facts, RiskPosition, RiskRead, RiskUpdate, RiskView};

/// One query: its SQL (with the visibility filter in it) and its arguments.
pub(super) type Query = (String, Vec<Value>);

/// The queries of the facts: the registry, latest visit, latest covert visit, major
/// hazards, open deadlines, findings by item and visit, leads. `only`: one enterprise.
pub(super) fn queries(view: &RiskView, only: Option<&str>) -> [Query; 7] {
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
    let of_cases = |what: &str, condition: &str| {
        let mut args = cases.args.clone();
        let narrow = one("v", &mut args);
        (
            format!(
                "SELECT v.credit_code, c.{what} FROM {cases_join}
                 WHERE {condition}{} AND v.credit_code IS NOT NULL{narrow}",
                cases.sql
            ),
            args,
        )
    };
    let major = of_cases("opened_at", "c.severity = 'major'");
    let deadlines = of_cases("open_deadline", "c.open_deadline IS NOT NULL");
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
pub(super) fn rows_of<T>(
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
pub(super) fn read_facts(
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
pub(super) fn position(conn: &Connection) -> rusqlite::Result<RiskPosition> {
    let seq: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM bo_risk_changes")?
        .query_row([], |r| r.get(0))?;
    Ok(RiskPosition::one_writer(seq))
}

/// Whether changes after `from` may have been deleted.
fn pruned_past(conn: &Connection, from: &RiskPosition) -> rusqlite::Result<bool> {
    let below: i64 = conn
        .prepare_cached("SELECT below FROM bo_risk_pruned WHERE id = 1")?
        .query_row([], |r| r.get(0))?;
    Ok(below > from.horizon)
}

fn changed_since(
    conn: &Connection,
    region: &str,
    after: &RiskPosition,
) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT DISTINCT credit_code FROM bo_risk_changes WHERE seq > ?1 AND region = ?2",
    )?
    .query_map(params![after.seq, region], |r| r.get(0))?
    .collect()
}

pub(super) fn update(
    conn: &Connection,
    view: &RiskView,
    from: Option<RiskPosition>,
    one_by_one: usize,
) -> rusqlite::Result<RiskUpdate> {
    let at = position(conn)?;
    let read = match &from {
        Some(from) if *from == at => RiskRead::Fresh,
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
pub(super) fn prune(
    conn: &Connection,
    read_past: RiskPosition,
    batch: i64,
) -> rusqlite::Result<i64> {
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

#[cfg(test)]
mod tests {
    use siteproof_core::Sector;

    use super::super::plans;
    use super::*;
    use crate::storage::{RowFilter, SectorRows};

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
        let read_past = RiskPosition::one_writer;
        assert_eq!(
            prune(&conn, read_past(12_000), 1_000).expect("prune"),
            1_001
        );
        assert_eq!(changes(&conn), (11_000, 12_000), "one batch");
        assert!(pruned_past(&conn, &read_past(999)).expect("mark"));
        assert!(!pruned_past(&conn, &read_past(1_000)).expect("mark"));
        assert_eq!(prune(&conn, read_past(5_000), 1_000).expect("prune"), 2_001);
        assert_eq!(prune(&conn, read_past(2_500), 1_000).expect("prune"), 2_500);
        assert_eq!(changes(&conn), (12_000 - 2_499, 12_000));
        while prune(&conn, read_past(30_000), 1_000).expect("prune") < 12_000 {}
        assert_eq!(changes(&conn), (1, 12_000), "all but the newest");
        assert_eq!(position(&conn).expect("position").seq, 12_000);
    }
}
