//! Appending to an upload: one `PATCH` body streamed to the blob store while it is hashed
//! for its chunk checksum and for the whole file; the last byte triggers verification and
//! the commit under the file's hash.
//!
//! A body cut before its end: with `Upload-Checksum` nothing of it stays (the checksum covers
//! the whole chunk, so the client sends it again whole); without one, the bytes that arrived
//! stay and the offset moves past them, as tusd does, so a client that sends a whole file in
//! one `PATCH` resumes where the connection broke instead of from the start.
//!
//! A chunk counts once its offset, hash state and staging state are saved in the upload's row
//! (by the lease's holder, from the offset it read): nothing of a chunk that fails, or of one
//! whose process stops before that save, counts, and the next `PATCH` overwrites its bytes.
//!
//! A `PATCH` to a complete upload is answered `204` with `Upload-Offset` = its length and its
//! body is not read (the connection layer drains a little of it so the answer arrives).

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use siteproof_core::MediaHash;
use siteproof_core::media::checksum::UploadChecksum;
use siteproof_core::model::now;
use tracing::Instrument;

use super::error::TusError;
use super::hashing::WholeHash;
use super::service::{Held, MediaService, Upload, UploadStatus, add_record, status_of};
use crate::blob::{BlobError, BlobMeta, HashProgress, StagedWriter};
use crate::storage::{DeviceRecord, UploadProgress};

/// How a `PATCH` body ended, with the upload's offset after it (the bytes the hash has seen)
/// and the staging state there.
enum Body {
    /// Every byte arrived; the hash has seen them all.
    Whole { whole: WholeHash, staging: String },
    /// The connection broke; the bytes that arrived were kept (no checksum to honour).
    CutKept {
        whole: WholeHash,
        staging: String,
        why: TusError,
    },
}

impl MediaService {
    /// Appends one `PATCH` body at `offset`, checking `checksum` (of the body, if sent)
    /// when given. Completes the upload when the last byte arrives: the whole file's hash
    /// must match the claim, or the upload is dropped and nothing is stored.
    ///
    /// The work runs on a task of its own: a client that goes away drops its request's future,
    /// and an append cut off between its steps (every byte written but the upload not
    /// completed, a file committed but not checked) would leave an upload that reads as done
    /// and a file no evidence row names. A broken connection ends the body with an error,
    /// which the task handles like any cut body.
    pub async fn append<S, E>(
        self: &Arc<Self>,
        device: &DeviceRecord,
        id: &str,
        offset: u64,
        checksum: Option<UploadChecksum>,
        body: S,
    ) -> Result<UploadStatus, TusError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let this = Arc::clone(self);
        let device = device.clone();
        let id = id.to_owned();
        // In the request's span: its lines keep the request id.
        let work = async move { this.append_now(&device, &id, offset, checksum, body).await };
        tokio::spawn(work.instrument(tracing::Span::current()))
            .await
            .map_err(|e| TusError::Internal(format!("the append task: {e}")))?
    }

    async fn append_now<S, E>(
        &self,
        device: &DeviceRecord,
        id: &str,
        offset: u64,
        checksum: Option<UploadChecksum>,
        body: S,
    ) -> Result<UploadStatus, TusError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let slot = self.hold(id).await?;
        let mut upload = self.load(device, id).await?;
        let current = upload.row.progress.offset;
        if upload.row.progress.completed {
            // Every byte is here (or the server held the file already when the upload was
            // created): say so, whatever offset the client thought it was at, and leave the
            // body unread. Standard clients ignore the offset of a creation answer and send
            // the whole file from 0; this answer ends their upload instead of a 409.
            return Ok(status_of(&upload.row));
        }
        if offset != current {
            return Err(TusError::OffsetMismatch { expected: current });
        }
        let whole = self.whole_hash(&upload).await?;
        let mut staging = upload.row.progress.staging.clone();
        if staging.is_empty() && current == 0 {
            // Its creation stopped before the blob store began it (or the store needs nothing).
            staging = self
                .blobs
                .begin_staged(id, upload.row.length, &upload.sha256)
                .await?;
        }
        let active = crate::metrics::upload_active();
        let received = self.receive(&upload, &staging, checksum, body, whole).await;
        drop(active);
        if let Ok(Body::Whole { whole, .. } | Body::CutKept { whole, .. }) = &received {
            crate::metrics::upload_bytes(whole.bytes().saturating_sub(offset));
        }
        let (whole, staging) = match received {
            Ok(Body::Whole { whole, staging }) => (whole, staging),
            Ok(Body::CutKept {
                whole,
                staging,
                why,
            }) if whole.bytes() < upload.row.length => {
                let kept = whole.bytes() - offset;
                self.accept(&slot, &mut upload, &whole, staging).await?;
                tracing::info!(upload = %id, kept, "a cut PATCH body: kept the bytes that arrived");
                return Err(why);
            }
            // Cut after its last byte: nothing is missing.
            Ok(Body::CutKept { whole, staging, .. }) => (whole, staging),
            // Nothing of a failed chunk counts: the row keeps its offset, and the next
            // `PATCH` overwrites what this one wrote.
            Err(e) => return Err(e),
        };
        self.accept(&slot, &mut upload, &whole, staging).await?;
        if whole.bytes() < upload.row.length {
            return Ok(status_of(&upload.row));
        }
        self.finish(&slot, device, &mut upload, whole.finalize())
            .await?;
        Ok(status_of(&upload.row))
    }

    /// Counts the bytes `whole` has seen as accepted: saves the new offset, the hash state
    /// there and the staging state in the upload's row, and moves the expiry on. Refused
    /// ([`TusError::Locked`]) if another process took the upload's lease or moved its offset
    /// since this one read it: what this request wrote then counts for nothing.
    async fn accept(
        &self,
        slot: &Held<'_>,
        upload: &mut Upload,
        whole: &WholeHash,
        staging: String,
    ) -> Result<(), TusError> {
        slot.still_held()?;
        let progress = UploadProgress {
            offset: whole.bytes(),
            hash_state: Some(whole.progress().state),
            staging,
            completed: false,
        };
        self.save(slot, upload, progress).await
    }

    /// Saves `progress` in the upload's row, from the offset read; [`TusError::Locked`] if
    /// the row was not this request's to save.
    async fn save(
        &self,
        slot: &Held<'_>,
        upload: &mut Upload,
        progress: UploadProgress,
    ) -> Result<(), TusError> {
        let at = now();
        let expires_at = at + self.config.expiry.as_millis() as i64;
        let row = &mut upload.row;
        let saved = self
            .uploads
            .save_upload(
                &row.id,
                slot.holder(),
                at,
                row.progress.offset,
                &progress,
                expires_at,
            )
            .await?;
        if !saved {
            tracing::warn!(upload = %row.id, "the upload moved on in another process: this request's bytes do not count");
            return Err(TusError::Locked);
        }
        row.progress = progress;
        row.expires_at = expires_at;
        Ok(())
    }

    /// The whole-file hash of the upload's acknowledged bytes: the state saved with its
    /// offset, or, for an upload an older version staged without one, the staged bytes read
    /// back.
    pub(super) async fn whole_hash(&self, upload: &Upload) -> Result<WholeHash, TusError> {
        let offset = upload.row.progress.offset;
        if let Some(state) = &upload.row.progress.hash_state {
            return WholeHash::resume(&HashProgress {
                bytes: offset,
                state: state.clone(),
            });
        }
        let mut whole = WholeHash::new();
        if offset > 0 {
            let mut stream = self.blobs.read_staged(&upload.row.id).await?;
            while whole.bytes() < offset {
                let Some(data) = stream.next().await else {
                    break;
                };
                let data = data.map_err(BlobError::from)?;
                let wanted = usize::try_from(offset - whole.bytes()).unwrap_or(usize::MAX);
                whole.update(&data[..data.len().min(wanted)]);
            }
            if whole.bytes() != offset {
                return Err(TusError::Internal(format!(
                    "upload {} holds {} of {offset} staged bytes",
                    upload.row.id,
                    whole.bytes()
                )));
            }
        }
        Ok(whole)
    }

    /// Streams `body` to the staged upload, hashing it for the chunk checksum and the
    /// whole-file hash; returns how the body ended and the new offset. On `Err` the caller
    /// discards what was written.
    async fn receive<S, E>(
        &self,
        upload: &Upload,
        staging: &str,
        checksum: Option<UploadChecksum>,
        mut body: S,
        mut whole: WholeHash,
    ) -> Result<Body, TusError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let (offset, length) = (upload.row.progress.offset, upload.row.length);
        let remaining = length - offset;
        let mut chunk = checksum.as_ref().map(|c| c.algorithm.hasher());
        let appended = self
            .blobs
            .append_staged(&upload.row.id, offset, staging)
            .await;
        let mut writer = match appended {
            Ok(writer) => writer,
            Err(BlobError::NotFound) => {
                // Bytes it acknowledged are gone (a power cut before the disk had them): the
                // upload cannot go on, and the client begins it again.
                tracing::warn!(upload = %upload.row.id, offset, "acknowledged bytes are missing: the upload is dropped");
                self.drop_upload(&upload.row).await?;
                return Err(TusError::UnknownUpload);
            }
            Err(e) => return Err(e.into()),
        };
        let mut len = 0u64;
        let mut failure = None;
        while let Some(frame) = body.next().await {
            let data = match frame {
                Ok(d) => d,
                Err(e) => {
                    failure = Some(TusError::BodyInterrupted(e.to_string()));
                    break;
                }
            };
            len += data.len() as u64;
            if len > remaining {
                failure = Some(TusError::BeyondLength { length });
                break;
            }
            if let Some(h) = chunk.as_mut() {
                h.update(&data);
            }
            if let Err(e) = write_hashed(writer.as_mut(), data, &mut whole).await {
                failure = Some(e.into());
                break;
            }
        }
        let staged = writer.finish().await?;
        let staging = staged.staging;
        if let Some(at_end) = &staged.hashed {
            // A part failed: the upload ends after the parts stored before it.
            whole = WholeHash::resume(at_end)?;
        }
        if staged.end != whole.bytes() {
            return Err(TusError::Internal(format!(
                "staged {} bytes, hashed {}",
                staged.end,
                whole.bytes()
            )));
        }
        match failure {
            // Without a checksum every byte that was stored is as good as the next: keep
            // them, and the hash state that has seen them.
            Some(why @ TusError::BodyInterrupted(_)) if checksum.is_none() => {
                return Ok(Body::CutKept {
                    whole,
                    staging,
                    why,
                });
            }
            Some(why @ TusError::Blob(_)) if checksum.is_none() && staged.end > offset => {
                return Ok(Body::CutKept {
                    whole,
                    staging,
                    why,
                });
            }
            Some(e) => return Err(e),
            None => {}
        }
        if let (Some(expected), Some(h)) = (checksum, chunk)
            && h.finish() != expected.digest
        {
            return Err(TusError::ChecksumMismatch);
        }
        Ok(Body::Whole { whole, staging })
    }

    /// Completes an upload that holds every byte (saved as its offset): verifies the whole
    /// file, stores it under its hash, and checks and logs it as evidence.
    pub(super) async fn finish(
        &self,
        slot: &Held<'_>,
        device: &DeviceRecord,
        upload: &mut Upload,
        digest: [u8; 32],
    ) -> Result<(), TusError> {
        self.complete(slot, upload, digest).await?;
        self.uploaded(device, &upload.record, &upload.sha256, upload.row.length)
            .await;
        Ok(())
    }

    /// Verifies the whole file and stores it under its hash; then the row says it is
    /// complete (a process stopping between the two leaves it to be completed again, which
    /// the blob store's commit allows).
    async fn complete(
        &self,
        slot: &Held<'_>,
        upload: &mut Upload,
        digest: [u8; 32],
    ) -> Result<(), TusError> {
        let row = &upload.row;
        if MediaHash::from_digest(digest) != upload.sha256 {
            self.drop_upload(row).await?;
            tracing::warn!(upload = %row.id, record = %upload.record, "uploaded bytes do not match the claimed hash");
            return Err(TusError::HashMismatch);
        }
        let guard = self.commit_lock.lock().await;
        let mut meta = self
            .blobs
            .blob_meta(&upload.sha256)
            .await?
            .unwrap_or_else(|| BlobMeta {
                size: row.length,
                mime: row.mime.clone(),
                records: Vec::new(),
            });
        add_record(&mut meta, &upload.record);
        self.blobs
            .commit_staged(&row.id, &row.progress.staging, &upload.sha256, &meta)
            .await?;
        drop(guard);
        let done = UploadProgress {
            // The bytes are the blob's now: no staging state is left to drop.
            staging: String::new(),
            completed: true,
            ..row.progress.clone()
        };
        self.save(slot, upload, done).await
    }
}

/// Writes `data` to `writer` and hashes it into `whole`, split at the writer's part
/// boundaries, each of which gets the hash state of every byte before it.
async fn write_hashed(
    writer: &mut dyn StagedWriter,
    mut data: Bytes,
    whole: &mut WholeHash,
) -> Result<(), BlobError> {
    while !data.is_empty() {
        let room = writer.room().map_or(data.len(), |r| {
            usize::try_from(r).unwrap_or(usize::MAX).min(data.len())
        });
        let piece = data.split_to(room);
        whole.update(&piece);
        writer.write(piece).await?;
        if writer.room() == Some(0) {
            writer.boundary(whole.progress()).await?;
        }
    }
    Ok(())
}
