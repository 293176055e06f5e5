//! The risk facts of every enterprise a user may see, read from the visit index and the
//! hazard ledger: one grouped query per fact, each served by an index of migration 010
//! (`bo_visits_by_credit_code`, `bo_findings_by_item`) or of the ledger, so a region of
//! 10,000 enterprises and 100,000 hazards is read in a few passes over indexes.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use crate::identity::visibility::{Unsectored, Visibility};

pub use crate::backoffice::dates::DAY_MS;

/// How far back hazards, repeat findings and leads count.
pub const WINDOW_MS: i64 = 365 * DAY_MS;

/// What the index knows of one enterprise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gathered {
    /// Credit code.
    pub credit_code: String,
    /// Site name of its latest visit.
    pub name: String,
    /// Sector code of its latest visit.
    pub sector: String,
    /// Group of its latest visit (the group whose area it is in).
    pub group: String,
    /// When its latest visit started, ms.
    pub last_visit: i64,
    /// When its latest covert visit started, ms.
    pub last_covert: Option<i64>,
    /// Major hazards found in the window.
    pub major: u32,
    /// Hazards overdue now.
    pub overdue: u32,
    /// Repeat findings in the window.
    pub repeats: u32,
    /// Leads received in the window.
    pub leads: u32,
}

fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Runs `sql` (with the visibility filter already in it) and adds each `(code, n)` row.
fn add_counts(
    conn: &Connection,
    sql: &str,
    args: &[Value],
    out: &mut HashMap<String, Gathered>,
    field: fn(&mut Gathered) -> &mut u32,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    while let Some(r) = rows.next()? {
        let code: String = r.get(0)?;
        if let Some(g) = out.get_mut(&code) {
            *field(g) = count(r.get(1)?);
        }
    }
    Ok(())
}

/// The facts of every enterprise `vis` may see (those with at least one visible visit that
/// carries a credit code), at `now`.
pub fn gather(
    conn: &Connection,
    vis: &Visibility,
    now: i64,
) -> rusqlite::Result<HashMap<String, Gathered>> {
    let since = now - WINDOW_MS;
    let visits = vis.sql_filter("v", Unsectored::Hidden);
    let mut out = HashMap::new();
    {
        // SQLite takes the bare columns from the row of the one MAX(): the latest visit.
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT v.credit_code, v.site, v.sector, v.grp, MAX(v.started_at)
             FROM bo_visits v WHERE v.credit_code IS NOT NULL{}
             GROUP BY v.credit_code",
            visits.sql
        ))?;
        let mut rows = stmt.query(params_from_iter(visits.args.iter()))?;
        while let Some(r) = rows.next()? {
            let g = Gathered {
                credit_code: r.get(0)?,
                name: r.get(1)?,
                sector: r.get(2)?,
                group: r.get(3)?,
                last_visit: r.get(4)?,
                ..Gathered::default()
            };
            out.insert(g.credit_code.clone(), g);
        }
    }
    {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT v.credit_code, MAX(v.started_at) FROM bo_visits v
             WHERE v.credit_code IS NOT NULL AND v.mode = 'covert'{}
             GROUP BY v.credit_code",
            visits.sql
        ))?;
        let mut rows = stmt.query(params_from_iter(visits.args.iter()))?;
        while let Some(r) = rows.next()? {
            let code: String = r.get(0)?;
            if let Some(g) = out.get_mut(&code) {
                g.last_covert = Some(r.get(1)?);
            }
        }
    }
    let cases = vis.sql_filter("c", Unsectored::Hidden);
    let mut args = vec![Value::Integer(since)];
    args.extend(cases.args.iter().cloned());
    add_counts(
        conn,
        &format!(
            "SELECT v.credit_code, COUNT(*) FROM bo_cases c
             JOIN bo_visits v ON v.id = c.visit_id
             WHERE c.severity = 'major' AND c.opened_at >= ?{} AND v.credit_code IS NOT NULL
             GROUP BY v.credit_code",
            cases.sql
        ),
        &args,
        &mut out,
        |g| &mut g.major,
    )?;
    let mut args = vec![Value::Integer(now)];
    args.extend(cases.args.iter().cloned());
    add_counts(
        conn,
        &format!(
            "SELECT v.credit_code, COUNT(*) FROM bo_cases c
             JOIN bo_visits v ON v.id = c.visit_id
             WHERE c.open_deadline < ?{} AND v.credit_code IS NOT NULL
             GROUP BY v.credit_code",
            cases.sql
        ),
        &args,
        &mut out,
        |g| &mut g.overdue,
    )?;
    let findings = vis.sql_filter("f", Unsectored::Hidden);
    let mut args = findings.args.clone();
    args.push(Value::Integer(since));
    add_counts(
        conn,
        &format!(
            "SELECT code, SUM(n - 1) FROM (
               SELECT f.credit_code AS code, COUNT(DISTINCT f.visit_id) AS n FROM bo_findings f
               WHERE f.credit_code IS NOT NULL AND f.item IS NOT NULL{} AND f.at >= ?
               GROUP BY f.credit_code, f.item)
             WHERE n > 1 GROUP BY code",
            findings.sql
        ),
        &args,
        &mut out,
        |g| &mut g.repeats,
    )?;
    let mut args = vec![Value::Integer(since)];
    args.extend(visits.args.iter().cloned());
    add_counts(
        conn,
        &format!(
            "SELECT v.credit_code, COUNT(DISTINCT l.id) FROM bo_leads l
             JOIN bo_visits v ON v.assignment = l.assignment_id AND v.region = l.region
             WHERE l.received_on >= ?{} AND v.credit_code IS NOT NULL
             GROUP BY v.credit_code",
            visits.sql
        ),
        &args,
        &mut out,
        |g| &mut g.leads,
    )?;
    Ok(out)
}
