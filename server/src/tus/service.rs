//! The tus upload service, HTTP-free: create, locate, append with checksums, verify the whole
//! file against its claimed SHA-256, commit to the blob store, terminate, expire.
//!
//! Where an upload stands is its row in the database ([`UploadStore`]), whichever process
//! reads it: the offset reported is the row's, and an acknowledged chunk's offset, hash state
//! and staging state are saved there before the answer, by the holder of the upload's lease
//! and from the offset it read. The blob store holds only the bytes. A row is written before
//! any byte is staged for it and removed after its bytes: no staged bytes are left that no
//! row names, so the expiry sweep, which walks the rows, finds everything.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use siteproof_core::media::references_media;
use siteproof_core::model::now;
use siteproof_core::{MediaHash, RecordId};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::error::TusError;
use super::lease::UploadLease;
use crate::blob::{BlobMeta, BlobStore, LegacyStaged};
use crate::evidence::EvidenceService;
use crate::identity::visibility::Visibility;
use crate::storage::{
    DeviceRecord, SyncStorage, UploadLeaseStore, UploadProgress, UploadRow, UploadStore,
};

/// Expired uploads read from the database at once by the sweep.
const SWEEP_BATCH: u32 = 100;

/// Settings of the media endpoints.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// The largest `Upload-Length` accepted.
    pub max_upload_bytes: u64,
    /// How long an incomplete upload lives after its last byte.
    pub expiry: Duration,
    /// How long a `PATCH` waits for another `PATCH` on the same upload to end.
    pub lock_wait: Duration,
    /// How long an upload's lease lasts unless its holder renews it (a third of it): how long
    /// an upload stays locked after the process appending to it died.
    pub lease: Duration,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 64 << 30,
            expiry: Duration::from_secs(24 * 3600),
            lock_wait: Duration::from_secs(10),
            lease: Duration::from_secs(30),
        }
    }
}

/// What a tus `Upload-Metadata` header must name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadClaim {
    /// The record that references the file.
    pub record: RecordId,
    /// The SHA-256 the file is claimed to have.
    pub sha256: MediaHash,
    /// MIME type (`filetype`), if sent.
    pub mime: Option<String>,
}

/// The state of an upload as the tus headers report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadStatus {
    /// The upload's id.
    pub id: String,
    /// Bytes received.
    pub offset: u64,
    /// Declared length.
    pub length: u64,
    /// When it expires (ms), unless complete.
    pub expires_at: Option<i64>,
}

/// Accepts uploads into a [`BlobStore`] and serves what is stored.
pub struct MediaService {
    pub(super) blobs: Arc<dyn BlobStore>,
    pub(super) storage: Arc<dyn SyncStorage>,
    pub(super) config: MediaConfig,
    /// One lock per upload in use, so `PATCH`es on one upload take turns; an entry lives
    /// while a request holds or awaits it (see [`Held`]).
    pub(super) slots: Slots,
    /// The uploads' leases in the database, so that requests on other processes take turns
    /// with this one's too ([`UploadLease`]).
    pub(super) leases: Arc<dyn UploadLeaseStore>,
    /// Where each upload stands, in the database.
    pub(super) uploads: Arc<dyn UploadStore>,
    pub(super) commit_lock: AsyncMutex<()>,
    pub(super) last_sweep: Mutex<Option<Instant>>,
    /// Checks completed uploads and logs custody.
    pub(super) evidence: Arc<EvidenceService>,
    /// Thumbnails made at once (each decodes a whole image): two, eight more waiting.
    pub(super) thumbnails: crate::work_gate::WorkGate,
}

impl MediaService {
    /// A service over `blobs`, checking records in `storage` and uploads with `evidence`.
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        storage: Arc<dyn SyncStorage>,
        evidence: Arc<EvidenceService>,
        config: MediaConfig,
    ) -> Self {
        Self {
            blobs,
            leases: storage.upload_lease_store(),
            uploads: storage.upload_store(),
            storage,
            config,
            slots: Slots::default(),
            commit_lock: AsyncMutex::new(()),
            last_sweep: Mutex::new(None),
            thumbnails: crate::work_gate::WorkGate::new("thumbnails", 2, 8),
            evidence,
        }
    }

    /// Records a completed upload in the custody log and checks its signed statement. The
    /// bytes are stored whatever the outcome: evidence that does not verify is flagged, not
    /// lost; a failure here is logged, never the uploader's problem.
    pub(super) async fn uploaded(
        &self,
        device: &DeviceRecord,
        record: &RecordId,
        hash: &MediaHash,
        size: u64,
    ) {
        let actor = format!("device:{}", device.id);
        if let Err(e) = self.evidence.on_upload(&actor, record, hash, size).await {
            tracing::error!(error = %e, %record, %hash, "checking uploaded evidence failed");
        }
    }

    /// The blob store.
    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    /// Whether `scope` may read record `record` and the record references `hash`.
    pub async fn record_references(
        &self,
        scope: &siteproof_core::Scope,
        record: &RecordId,
        hash: &MediaHash,
    ) -> Result<bool, TusError> {
        self.readable_record_references(&Visibility::device(scope), record, hash)
            .await
    }

    /// Whether a reader with this policy may read `record` by its scope, and the record
    /// references `hash` (devices and back-office users alike).
    pub async fn readable_record_references(
        &self,
        policy: &Visibility,
        record: &RecordId,
        hash: &MediaHash,
    ) -> Result<bool, TusError> {
        let Some(full) = self.storage.full_document(record).await? else {
            return Ok(false);
        };
        if !policy.may_read_scope(&full.header.scope) {
            return Ok(false);
        }
        let bytes = full.to_bytes();
        let doc = tokio::task::spawn_blocking(move || automerge::Automerge::load(&bytes))
            .await
            .map_err(|e| TusError::Internal(format!("load task: {e}")))?
            .map_err(|e| TusError::Internal(format!("stored record does not load: {e}")))?;
        Ok(references_media(&doc, hash))
    }

    /// Creates an upload (tus creation). Completes at once when the blob is already stored.
    pub async fn create(
        &self,
        device: &DeviceRecord,
        length: u64,
        claim: UploadClaim,
    ) -> Result<UploadStatus, TusError> {
        self.sweep_if_due().await;
        if length > self.config.max_upload_bytes {
            return Err(TusError::TooLarge {
                limit: self.config.max_upload_bytes,
            });
        }
        if !self
            .record_references(&device.scope, &claim.record, &claim.sha256)
            .await?
        {
            return Err(TusError::NotReferenced);
        }
        let existing = self.blobs.blob_meta(&claim.sha256).await?;
        if let Some(meta) = &existing
            && meta.size != length
        {
            return Err(TusError::HashMismatch);
        }
        let at = now();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let completed = existing.is_some();
        let row = UploadRow {
            id: id.clone(),
            length,
            sha256: claim.sha256.to_string(),
            record: claim.record.to_string(),
            device: device.id.to_string(),
            mime: claim
                .mime
                .unwrap_or_else(|| "application/octet-stream".into()),
            created_at: at,
            expires_at: at + self.config.expiry.as_millis() as i64,
            progress: UploadProgress {
                offset: if completed { length } else { 0 },
                completed,
                ..UploadProgress::default()
            },
        };
        // The row first: whatever the blob store begins for it is then named by a row.
        if !self.uploads.insert_upload(&row).await? {
            return Err(TusError::Internal(format!("upload id {id} taken")));
        }
        if completed {
            // Two devices, one file: the second upload names its record and is done.
            let _guard = self.commit_lock.lock().await;
            if let Some(mut meta) = self.blobs.blob_meta(&claim.sha256).await? {
                add_record(&mut meta, &claim.record);
                self.blobs.put_blob_meta(&claim.sha256, &meta).await?;
            }
            drop(_guard);
            self.uploaded(device, &claim.record, &claim.sha256, length)
                .await;
            return Ok(UploadStatus {
                id,
                offset: length,
                length,
                expires_at: None,
            });
        }
        let staging = self.blobs.begin_staged(&id, length, &claim.sha256).await?;
        if !staging.is_empty() {
            self.uploads.begin_upload(&id, &staging).await?;
        }
        Ok(UploadStatus {
            id,
            offset: 0,
            length,
            expires_at: Some(row.expires_at),
        })
    }

    /// Where an upload stands (tus `HEAD`).
    pub async fn status(&self, device: &DeviceRecord, id: &str) -> Result<UploadStatus, TusError> {
        // Waits for a `PATCH` in progress (e.g. one whose client just died and whose partial
        // chunk is being cut off) so the offset reported is one a `PATCH` may start at.
        let slot = self.hold(id).await?;
        let mut upload = self.load(device, id).await?;
        if !upload.row.progress.completed && upload.row.progress.offset == upload.row.length {
            // Every byte arrived but the process stopped before completing the upload: a
            // client reading this offset takes the upload for done, so complete it now.
            let digest = self.whole_hash(&upload).await?.finalize();
            self.finish(&slot, device, &mut upload, digest).await?;
        }
        Ok(status_of(&upload.row))
    }

    /// Terminates an upload (tus termination): its bytes are dropped.
    pub async fn terminate(&self, device: &DeviceRecord, id: &str) -> Result<(), TusError> {
        let _slot = self.hold(id).await?;
        let upload = self.load(device, id).await?;
        self.drop_upload(&upload.row).await
    }

    /// Drops an upload's bytes, then its row: a process stopping between the two leaves a row
    /// the sweep finds again, never bytes no row names.
    pub(super) async fn drop_upload(&self, row: &UploadRow) -> Result<(), TusError> {
        self.blobs
            .delete_staged(&row.id, &row.progress.staging)
            .await?;
        self.uploads.delete_upload(&row.id).await?;
        Ok(())
    }

    /// Imports the uploads an older version described beside their bytes into the database
    /// (once: each description is dropped after its row is written, and a row written already
    /// is kept). Returns how many were imported.
    pub async fn import_staged(&self) -> Result<usize, TusError> {
        let mut imported = 0;
        for LegacyStaged {
            upload,
            offset,
            hashed,
            staging,
        } in self.blobs.legacy_staged().await?
        {
            let row = UploadRow {
                id: upload.id.clone(),
                length: upload.length,
                sha256: upload.sha256.to_string(),
                record: upload.record.to_string(),
                device: upload.device,
                mime: upload.mime,
                created_at: upload.created_at,
                expires_at: upload.expires_at,
                progress: UploadProgress {
                    offset,
                    hash_state: hashed.filter(|h| h.bytes == offset).map(|h| h.state),
                    staging,
                    completed: upload.completed,
                },
            };
            if self.uploads.insert_upload(&row).await? {
                imported += 1;
            }
            self.blobs.forget_legacy_staged(&row.id).await?;
        }
        if imported > 0 {
            tracing::info!(imported, "uploads staged by an older version imported");
        }
        Ok(imported)
    }

    /// Deletes every upload whose expiry has passed; returns how many. The database lists
    /// them a batch at a time, oldest first, leaving out those a process holds the lease on.
    pub async fn sweep_expired(&self) -> Result<usize, TusError> {
        let mut swept = 0;
        loop {
            let at = now();
            let ids = self.uploads.expired_uploads(at, at, SWEEP_BATCH).await?;
            let mut dropped = 0;
            for id in &ids {
                // An upload a request (on any process) took since it was listed is left to it.
                let taken = UploadLease::take(&self.leases, id, self.config.lease, Duration::ZERO);
                let Ok(_lease) = taken.await else {
                    continue;
                };
                // Read again under the lease: a chunk may have moved its expiry on.
                match self.uploads.upload(id).await? {
                    Some(row) if row.expires_at < at => self.drop_upload(&row).await?,
                    _ => continue,
                }
                dropped += 1;
            }
            swept += dropped;
            if dropped == 0 || ids.len() < SWEEP_BATCH as usize {
                break;
            }
        }
        if swept > 0 {
            tracing::info!(swept, "expired uploads removed");
        }
        Ok(swept)
    }

    /// Sweeps at most once a minute, on the back of a creation.
    async fn sweep_if_due(&self) {
        let due = {
            let Ok(mut last) = self.last_sweep.lock() else {
                return;
            };
            let due = last.is_none_or(|t| t.elapsed() > Duration::from_secs(60));
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if due && let Err(e) = self.sweep_expired().await {
            tracing::warn!(error = %e, "sweeping expired uploads failed");
        }
    }

    /// The upload `id` of `device`, refusing others' and expired ones.
    pub(super) async fn load(&self, device: &DeviceRecord, id: &str) -> Result<Upload, TusError> {
        let row = self
            .uploads
            .upload(id)
            .await?
            .ok_or(TusError::UnknownUpload)?;
        if row.device != device.id.as_str() {
            return Err(TusError::UnknownUpload);
        }
        if !row.progress.completed && row.expires_at < now() {
            self.drop_upload(&row).await?;
            return Err(TusError::Expired);
        }
        let corrupt = |what: &str| TusError::Internal(format!("upload {id}: a stored {what}"));
        Ok(Upload {
            sha256: row.sha256.parse().map_err(|_| corrupt("hash"))?,
            record: row.record.parse().map_err(|_| corrupt("record id"))?,
            row,
        })
    }

    /// Takes upload `id`'s lock in this process, then its lease in the database, waiting at
    /// most `lock_wait` in all (then [`TusError::Locked`]).
    pub(super) async fn hold(&self, id: &str) -> Result<Held<'_>, TusError> {
        let started = Instant::now();
        let mut held = self.slots.hold(id, self.config.lock_wait).await?;
        let wait = self.config.lock_wait.saturating_sub(started.elapsed());
        held.lease = Some(UploadLease::take(&self.leases, id, self.config.lease, wait).await?);
        Ok(held)
    }

    /// How many uploads have a lock entry (held or awaited), for tests and metrics.
    pub fn upload_slots(&self) -> usize {
        self.slots.len()
    }
}

/// The per-upload locks. An entry's `Arc` is cloned only under the map's mutex, and an
/// entry is removed only under it when the map's is the last clone: so nobody holds or
/// awaits a removed lock, and one upload never has two locks at once.
#[derive(Default)]
pub(super) struct Slots(Mutex<HashMap<String, Arc<AsyncMutex<()>>>>);

impl Slots {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AsyncMutex<()>>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes upload `id`'s lock, waiting at most `wait` (then [`TusError::Locked`]).
    pub(super) async fn hold(&self, id: &str, wait: Duration) -> Result<Held<'_>, TusError> {
        let slot = self.enter(id);
        let mut held = Held {
            slots: self,
            id: id.to_owned(),
            slot: Some(Arc::clone(&slot)),
            guard: None,
            lease: None,
        };
        // A wait that times out drops its future (and the clone it took) before `held`.
        let guard = tokio::time::timeout(wait, slot.lock_owned())
            .await
            .map_err(|_| TusError::Locked)?;
        held.guard = Some(guard);
        Ok(held)
    }

    /// Upload `id`'s lock, made if it has none.
    fn enter(&self, id: &str) -> Arc<AsyncMutex<()>> {
        Arc::clone(self.map().entry(id.to_owned()).or_default())
    }

    /// Drops upload `id`'s entry unless someone else holds or awaits its lock (the caller
    /// dropped its own clone first).
    fn leave(&self, id: &str) {
        let mut map = self.map();
        if map.get(id).is_some_and(|slot| Arc::strong_count(slot) == 1) {
            map.remove(id);
        }
    }

    fn len(&self) -> usize {
        self.map().len()
    }
}

/// An upload's lock, held (or being awaited) by one request, with the upload's lease once
/// taken; dropping it gives the lease back and releases the lock and, if no other request
/// holds or awaits it, its entry.
pub(super) struct Held<'a> {
    slots: &'a Slots,
    id: String,
    slot: Option<Arc<AsyncMutex<()>>>,
    guard: Option<OwnedMutexGuard<()>>,
    lease: Option<UploadLease>,
}

impl Held<'_> {
    /// `Ok` while no other process took the upload's lease ([`UploadLease::still_held`]).
    pub(super) fn still_held(&self) -> Result<(), TusError> {
        self.lease.as_ref().map_or(Ok(()), UploadLease::still_held)
    }

    /// Who holds the upload's lease (what a save of its row names).
    pub(super) fn holder(&self) -> &str {
        self.lease.as_ref().map_or("", UploadLease::holder)
    }
}

/// An upload's row with its claim parsed.
pub(super) struct Upload {
    pub(super) row: UploadRow,
    pub(super) sha256: MediaHash,
    pub(super) record: RecordId,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        drop(self.lease.take());
        drop(self.guard.take());
        drop(self.slot.take());
        self.slots.leave(&self.id);
    }
}

pub(super) fn status_of(row: &UploadRow) -> UploadStatus {
    UploadStatus {
        id: row.id.clone(),
        offset: row.progress.offset,
        length: row.length,
        expires_at: (!row.progress.completed).then_some(row.expires_at),
    }
}

pub(super) fn add_record(meta: &mut BlobMeta, record: &RecordId) {
    if !meta.records.contains(record) {
        meta.records.push(record.clone());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Requests on three uploads from 32 tasks, a quarter of them giving up at once when the
    /// lock is taken (their entry must go with them, not with a holder's): never two holders
    /// of one upload at once, and no entry left when all are done.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_upload_never_has_two_holders_while_entries_come_and_go() {
        let slots = Arc::new(Slots::default());
        let inside: Arc<Vec<AtomicUsize>> = Arc::new((0..3).map(|_| AtomicUsize::new(0)).collect());
        let (overlaps, held, gave_up) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..32usize {
            let (slots, inside) = (Arc::clone(&slots), Arc::clone(&inside));
            let (overlaps, held, gave_up) = (
                Arc::clone(&overlaps),
                Arc::clone(&held),
                Arc::clone(&gave_up),
            );
            tasks.spawn(async move {
                for round in 0..300usize {
                    let upload = (t + round) % 3;
                    let wait = if (t + round) % 4 == 0 {
                        Duration::ZERO
                    } else {
                        Duration::from_secs(30)
                    };
                    let Ok(lock) = slots.hold(&format!("upload{upload}"), wait).await else {
                        gave_up.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    held.fetch_add(1, Ordering::Relaxed);
                    if inside[upload].fetch_add(1, Ordering::SeqCst) != 0 {
                        overlaps.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::task::yield_now().await;
                    inside[upload].fetch_sub(1, Ordering::SeqCst);
                    drop(lock);
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("task");
        }
        let (held, gave_up) = (
            held.load(Ordering::Relaxed),
            gave_up.load(Ordering::Relaxed),
        );
        assert_eq!(held + gave_up, 32 * 300);
        assert!(
            gave_up > 0,
            "no request gave up waiting: the test did not test that"
        );
        assert_eq!(
            overlaps.load(Ordering::Relaxed),
            0,
            "two holders of one upload"
        );
        assert_eq!(slots.len(), 0, "entries left behind");
    }
}
