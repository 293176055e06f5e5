//! The risk facts of every enterprise a user may see, read from the registry, the visit index
//! and the hazard ledger: one grouped query per fact, each reading an enterprise's visits
//! through the index's one credit-code field (`bo_visits.credit_code`, migration 009: typed
//! on the visit or given by a merge of its site name), so a region of 10,000 enterprises and
//! 100,000 hazards is read in a few passes over indexes.
//!
//! What is read is [`Facts`]: the times behind each count (when each major hazard was found,
//! each open deadline, ...) rather than the counts, so the counts at any moment follow from
//! them ([`Facts::at`]) and a region's facts can be kept between requests (`cache.rs`) while
//! the windows of the rules move with the clock.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use siteproof_core::SectorRisk;

use crate::identity::visibility::{Unsectored, Visibility};
use crate::storage::sqlite_enterprises as registry;

pub use crate::backoffice::dates::DAY_MS;

/// How far back hazards, repeat findings and leads count.
pub const WINDOW_MS: i64 = 365 * DAY_MS;

/// What the office knows of one enterprise at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gathered {
    /// Credit code.
    pub credit_code: String,
    /// In the registry (name and sector come from there).
    pub registered: bool,
    /// The registered name, else the site name of its latest visit.
    pub name: String,
    /// Sector code: the riskiest of its registered sectors, else its latest visit's.
    pub sector: String,
    /// Group of its latest visit (the group whose area it is in; empty: never visited).
    pub group: String,
    /// When its latest visit started, ms (`None`: never visited).
    pub last_visit: Option<i64>,
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

/// What the office knows of one enterprise, whatever the moment: the counts of [`Gathered`]
/// as the times they are counted from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Everything but the counts (left at zero here).
    pub known: Gathered,
    /// When each major hazard was found.
    pub major_found: Vec<i64>,
    /// The deadline of each hazard awaiting rectification.
    pub open_deadlines: Vec<i64>,
    /// For each checklist item found: for each visit that found it, its latest finding of it.
    pub item_visits: Vec<Vec<i64>>,
    /// When each linked lead was received.
    pub leads_received: Vec<i64>,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Facts {
    /// The facts at `now`: what the windows of the rules hold then.
    pub fn at(&self, now: i64) -> Gathered {
        let since = now - WINDOW_MS;
        let in_window = |times: &[i64]| count(times.iter().filter(|t| **t >= since).count());
        let repeats = self
            .item_visits
            .iter()
            .map(|visits| in_window(visits).saturating_sub(1))
            .fold(0u32, u32::saturating_add);
        Gathered {
            major: in_window(&self.major_found),
            overdue: count(self.open_deadlines.iter().filter(|d| **d < now).count()),
            repeats,
            leads: in_window(&self.leads_received),
            ..self.known.clone()
        }
    }
}

/// One fact's query: its SQL (with the visibility filter in it) and its arguments.
type Query = (String, Vec<Value>);

/// The queries of the facts, in the order [`read`] reads them: latest visit, latest covert
/// visit, major hazards, open deadlines, findings by item and visit, leads. `only`: one
/// enterprise.
fn queries(vis: &Visibility, only: Option<&str>) -> [Query; 6] {
    let region = vis.enterprise_region().to_owned();
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
    // For one enterprise, its visits lead (`CROSS JOIN` keeps SQLite's order) and the hazards
    // and findings follow by visit (`INDEXED BY`: not the region's indexes); for the region, the hazards' own indexes lead.
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
    let visits = vis.rows(Unsectored::Hidden).to_sqlite("v");
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
    let cases = vis.rows(Unsectored::Hidden).to_sqlite("c");
    let mut args = cases.args.clone();
    let narrow = one("v", &mut args);
    let major = (
        format!(
            "SELECT v.credit_code, c.opened_at FROM {cases_join}
             WHERE c.severity = 'major'{} AND v.credit_code IS NOT NULL{narrow}",
            cases.sql
        ),
        args,
    );
    let mut args = cases.args.clone();
    let narrow = one("v", &mut args);
    let deadlines = (
        format!(
            "SELECT v.credit_code, c.open_deadline FROM {cases_join}
             WHERE c.open_deadline IS NOT NULL{} AND v.credit_code IS NOT NULL{narrow}",
            cases.sql
        ),
        args,
    );
    let findings = vis.rows(Unsectored::Hidden).to_sqlite("f");
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
    let leads = vis.rows(Unsectored::Shown).to_sqlite("l");
    let mut args = vec![Value::Text(vis.enterprise_region().to_owned())];
    args.extend(leads.args.iter().cloned());
    let narrow = one("o", &mut args);
    let leads = (
        format!(
            "SELECT DISTINCT o.credit_code, l.id, l.received_on FROM ({}) o
             JOIN bo_leads l ON l.id = o.lead
             WHERE o.region = ?{}{narrow}",
            registry::LEADS_OF,
            leads.sql
        ),
        args,
    );
    [latest, covert, major, deadlines, items, leads]
}

/// Runs `sql` (with the visibility filter in it) and hands each row's enterprise to `each`.
fn each_row(
    conn: &Connection,
    (sql, args): &Query,
    out: &mut HashMap<String, Facts>,
    mut each: impl FnMut(&mut Facts, &rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    while let Some(r) = rows.next()? {
        let code: String = r.get(0)?;
        if let Some(f) = out.get_mut(&code) {
            each(f, r)?;
        }
    }
    Ok(())
}

/// The facts of every enterprise `vis` may see (or just `only`), counted at `now`.
pub fn gather(
    conn: &Connection,
    vis: &Visibility,
    now: i64,
    only: Option<&str>,
) -> rusqlite::Result<HashMap<String, Gathered>> {
    Ok(read(conn, vis, only)?
        .into_iter()
        .map(|(code, f)| (code, f.at(now)))
        .collect())
}

/// The facts of every enterprise `vis` may see: the registry's enterprises of its region, and
/// the codes of the visits it may see that the registry does not hold. `only`: just this
/// enterprise (its page, or one that changed).
pub fn read(
    conn: &Connection,
    vis: &Visibility,
    only: Option<&str>,
) -> rusqlite::Result<HashMap<String, Facts>> {
    let mut out = HashMap::new();
    for e in registry::all_of(conn, &vis.enterprise_rows(), only)? {
        let sector = SectorRisk::riskiest(&e.sectors).map_or("", |s| s.code());
        let known = Gathered {
            credit_code: e.credit_code.clone(),
            registered: true,
            name: e.name,
            sector: sector.to_owned(),
            ..Gathered::default()
        };
        out.insert(
            e.credit_code,
            Facts {
                known,
                ..Facts::default()
            },
        );
    }
    let [latest, covert, major, deadlines, items, leads] = queries(vis, only);
    {
        let mut stmt = conn.prepare_cached(&latest.0)?;
        let mut rows = stmt.query(params_from_iter(latest.1.iter()))?;
        while let Some(r) = rows.next()? {
            let code: String = r.get(0)?;
            let f = out.entry(code.clone()).or_insert_with(|| Facts {
                known: Gathered {
                    credit_code: code,
                    ..Gathered::default()
                },
                ..Facts::default()
            });
            let g = &mut f.known;
            if !g.registered {
                g.name = r.get(1)?;
            }
            if g.sector.is_empty() {
                g.sector = r.get(2)?;
            }
            g.group = r.get(3)?;
            g.last_visit = Some(r.get(4)?);
        }
    }
    each_row(conn, &covert, &mut out, |f, r| {
        f.known.last_covert = Some(r.get(1)?);
        Ok(())
    })?;
    each_row(conn, &major, &mut out, |f, r| {
        f.major_found.push(r.get(1)?);
        Ok(())
    })?;
    each_row(conn, &deadlines, &mut out, |f, r| {
        f.open_deadlines.push(r.get(1)?);
        Ok(())
    })?;
    // Rows come by enterprise and item: a new item starts a new list of visits.
    let mut last: Option<(String, String)> = None;
    each_row(conn, &items, &mut out, |f, r| {
        let key = (r.get::<_, String>(0)?, r.get::<_, String>(1)?);
        if last.as_ref() != Some(&key) || f.item_visits.is_empty() {
            f.item_visits.push(Vec::new());
            last = Some(key);
        }
        if let Some(visits) = f.item_visits.last_mut() {
            visits.push(r.get(2)?);
        }
        Ok(())
    })?;
    each_row(conn, &leads, &mut out, |f, r| {
        f.leads_received.push(r.get(2)?);
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoffice::db::plans;
    use crate::identity::users::{Role, WebUser};

    /// One enterprise's facts (its page) are read through indexes only: no step of any plan
    /// scans a table, so the work grows with the enterprise's history, not the region's.
    #[test]
    fn one_enterprises_facts_are_searched_by_index() {
        let (_dir, conn) = plans::migrated();
        for role in [Role::Reviewer, Role::SectorDepartment] {
            let user = WebUser {
                id: 1,
                login: "r".into(),
                name: "r".into(),
                role,
                region: "hebei".into(),
                sectors: vec![siteproof_core::Sector::Gas],
                csrf: String::new(),
            };
            let vis = Visibility::user(&user);
            for (sql, args) in queries(&vis, Some("91350100M000100Y43")) {
                let steps = plans::steps(&conn, &sql, &args);
                assert!(
                    !plans::reads_the_region(&steps),
                    "{role:?}: {sql}\n{steps:#?}"
                );
            }
        }
    }
}
