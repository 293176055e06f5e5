//! The risk facts of each region kept between requests, so the tier view, the key list and
//! planning do not read a region's whole history each time.
//!
//! One entry per set of readers who see the same rows ([`RowsKey`]: the region and, for a
//! sector department, its sectors), holding the [`Facts`] of every enterprise they may see and
//! the position in `bo_risk_changes` it was brought up to. The triggers of migration 011 name
//! in that table every enterprise whose facts a write changes (a visit, finding or hazard
//! indexed, a registry import, a merge or its undo, a lead), whoever wrote it. Before each
//! read the entry gathers again exactly the enterprises named since its position, in the same
//! read transaction as the position it moves to, so what it serves is never older than the
//! database. The counts themselves are made at the moment of the request ([`Facts::at`]): the
//! windows of the rules (365 days, deadlines passing, days since the last covert visit) move
//! with the clock, not with the cache. The blacklist and the key list are not kept: they are
//! read with each request.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, params};

use super::facts::{self, Facts, Gathered};
use crate::identity::visibility::{RowsKey, Visibility};

/// Above this many enterprises changed since the last look, the region is read whole again
/// (a few grouped passes) rather than one enterprise at a time.
const REGATHER_ONE_BY_ONE: usize = 300;

/// Entries kept at most (distinct regions and sector sets); past it, all are dropped.
const MAX_ENTRIES: usize = 64;

/// How much reading the cache has done since the server started: what the regression tests
/// count instead of timing pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RiskCacheStats {
    /// Regions (or sector sets) read whole.
    pub regions_gathered: u64,
    /// Enterprises read again one by one because they changed.
    pub enterprises_regathered: u64,
    /// Requests answered from an entry that was already up to date.
    pub hits: u64,
}

struct Entry {
    /// The `bo_risk_changes` position the facts are up to date with.
    position: i64,
    facts: HashMap<String, Facts>,
}

/// The kept facts (see the module doc).
#[derive(Default)]
pub struct RiskCache {
    entries: HashMap<RowsKey, Entry>,
    stats: RiskCacheStats,
}

fn position(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM bo_risk_changes")?
        .query_row([], |r| r.get(0))
}

fn changed_since(conn: &Connection, region: &str, after: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT credit_code FROM bo_risk_changes INDEXED BY bo_risk_changes_by_seq
         WHERE seq > ?1 AND region = ?2",
    )?
    .query_map(params![after, region], |r| r.get(0))?
    .collect()
}

impl RiskCache {
    /// The facts of every enterprise `vis` may see, counted at `now`, read through the kept
    /// entry brought up to date first.
    pub fn facts_at(
        &mut self,
        conn: &mut Connection,
        vis: &Visibility,
        now: i64,
    ) -> rusqlite::Result<Vec<Gathered>> {
        let Some(key) = vis.rows_key() else {
            // Not an office reader: nothing is kept for it.
            let all = facts::gather(conn, vis, None)?;
            return Ok(all.values().map(|f| f.at(now)).collect());
        };
        // One read transaction: the position and the facts read agree.
        let tx = conn.transaction()?;
        let now_at = position(&tx)?;
        let region = vis.enterprise_region().to_owned();
        let changed = match self.entries.get(&key) {
            // The table went back (a database put back from a backup): read it all again.
            Some(entry) if entry.position > now_at => None,
            Some(entry) if entry.position == now_at => Some(HashSet::new()),
            Some(entry) => {
                let codes: HashSet<String> = changed_since(&tx, &region, entry.position)?
                    .into_iter()
                    .collect();
                (codes.len() <= REGATHER_ONE_BY_ONE).then_some(codes)
            }
            None => None,
        };
        match (changed, self.entries.get_mut(&key)) {
            (Some(codes), Some(entry)) => {
                if codes.is_empty() {
                    self.stats.hits += 1;
                }
                for code in codes {
                    match facts::gather(&tx, vis, Some(&code))?.remove(&code) {
                        Some(f) => entry.facts.insert(code, f),
                        None => entry.facts.remove(&code),
                    };
                    self.stats.enterprises_regathered += 1;
                }
                entry.position = now_at;
            }
            _ => {
                let facts = facts::gather(&tx, vis, None)?;
                self.stats.regions_gathered += 1;
                if self.entries.len() >= MAX_ENTRIES {
                    self.entries.clear();
                }
                self.entries.insert(
                    key.clone(),
                    Entry {
                        position: now_at,
                        facts,
                    },
                );
            }
        }
        tx.finish()?;
        Ok(self
            .entries
            .get(&key)
            .map(|e| e.facts.values().map(|f| f.at(now)).collect())
            .unwrap_or_default())
    }

    /// What the cache has read so far.
    pub fn stats(&self) -> RiskCacheStats {
        self.stats
    }

    /// Drops every entry (after a failure left one half brought up to date).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
