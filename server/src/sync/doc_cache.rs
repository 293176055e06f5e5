//! Recently written records, kept loaded so validating a push costs the new changes, not a
//! reload. An entry is always a prefix-closed view of the stored log: it holds every change with
//! `seq <= seq` (and maybe later ones this process stored). Since the log is append-only, an
//! entry is brought up to date by applying the changes stored after `seq`; it never goes stale
//! in a way that matters, even with other server processes writing the same record.
//!
//! Each entry has its own async lock, held while a push validates and stores; a push locks its
//! records in id order, so two pushes cannot deadlock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use automerge::AutoCommit;
use siteproof_core::RecordId;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::error::{Error, Result};
use crate::storage::{FullDocument, StoredChange, SyncStorage};

/// A loaded record.
pub(crate) struct CachedDoc {
    /// The document.
    pub doc: AutoCommit,
    /// Every stored change with `seq <= seq` is in `doc`.
    pub seq: u64,
    /// Size of the stored snapshot (0: none).
    pub snapshot_len: usize,
    /// Bytes of changes stored after the snapshot (as far as this entry knows).
    pub tail_len: usize,
    /// Changes in `doc` (as far as this entry counted them).
    pub changes: usize,
    /// Of them, changes after the snapshot.
    pub tail_changes: usize,
    /// The last save of `doc` and the heads it was made at, reused while they match.
    pub last_save: Option<(Vec<automerge::ChangeHash>, Arc<Vec<u8>>)>,
}

impl CachedDoc {
    /// Loads a stored record.
    pub fn load(full: &FullDocument) -> Result<Self> {
        let bytes = full.to_bytes();
        let mut doc = AutoCommit::load(&bytes).map_err(|e| {
            Error::Internal(format!(
                "stored record {} does not load: {e}",
                full.header.id
            ))
        })?;
        Ok(Self {
            changes: doc.get_changes_meta(&[]).len(),
            doc,
            seq: full.max_seq(),
            snapshot_len: full.snapshot.as_ref().map_or(0, Vec::len),
            tail_len: full.trailing.iter().map(|c| c.data.len()).sum(),
            tail_changes: full.trailing.len(),
            last_save: None,
        })
    }

    /// Applies changes stored after `seq`.
    pub fn catch_up(&mut self, changes: Vec<StoredChange>) -> Result<()> {
        let Some(last) = changes.last().map(|c| c.seq) else {
            return Ok(());
        };
        let mut parsed = Vec::with_capacity(changes.len());
        self.changes += changes.len();
        self.tail_changes += changes.len();
        for c in changes {
            self.tail_len += c.data.len();
            parsed.push(automerge::Change::try_from(c.data.as_slice()).map_err(|e| {
                Error::Internal(format!("stored change {} does not parse: {e}", c.seq))
            })?);
        }
        self.doc
            .apply_changes(parsed)
            .map_err(|e| Error::Internal(format!("stored changes do not apply: {e}")))?;
        self.seq = last;
        Ok(())
    }

    /// A save of the document as it is now, made at most once per state.
    pub fn save(&mut self) -> Arc<Vec<u8>> {
        let heads = self.doc.get_heads();
        if let Some((saved_at, bytes)) = &self.last_save
            && *saved_at == heads
        {
            return Arc::clone(bytes);
        }
        let bytes = Arc::new(self.doc.save());
        self.last_save = Some((heads, Arc::clone(&bytes)));
        bytes
    }

    /// Notes that the snapshot now holds every change of `doc`, in `len` bytes.
    pub fn saved_as_snapshot(&mut self, len: usize) {
        self.snapshot_len = len;
        self.tail_len = 0;
        self.tail_changes = 0;
    }

    /// Whether the snapshot should be refreshed in the background: none yet, or the changes
    /// after it add more than a tenth to what a device pulling the record whole would
    /// download and are at least [`RESAVE_SHARE`] of the record's changes. A save costs the
    /// whole record (its history included), while a saved record is much smaller than its
    /// changes were: on the byte rule alone a record with a few hundred changes was saved
    /// again after every push. Counting changes too keeps the saves a pushed change costs
    /// the same however long the record's history. (A device pulling the record whole
    /// still gets a save within the byte rule: `SyncService::fetch_full` makes one.)
    pub fn wants_snapshot(&self) -> bool {
        self.snapshot_len == 0
            || (self.tail_len * 10 > self.snapshot_len
                && self.tail_changes * RESAVE_SHARE >= self.changes)
    }
}

/// A record is saved again in the background once the changes after its snapshot are at
/// least one in this many of its changes.
pub(crate) const RESAVE_SHARE: usize = 4;

/// One entry's slot: `None` until loaded, and again after a failed push touched it.
pub(crate) type Slot = Arc<AsyncMutex<Option<CachedDoc>>>;

/// The bounded cache of loaded records.
pub(crate) struct DocCache {
    slots: Mutex<HashMap<RecordId, (Slot, u64)>>,
    clock: std::sync::atomic::AtomicU64,
    capacity: usize,
}

impl DocCache {
    /// A cache of at most `capacity` records.
    pub fn new(capacity: usize) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            clock: Default::default(),
            capacity: capacity.max(1),
        }
    }

    /// Locks the slots of `ids` (sorted, deduplicated) in order.
    pub async fn lock_all(
        &self,
        ids: &[RecordId],
    ) -> Result<Vec<(RecordId, OwnedMutexGuard<Option<CachedDoc>>)>> {
        let mut sorted: Vec<&RecordId> = ids.iter().collect();
        sorted.sort();
        sorted.dedup();
        let mut out = Vec::with_capacity(sorted.len());
        for id in sorted {
            let slot = self.slot(id)?;
            out.push((id.clone(), slot.lock_owned().await));
        }
        Ok(out)
    }

    /// Locks one slot.
    pub async fn lock(&self, id: &RecordId) -> Result<OwnedMutexGuard<Option<CachedDoc>>> {
        Ok(self.slot(id)?.lock_owned().await)
    }

    fn slot(&self, id: &RecordId) -> Result<Slot> {
        let tick = self
            .clock
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut slots = self
            .slots
            .lock()
            .map_err(|_| Error::Internal("document cache poisoned".into()))?;
        if let Some((slot, used)) = slots.get_mut(id) {
            *used = tick;
            return Ok(Arc::clone(slot));
        }
        if slots.len() >= self.capacity {
            // Evicting a slot someone holds is harmless: they keep their Arc, and the next
            // user of the id loads a fresh entry from storage.
            let oldest = slots
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                slots.remove(&oldest);
            }
        }
        let slot: Slot = Arc::new(AsyncMutex::new(None));
        slots.insert(id.clone(), (Arc::clone(&slot), tick));
        Ok(slot)
    }
}

/// Makes sure `entry` holds record `id` brought up to date with storage; `false` if the
/// record does not exist.
pub(crate) async fn load_current(
    storage: &dyn SyncStorage,
    id: &RecordId,
    entry: &mut Option<CachedDoc>,
) -> Result<bool> {
    let changes = match entry {
        Some(cached) => storage.changes_after(id, cached.seq).await?,
        None => Vec::new(),
    };
    catch_up_or_load(storage, id, entry, changes).await
}

/// As [`load_current`], with the record's changes stored after the entry's `seq` read
/// already (`changes`, ignored when the entry is empty: the record is then loaded whole).
pub(crate) async fn catch_up_or_load(
    storage: &dyn SyncStorage,
    id: &RecordId,
    entry: &mut Option<CachedDoc>,
    changes: Vec<StoredChange>,
) -> Result<bool> {
    match entry {
        Some(cached) => {
            if let Err(e) = cached.catch_up(changes) {
                *entry = None;
                return Err(e);
            }
            Ok(true)
        }
        None => match storage.full_document(id).await? {
            Some(full) => {
                *entry = Some(CachedDoc::load(&full)?);
                Ok(true)
            }
            None => Ok(false),
        },
    }
}
