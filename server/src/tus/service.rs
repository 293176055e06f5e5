//! The tus upload service, HTTP-free: create, locate, append with checksums, verify the whole
//! file against its claimed SHA-256, commit to the blob store, terminate, expire.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use siteproof_core::media::references_media;
use siteproof_core::model::now;
use siteproof_core::{MediaHash, RecordId};
use tokio::sync::Mutex as AsyncMutex;

use super::error::TusError;
use crate::blob::{BlobMeta, BlobStore, StagedUpload};
use crate::evidence::EvidenceService;
use crate::identity::visibility::Visibility;
use crate::storage::{DeviceRecord, SyncStorage};

/// Settings of the media endpoints.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// The largest `Upload-Length` accepted.
    pub max_upload_bytes: u64,
    /// How long an incomplete upload lives after its last byte.
    pub expiry: Duration,
    /// How long a `PATCH` waits for another `PATCH` on the same upload to end.
    pub lock_wait: Duration,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 64 << 30,
            expiry: Duration::from_secs(24 * 3600),
            lock_wait: Duration::from_secs(10),
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
    pub(super) slots: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
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
            storage,
            config,
            slots: Mutex::default(),
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
        let upload = StagedUpload {
            id: uuid::Uuid::new_v4().simple().to_string(),
            length,
            sha256: claim.sha256.clone(),
            record: claim.record.clone(),
            device: device.id.to_string(),
            mime: claim
                .mime
                .unwrap_or_else(|| "application/octet-stream".into()),
            created_at: at,
            expires_at: at + self.config.expiry.as_millis() as i64,
            completed: existing.is_some(),
            hashed: None,
        };
        self.blobs.create_staged(&upload).await?;
        if existing.is_some() {
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
                id: upload.id,
                offset: length,
                length,
                expires_at: None,
            });
        }
        Ok(UploadStatus {
            id: upload.id,
            offset: 0,
            length,
            expires_at: Some(upload.expires_at),
        })
    }

    /// Where an upload stands (tus `HEAD`).
    pub async fn status(&self, device: &DeviceRecord, id: &str) -> Result<UploadStatus, TusError> {
        // Waits for a `PATCH` in progress (e.g. one whose client just died and whose partial
        // chunk is being cut off) so the offset reported is one a `PATCH` may start at.
        let slot = self.slot(id);
        let _slot = tokio::time::timeout(self.config.lock_wait, slot.lock_owned())
            .await
            .map_err(|_| TusError::Locked)?;
        let (mut upload, offset) = self.load(device, id).await?;
        if !upload.completed && offset == upload.length {
            // Every byte arrived but the process stopped before completing the upload: a
            // client reading this offset takes the upload for done, so complete it now.
            let digest = self.whole_hash(&upload, offset).await?.finalize();
            self.finish(device, &mut upload, digest).await?;
        }
        Ok(status_of(&upload, offset))
    }

    /// Terminates an upload (tus termination): its bytes are dropped.
    pub async fn terminate(&self, device: &DeviceRecord, id: &str) -> Result<(), TusError> {
        let slot = self.slot(id);
        let _slot = tokio::time::timeout(self.config.lock_wait, slot.lock_owned())
            .await
            .map_err(|_| TusError::Locked)?;
        self.load(device, id).await?;
        self.blobs.delete_staged(id).await?;
        self.forget(id);
        Ok(())
    }

    /// Deletes every upload whose expiry has passed; returns how many.
    pub async fn sweep_expired(&self) -> Result<usize, TusError> {
        let at = now();
        let mut swept = 0;
        for upload in self.blobs.list_staged().await? {
            if upload.expires_at < at {
                self.blobs.delete_staged(&upload.id).await?;
                self.forget(&upload.id);
                swept += 1;
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
    pub(super) async fn load(
        &self,
        device: &DeviceRecord,
        id: &str,
    ) -> Result<(StagedUpload, u64), TusError> {
        let (upload, stored) = self
            .blobs
            .staged(id)
            .await?
            .ok_or(TusError::UnknownUpload)?;
        // The offset is what the saved hash covers; staged bytes past it were never accepted.
        let offset = match &upload.hashed {
            Some(h) if h.bytes <= stored && !upload.completed => h.bytes,
            _ => stored,
        };
        if upload.device != device.id.as_str() {
            return Err(TusError::UnknownUpload);
        }
        if !upload.completed && upload.expires_at < now() {
            self.blobs.delete_staged(id).await?;
            self.forget(id);
            return Err(TusError::Expired);
        }
        Ok((upload, offset))
    }

    pub(super) fn slot(&self, id: &str) -> Arc<AsyncMutex<()>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(slots.entry(id.to_owned()).or_default())
    }

    pub(super) fn forget(&self, id: &str) {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

pub(super) fn status_of(upload: &StagedUpload, offset: u64) -> UploadStatus {
    UploadStatus {
        id: upload.id.clone(),
        offset,
        length: upload.length,
        expires_at: (!upload.completed).then_some(upload.expires_at),
    }
}

pub(super) fn add_record(meta: &mut BlobMeta, record: &RecordId) {
    if !meta.records.contains(record) {
        meta.records.push(record.clone());
    }
}
