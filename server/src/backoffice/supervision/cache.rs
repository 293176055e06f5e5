//! The risk facts of each region kept between requests, so the tier view, the key list and
//! planning do not read a region's whole history each time.
//!
//! One entry per set of readers who see the same rows ([`RowsKey`]: the region and, for a
//! sector department, its sectors), holding the [`Facts`] of every enterprise they may see and
//! the position in `bo_risk_changes` it was brought up to. The triggers of migration 012 name
//! in that table every enterprise whose facts a write changes (a visit, finding or hazard
//! indexed, a registry import, a merge or its undo, a lead), whoever wrote it. Before each
//! read the entry gathers again exactly the enterprises named since its position, in the same
//! read transaction as the position it moves to, so what it serves is never older than the
//! database. The counts themselves are made at the moment of the request ([`Facts::at`]): the
//! windows of the rules (365 days, deadlines passing, days since the last covert visit) move
//! with the clock, not with the cache. The blacklist and the key list are not kept: they are
//! read with each request.
//!
//! After a write, [`warm`] does the same off the request path, on a connection of its own
//! (WAL: it reads beside the office's connection without holding it), for the entries kept
//! and for the whole view of each region that changed, so a request rarely finds more than a
//! few enterprises to read again, then deletes, a batch at a time on the office's connection,
//! the changes every entry has read past. A request never depends on it. One server process keeps the facts of a database.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};

use super::facts::{self, Facts, Gathered};
use crate::backoffice::db::Db;
use crate::error::Result;
use crate::identity::visibility::{RowsKey, Visibility};

/// Above this many enterprises changed since the last look, the region is read whole again
/// (a few grouped passes) rather than one enterprise at a time.
const REGATHER_ONE_BY_ONE: usize = 300;

/// Changes read past by every entry before they are deleted.
const PRUNE_EVERY: i64 = 10_000;

/// Changes deleted at once (then other work on the office's connection may go first).
const PRUNE_BATCH: i64 = 1_000;

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
    /// The position up to which [`warm`] has looked for regions that changed.
    warmed: i64,
    /// The position below which the changes were deleted.
    pruned: i64,
    stats: RiskCacheStats,
}

/// What bringing an entry up to date takes.
enum Update {
    /// Nothing: it is up to date.
    Fresh,
    /// Reading these enterprises again, from the entry at `from`.
    Codes { from: i64, codes: HashSet<String> },
    /// Reading the whole view.
    Whole,
}

/// What was read for an [`Update`].
enum Read {
    Fresh,
    Codes {
        from: i64,
        facts: Vec<(String, Option<Facts>)>,
    },
    Whole(HashMap<String, Facts>),
}

fn position(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM bo_risk_changes")?
        .query_row([], |r| r.get(0))
}

fn changed_since(conn: &Connection, region: &str, after: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT DISTINCT credit_code FROM bo_risk_changes WHERE seq > ?1 AND region = ?2",
    )?
    .query_map(params![after, region], |r| r.get(0))?
    .collect()
}

fn regions_changed_since(conn: &Connection, after: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT DISTINCT region FROM bo_risk_changes WHERE seq > ?1")?
        .query_map([after], |r| r.get(0))?
        .collect()
}

/// Reads what `update` needs, for the reader `vis`.
fn read(conn: &Connection, vis: &Visibility, update: Update) -> rusqlite::Result<Read> {
    Ok(match update {
        Update::Fresh => Read::Fresh,
        Update::Codes { from, codes } => Read::Codes {
            from,
            facts: codes
                .into_iter()
                .map(|code| {
                    let f = facts::read(conn, vis, Some(&code))?.remove(&code);
                    Ok((code, f))
                })
                .collect::<rusqlite::Result<_>>()?,
        },
        Update::Whole => Read::Whole(facts::read(conn, vis, None)?),
    })
}

impl RiskCache {
    /// What bringing `key`'s entry up to `now_at` takes.
    fn update_of(&self, conn: &Connection, key: &RowsKey, now_at: i64) -> rusqlite::Result<Update> {
        Ok(match self.entries.get(key) {
            // The table went back (a database put back from a backup): read it all again.
            Some(entry) if entry.position > now_at => Update::Whole,
            Some(entry) if entry.position == now_at => Update::Fresh,
            Some(entry) => {
                let codes: HashSet<String> = changed_since(conn, key.region(), entry.position)?
                    .into_iter()
                    .collect();
                if codes.len() <= REGATHER_ONE_BY_ONE {
                    Update::Codes {
                        from: entry.position,
                        codes,
                    }
                } else {
                    Update::Whole
                }
            }
            None => Update::Whole,
        })
    }

    /// Applies what was read at `now_at` to `key`'s entry, unless the entry moved meanwhile
    /// (read one by one from another position) or is already newer (read whole).
    fn apply(&mut self, key: &RowsKey, now_at: i64, read: Read) {
        match read {
            Read::Fresh => {}
            Read::Codes { from, facts } => {
                let Some(entry) = self.entries.get_mut(key) else {
                    return;
                };
                if entry.position != from {
                    return;
                }
                for (code, f) in facts {
                    match f {
                        Some(f) => entry.facts.insert(code, f),
                        None => entry.facts.remove(&code),
                    };
                    self.stats.enterprises_regathered += 1;
                }
                entry.position = now_at;
            }
            Read::Whole(facts) => {
                self.stats.regions_gathered += 1;
                if self.entries.get(key).is_some_and(|e| e.position >= now_at) {
                    return;
                }
                if !self.entries.contains_key(key) && self.entries.len() >= MAX_ENTRIES {
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
    }

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
            return Ok(facts::gather(conn, vis, now, None)?.into_values().collect());
        };
        // One read transaction: the position and the facts read agree.
        let tx = conn.transaction()?;
        let now_at = position(&tx)?;
        let update = self.update_of(&tx, &key, now_at)?;
        if matches!(update, Update::Fresh) {
            self.stats.hits += 1;
        }
        let read = read(&tx, vis, update)?;
        tx.finish()?;
        self.apply(&key, now_at, read);
        Ok(self
            .entries
            .get(&key)
            .map(|e| e.facts.values().map(|f| f.at(now)).collect())
            .unwrap_or_default())
    }

    /// Deletes one batch ([`PRUNE_BATCH`]) of the changes every entry has read past, once
    /// there are many (a new entry reads whole); the newest stays, so the position never goes
    /// back. Returns whether there may be more to delete.
    fn prune(&mut self, conn: &Connection) -> rusqlite::Result<bool> {
        let read_past = self
            .entries
            .values()
            .map(|e| e.position)
            .chain([self.warmed])
            .min()
            .unwrap_or(0);
        if read_past - self.pruned < PRUNE_EVERY {
            return Ok(false);
        }
        let below: i64 = conn
            .prepare_cached(
                "SELECT MIN(?1, COALESCE(MIN(seq), 0) + ?2, COALESCE(MAX(seq), 0))
                 FROM bo_risk_changes",
            )?
            .query_row(params![read_past, PRUNE_BATCH], |r| r.get(0))?;
        conn.prepare_cached("DELETE FROM bo_risk_changes WHERE seq < ?1")?
            .execute([below])?;
        let more = below > self.pruned && below < read_past;
        self.pruned = below;
        Ok(more)
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

/// Locks the cache; a panic while it was held drops what it kept.
pub fn lock(cache: &Mutex<RiskCache>) -> std::sync::MutexGuard<'_, RiskCache> {
    cache.lock().unwrap_or_else(|poisoned| {
        let mut kept = poisoned.into_inner();
        kept.clear();
        kept
    })
}

/// Brings the kept entries, and the whole view of every region that changed since the last
/// warming, up to date, reading on `conn` (its own connection) without holding the cache.
pub fn warm(cache: &Mutex<RiskCache>, conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let now_at = position(&tx)?;
    let (keys, warmed) = {
        let kept = lock(cache);
        (
            kept.entries.keys().cloned().collect::<HashSet<_>>(),
            kept.warmed,
        )
    };
    let mut keys = keys;
    for region in regions_changed_since(&tx, warmed.min(now_at))? {
        keys.insert(RowsKey::whole_region(&region));
    }
    for key in keys {
        let update = lock(cache).update_of(&tx, &key, now_at)?;
        let read = read(&tx, &key.reader(), update)?;
        lock(cache).apply(&key, now_at, read);
    }
    tx.finish()?;
    let mut kept = lock(cache);
    kept.warmed = kept.warmed.max(now_at);
    Ok(())
}

/// Whether a warming runs, and whether another was asked for meanwhile.
#[derive(Default)]
struct Warming {
    running: bool,
    again: bool,
}

/// The kept risk facts of the back office with their warming: the cache, and a connection of
/// its own to warm it on.
pub struct KeptRisks {
    cache: Arc<Mutex<RiskCache>>,
    db: Db,
    /// The office's connection, the one that writes the office's rows: the changes read past
    /// are deleted there, a batch at a time.
    office: Db,
    warming: Arc<Mutex<Warming>>,
    in_background: bool,
}

impl KeptRisks {
    /// Over the server's database at `path` (`office`: the office's connection);
    /// `in_background`: warm after each write.
    pub fn open(path: &std::path::Path, office: Db, in_background: bool) -> Result<Self> {
        Ok(Self {
            cache: Arc::default(),
            db: Db::open(path)?,
            office,
            warming: Arc::default(),
            in_background,
        })
    }

    /// The cache, to read through on the office's connection.
    pub fn cache(&self) -> Arc<Mutex<RiskCache>> {
        Arc::clone(&self.cache)
    }

    /// What the cache has read so far.
    pub fn stats(&self) -> RiskCacheStats {
        lock(&self.cache).stats()
    }

    /// Warms the cache now ([`warm`]), and returns once it is done.
    pub async fn warm_now(&self) -> Result<()> {
        let cache = Arc::clone(&self.cache);
        self.db.run(move |c| warm(&cache, c)).await
    }

    /// Something the facts are read from was written: warms the cache in the background
    /// (once more after the running warming, if one runs), when that is on and there is a
    /// runtime to run it.
    pub fn changed(&self) {
        if !self.in_background {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        {
            let mut w = self.warming.lock().unwrap_or_else(|p| p.into_inner());
            if w.running {
                w.again = true;
                return;
            }
            w.running = true;
        }
        let (cache, db, office, warming) = (
            Arc::clone(&self.cache),
            self.db.clone(),
            self.office.clone(),
            Arc::clone(&self.warming),
        );
        runtime.spawn(async move {
            loop {
                let kept = Arc::clone(&cache);
                if let Err(e) = db.run(move |c| warm(&kept, c)).await {
                    tracing::warn!(error = %e, "risk facts not warmed");
                }
                loop {
                    let kept = Arc::clone(&cache);
                    match office.run(move |c| lock(&kept).prune(c)).await {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "risk changes not pruned");
                            break;
                        }
                    }
                }
                let mut w = warming.lock().unwrap_or_else(|p| p.into_inner());
                if w.again {
                    w.again = false;
                } else {
                    w.running = false;
                    break;
                }
            }
        });
    }

    /// Waits for a warming in flight and closes the connection.
    pub async fn close(&self) {
        self.db.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(conn: &Connection) -> (i64, i64) {
        conn.query_row(
            "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM bo_risk_changes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count")
    }

    /// Changes every entry has read past go in batches, and the newest stays: the position
    /// never goes back.
    #[test]
    fn changes_read_past_are_deleted_a_batch_at_a_time() {
        let (_dir, conn) = crate::backoffice::db::plans::migrated();
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
             INSERT INTO bo_risk_changes (region, credit_code) SELECT 'r', 'c' || i FROM n",
        )
        .expect("changes");
        let mut cache = RiskCache {
            warmed: 12_000,
            ..RiskCache::default()
        };
        assert!(cache.prune(&conn).expect("prune"), "more to delete");
        assert_eq!(changes(&conn), (12_000 - PRUNE_BATCH, 12_000), "one batch");
        while cache.prune(&conn).expect("prune") {}
        let (left, _) = changes(&conn);
        assert!(
            left > 12_000 - PRUNE_EVERY && left < 12_000,
            "fewer than PRUNE_EVERY read past are kept: {left}"
        );
        cache.warmed = 30_000;
        while cache.prune(&conn).expect("prune") {}
        assert_eq!(changes(&conn), (1, 12_000), "all but the newest");
        assert_eq!(position(&conn).expect("position"), 12_000);
    }
}
