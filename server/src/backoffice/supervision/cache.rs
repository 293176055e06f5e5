//! The risk facts of each region kept between requests, so the tier view, the key list and
//! planning do not read a region's whole history each time.
//!
//! One entry per set of readers who see the same rows ([`RowsKey`]: the region and, for a
//! sector department, its sectors), holding the [`Facts`] of every enterprise they may see and
//! the [`RiskPosition`] in the log of risk changes it was brought up to. The log names every
//! enterprise whose facts a write changes (a visit, finding or hazard indexed, a registry
//! import, a merge or its undo, a lead), whoever wrote it, on whichever process. Before each
//! read the entry gathers again exactly the enterprises named since its position, in the same
//! snapshot as the position it moves to ([`SupervisionStore::risk_update`]), so what it serves
//! is never older than the database. The counts themselves are made at the moment of the request ([`Facts::at`]): the
//! windows of the rules (365 days, deadlines passing, days since the last covert visit) move
//! with the clock, not with the cache. The blacklist and the key list are not kept: they are
//! read with each request.
//!
//! After a write, [`warm`] does the same off the request path for the entries kept and for the
//! whole view of each region that changed, so a request rarely finds more than a few
//! enterprises to read again, then deletes, a batch at a time, the changes every entry has
//! read past. A request never depends on it. Each server process keeps its own facts; one
//! process pruning changes another has not read makes that one read its views whole again,
//! never miss a change.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::facts::{Facts, Gathered, view_of};
use crate::identity::visibility::{RowsKey, Visibility};
use crate::storage::{RiskPosition, RiskRead, RiskUpdate, StorageResult, SupervisionStore};

/// Above this many enterprises changed since the last look, the region is read whole again
/// (a few grouped passes) rather than one enterprise at a time.
const REGATHER_ONE_BY_ONE: usize = 300;

/// Changes read past by every entry before they are deleted.
const PRUNE_EVERY: i64 = 10_000;

/// Changes deleted at once (then other writes may go first).
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
    /// The position in the log the facts are up to date with.
    position: RiskPosition,
    facts: HashMap<String, Facts>,
}

/// The kept facts (see the module doc).
#[derive(Default)]
pub struct RiskCache {
    entries: HashMap<RowsKey, Entry>,
    /// The position up to which [`warm`] has looked for regions that changed.
    warmed: RiskPosition,
    /// The `seq` below which this process deleted the changes.
    pruned: i64,
    stats: RiskCacheStats,
}

impl RiskCache {
    /// The position `key`'s entry is up to date with (`None`: not kept).
    fn position_of(&self, key: &RowsKey) -> Option<RiskPosition> {
        self.entries.get(key).map(|e| e.position.clone())
    }

    /// Applies what was read from `from` to `key`'s entry, unless the entry moved meanwhile
    /// (read one by one from another position) or is already newer (read whole).
    fn apply(&mut self, key: &RowsKey, from: Option<RiskPosition>, update: RiskUpdate) {
        let at = update.at;
        match update.read {
            RiskRead::Fresh => {}
            RiskRead::Codes(facts) => {
                let Some(entry) = self.entries.get_mut(key) else {
                    return;
                };
                if from.as_ref() != Some(&entry.position) {
                    return;
                }
                for (code, f) in facts {
                    match f {
                        Some(f) => entry.facts.insert(code, f),
                        None => entry.facts.remove(&code),
                    };
                    self.stats.enterprises_regathered += 1;
                }
                entry.position = at;
            }
            RiskRead::Whole(facts) => {
                self.stats.regions_gathered += 1;
                if self.entries.get(key).is_some_and(|e| e.position >= at) {
                    return;
                }
                if !self.entries.contains_key(key) && self.entries.len() >= MAX_ENTRIES {
                    self.entries.clear();
                }
                self.entries.insert(
                    key.clone(),
                    Entry {
                        position: at,
                        facts,
                    },
                );
            }
        }
    }

    /// The position every entry (and the warming) has read past: the lowest `seq` and the
    /// lowest horizon of them.
    /// (What pruning goes by: it names no writers in flight.)
    fn read_past(&self) -> RiskPosition {
        let positions = || {
            self.entries
                .values()
                .map(|e| &e.position)
                .chain([&self.warmed])
        };
        RiskPosition {
            seq: positions().map(|p| p.seq).min().unwrap_or(0),
            horizon: positions().map(|p| p.horizon).min().unwrap_or(0),
            next_writer: positions().map(|p| p.next_writer).min().unwrap_or(0),
            in_flight: Arc::from([]),
        }
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

/// Brings `key`'s entry up to date, reading as `vis` (who sees the rows of `key`); whether it
/// already was.
async fn bring_up_to_date(
    cache: &Mutex<RiskCache>,
    store: &dyn SupervisionStore,
    key: &RowsKey,
    vis: &Visibility,
) -> StorageResult<bool> {
    let from = lock(cache).position_of(key);
    let update = store
        .risk_update(&view_of(vis), from.clone(), REGATHER_ONE_BY_ONE)
        .await?;
    // Up to date already: nothing changed, or (PostgreSQL, its position moving with the
    // transactions in flight) no enterprise of the view did.
    let fresh = match &update.read {
        RiskRead::Fresh => true,
        RiskRead::Codes(changed) => changed.is_empty(),
        RiskRead::Whole(_) => false,
    };
    lock(cache).apply(key, from, update);
    Ok(fresh)
}

/// Brings the kept entries, and the whole view of every region that changed since the last
/// warming, up to date, without holding the cache while it reads.
pub async fn warm(cache: &Mutex<RiskCache>, store: &dyn SupervisionStore) -> StorageResult<()> {
    let (mut keys, warmed) = {
        let kept = lock(cache);
        (
            kept.entries.keys().cloned().collect::<HashSet<_>>(),
            kept.warmed.clone(),
        )
    };
    let (at, regions) = store.risk_regions_changed(warmed).await?;
    for region in regions {
        keys.insert(RowsKey::whole_region(&region));
    }
    for key in keys {
        bring_up_to_date(cache, store, &key, &key.reader()).await?;
    }
    let mut kept = lock(cache);
    // The log went back (a database put back from a backup): look from where it is now.
    kept.warmed = if at.seq < kept.warmed.seq {
        at
    } else {
        kept.warmed.clone().max(at)
    };
    Ok(())
}

/// Deletes, a batch at a time, the changes every entry has read past, once there are many.
async fn prune(cache: &Mutex<RiskCache>, store: &dyn SupervisionStore) -> StorageResult<()> {
    loop {
        let (read_past, pruned) = {
            let kept = lock(cache);
            (kept.read_past(), kept.pruned)
        };
        if read_past.seq - pruned < PRUNE_EVERY {
            return Ok(());
        }
        let below = store
            .prune_risk_changes(read_past.clone(), PRUNE_BATCH)
            .await?;
        lock(cache).pruned = below;
        if below <= pruned || below >= read_past.seq {
            return Ok(());
        }
    }
}

/// Whether a warming runs, and whether another was asked for meanwhile.
#[derive(Default)]
struct Warming {
    running: bool,
    again: bool,
}

/// The kept risk facts of the back office with their warming.
pub struct KeptRisks {
    cache: Arc<Mutex<RiskCache>>,
    store: Arc<dyn SupervisionStore>,
    warming: Arc<Mutex<Warming>>,
    /// Held by a warming while it runs: closing waits for it.
    busy: Arc<tokio::sync::Mutex<()>>,
    closed: Arc<AtomicBool>,
    in_background: bool,
}

impl KeptRisks {
    /// Over `store`; `in_background`: warm after each write.
    pub fn open(store: Arc<dyn SupervisionStore>, in_background: bool) -> Self {
        Self {
            cache: Arc::default(),
            store,
            warming: Arc::default(),
            busy: Arc::default(),
            closed: Arc::default(),
            in_background,
        }
    }

    /// The facts of every enterprise `vis` may see, counted at `now`, read through the kept
    /// entry brought up to date first.
    pub async fn facts_at(&self, vis: &Visibility, now: i64) -> StorageResult<Vec<Gathered>> {
        let Some(key) = vis.rows_key() else {
            // Not an office reader: nothing is kept for it.
            let facts = self.store.risk_facts(&view_of(vis), None).await?;
            return Ok(facts.values().map(|f| f.at(now)).collect());
        };
        if bring_up_to_date(&self.cache, &*self.store, &key, vis).await? {
            lock(&self.cache).stats.hits += 1;
        }
        Ok(lock(&self.cache)
            .entries
            .get(&key)
            .map(|e| e.facts.values().map(|f| f.at(now)).collect())
            .unwrap_or_default())
    }

    /// What the cache has read so far.
    pub fn stats(&self) -> RiskCacheStats {
        lock(&self.cache).stats()
    }

    /// Warms the cache now ([`warm`]), and returns once it is done.
    pub async fn warm_now(&self) -> StorageResult<()> {
        warm(&self.cache, &*self.store).await
    }

    /// Something the facts are read from was written: warms the cache in the background
    /// (once more after the running warming, if one runs), when that is on and there is a
    /// runtime to run it.
    pub fn changed(&self) {
        if !self.in_background || self.closed.load(Ordering::SeqCst) {
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
        let (cache, store, warming, busy, closed) = (
            Arc::clone(&self.cache),
            Arc::clone(&self.store),
            Arc::clone(&self.warming),
            Arc::clone(&self.busy),
            Arc::clone(&self.closed),
        );
        runtime.spawn(async move {
            let _busy = busy.lock().await;
            loop {
                if !closed.load(Ordering::SeqCst) {
                    if let Err(e) = warm(&cache, &*store).await {
                        tracing::warn!(error = %e, "risk facts not warmed");
                    }
                    if let Err(e) = prune(&cache, &*store).await {
                        tracing::warn!(error = %e, "risk changes not pruned");
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

    /// Waits for a warming in flight; no other starts after.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _done = self.busy.lock().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seq: i64) -> RiskPosition {
        RiskPosition::one_writer(seq)
    }

    fn key() -> RowsKey {
        RowsKey::whole_region("r")
    }

    /// What was read one by one from a position the entry has left is not applied; a whole
    /// read older than the entry is not either.
    #[test]
    fn reads_from_a_position_the_entry_left_are_dropped() {
        let mut cache = RiskCache::default();
        cache.apply(
            &key(),
            None,
            RiskUpdate {
                at: at(5),
                read: RiskRead::Whole(HashMap::new()),
            },
        );
        let one = |code: &str| RiskRead::Codes(vec![(code.to_owned(), Some(Facts::default()))]);
        cache.apply(
            &key(),
            Some(at(4)),
            RiskUpdate {
                at: at(7),
                read: one("a"),
            },
        );
        assert_eq!(
            cache.position_of(&key()),
            Some(at(5)),
            "read from 4: dropped"
        );
        cache.apply(
            &key(),
            Some(at(5)),
            RiskUpdate {
                at: at(7),
                read: one("b"),
            },
        );
        assert_eq!(cache.position_of(&key()), Some(at(7)));
        cache.apply(
            &key(),
            None,
            RiskUpdate {
                at: at(6),
                read: RiskRead::Whole(HashMap::new()),
            },
        );
        assert_eq!(
            cache.position_of(&key()),
            Some(at(7)),
            "an older whole read"
        );
        assert_eq!(cache.entries[&key()].facts.len(), 1);
        assert_eq!(cache.read_past(), RiskPosition::default(), "never warmed");
        cache.warmed = at(9);
        assert_eq!(cache.read_past(), at(7));
    }
}
