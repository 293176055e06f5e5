//! Accepting a push: every record of it locked in the document cache, authorized, checked
//! (changes by revoked devices refused, the record as it would be stored read as the model:
//! a new one whole, a stored one where the changes write), then stored all together or not at
//! all, and acknowledged. The rules themselves are in `push.rs`.

use std::collections::HashMap;

use serde_bytes::ByteBuf;
use siteproof_core::RecordId;
use siteproof_core::record_check::Touched;
use siteproof_core::sync::wire::{Ack, PushRecord};

use super::doc_cache::{CachedDoc, catch_up_or_load};
use super::{SyncService, push};
use crate::error::{Error, Result};
use crate::storage::{DeviceRecord, DocMeta, PushWrite, RecordWrite, StoredChange};

impl SyncService {
    /// Stores `push` (all of it or none) for `device`, whose group's revoked devices are
    /// `revoked`.
    pub(super) async fn push(
        &self,
        device: &DeviceRecord,
        push: Vec<PushRecord>,
        revoked: &[siteproof_core::DeviceId],
    ) -> Result<Vec<Ack>> {
        if push.is_empty() {
            return Ok(Vec::new());
        }
        let parsed = push::parse(push)?;
        let ids: Vec<RecordId> = parsed.iter().map(|r| r.id.clone()).collect();
        let mut guards: HashMap<RecordId, _> =
            self.cache.lock_all(&ids).await?.into_iter().collect();
        // The records' rows and, for each one held loaded, the changes stored after it
        // (another process's too), read together while the slots are locked.
        let wanted: Vec<(RecordId, Option<u64>)> = ids
            .iter()
            .map(|id| {
                let held = guards.get(id).and_then(|entry| entry.as_ref());
                (id.clone(), held.map(|cached| cached.seq))
            })
            .collect();
        let mut rows: HashMap<RecordId, (DocMeta, Vec<StoredChange>)> = self
            .storage
            .documents_since(&wanted)
            .await?
            .into_iter()
            .map(|(meta, changes)| (meta.header.id.clone(), (meta, changes)))
            .collect();
        let mut writes = Vec::with_capacity(parsed.len());
        let keep_loaded = ids.len() <= self.limits.keep_loaded_up_to;
        let mut outcome = Ok(());
        // Each record's parsed changes are dropped once its write is made (owned loop).
        for mut record in parsed {
            let Some(entry) = guards.get_mut(&record.id) else {
                outcome = Err(Error::Internal(
                    "a pushed record's cache slot is not locked".into(),
                ));
                break;
            };
            let existing = rows.remove(&record.id);
            // Only a stored record is checked where the changes write.
            let partial = existing.is_some() && !self.limits.check_whole_records;
            let step = match existing {
                Some((meta, changes)) => match push::authorize(device, &meta.header) {
                    Err(e) => Err(e),
                    Ok(()) => {
                        self.validate_existing(device, &meta, entry, changes, &mut record, revoked)
                            .await
                    }
                },
                None => push::refuse_revoked_authors(None, &record, revoked)
                    .and_then(|()| push::create_new(device, &mut record))
                    .map(|(doc, write)| {
                        **entry = Some(doc);
                        (write, Vec::new())
                    }),
            };
            // The record as it would be stored must read as the model: a new one whole, a
            // stored one (which passed) where the changes write.
            let step = match (step, entry.as_ref()) {
                (Ok((write, decoded)), Some(cached)) => {
                    let touched = if partial {
                        Touched::of_decoded(&cached.doc, decoded)
                    } else {
                        Touched::everything()
                    };
                    self.content
                        .check(&cached.doc, &record.id, &touched)
                        .await
                        .map(|()| write)
                }
                (step, _) => step.map(|(write, _)| write),
            };
            match step {
                Ok(mut write) => {
                    // The copy as it will be once stored: becomes the snapshot when due.
                    // A new record is saved now (its first whole send would otherwise be all
                    // its changes); an existing one is compacted in the background.
                    if let Some(cached) = entry.as_mut() {
                        write.known_through = cached.seq;
                        if cached.snapshot_len == 0 {
                            write.snapshot = Some(cached.save().to_vec());
                        }
                    }
                    writes.push(write);
                    if !keep_loaded {
                        // A bulk push: the record is validated and its write made; drop the
                        // document now so the push holds one loaded record at a time.
                        **entry = None;
                    }
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        let write = PushWrite {
            pushed_by: Some(device.id.clone()),
            records: writes,
        };
        if let Err(e) = outcome {
            forget(&mut guards);
            return Err(e);
        }
        let stored = match self.storage.store_push(&write).await {
            Ok(stored) => stored,
            Err(e) => {
                forget(&mut guards);
                return Err(e.into());
            }
        };
        let mut to_compact = Vec::new();
        for (record, result) in write.records.iter().zip(&stored) {
            let Some(cached) = guards.get_mut(&record.header.id).and_then(|e| e.as_mut()) else {
                // Dropped after validation (a bulk push): a stored record whose snapshot this
                // push did not refresh is compacted in the background, one at a time.
                if record.snapshot.is_none() {
                    to_compact.push(record.header.id.clone());
                }
                continue;
            };
            if let Some(seq) = result.covered_through {
                cached.seq = seq;
                if let Some(snapshot) = &record.snapshot {
                    cached.saved_as_snapshot(snapshot.len());
                }
            }
            if cached.wants_snapshot() {
                to_compact.push(record.header.id.clone());
            }
        }
        // The slots are let go before queueing: the compactor locks them to do its work, and
        // a full queue makes this push wait for it.
        drop(guards);
        for id in to_compact {
            self.compactor.request(id).await;
        }
        Ok(write
            .records
            .iter()
            .map(|r| Ack {
                id: r.header.id.clone(),
                hashes: r
                    .changes
                    .iter()
                    .map(|(h, _)| ByteBuf::from(h.to_vec()))
                    .collect(),
            })
            .collect())
    }

    /// `changes`: the record's changes stored after the loaded entry's `seq`, read with its
    /// row (none when the entry was empty: the record is then loaded whole).
    async fn validate_existing(
        &self,
        device: &DeviceRecord,
        meta: &DocMeta,
        entry: &mut Option<CachedDoc>,
        changes: Vec<StoredChange>,
        record: &mut push::ParsedRecord,
        revoked: &[siteproof_core::DeviceId],
    ) -> Result<(RecordWrite, Vec<automerge::ExpandedChange>)> {
        // A stored record is checked where the changes write: decoded for `Touched`.
        let decode = !self.limits.check_whole_records;
        if !catch_up_or_load(self.storage.as_ref(), &record.id, entry, changes).await? {
            return Err(Error::Internal(format!("record {} vanished", record.id)));
        }
        let cached = entry
            .as_mut()
            .ok_or_else(|| Error::Internal("loaded entry is empty".into()))?;
        push::refuse_revoked_authors(Some(&mut cached.doc), record, revoked)?;
        push::apply_to_existing(device, meta, cached, record, decode)
    }
}

/// Drops every entry a failed push touched: they may hold changes that were never stored.
fn forget(guards: &mut HashMap<RecordId, tokio::sync::OwnedMutexGuard<Option<CachedDoc>>>) {
    for entry in guards.values_mut() {
        **entry = None;
    }
}
