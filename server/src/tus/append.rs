//! Appending to an upload: one `PATCH` body streamed to the blob store while it is hashed
//! for its chunk checksum and for the whole file; the last byte triggers verification and
//! the commit under the file's hash.
//!
//! A body cut before its end: with `Upload-Checksum` nothing of it stays (the checksum covers
//! the whole chunk, so the client sends it again whole); without one, the bytes that arrived
//! stay and the offset moves past them, as tusd does, so a client that sends a whole file in
//! one `PATCH` resumes where the connection broke instead of from the start.
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
use super::service::{MediaService, UploadStatus, add_record, status_of};
use crate::blob::{BlobMeta, StagedUpload, StagedWriter};
use crate::storage::DeviceRecord;

/// How a `PATCH` body ended, with the upload's offset after it.
enum Body {
    /// Every byte arrived; the hash has seen them all.
    Whole { whole: WholeHash },
    /// The connection broke; the bytes that arrived were kept (no checksum to honour).
    CutKept { whole: WholeHash, why: TusError },
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
        let (mut upload, current) = self.load(device, id).await?;
        if upload.completed {
            // Every byte is here (or the server held the file already when the upload was
            // created): say so, whatever offset the client thought it was at, and leave the
            // body unread. Standard clients ignore the offset of a creation answer and send
            // the whole file from 0; this answer ends their upload instead of a 409.
            return Ok(status_of(&upload, current));
        }
        if offset != current {
            return Err(TusError::OffsetMismatch { expected: current });
        }
        let whole = self.whole_hash(&upload, current).await?;
        let active = crate::metrics::upload_active();
        let received = self.receive(&upload, offset, checksum, body, whole).await;
        drop(active);
        if let Ok(Body::Whole { whole } | Body::CutKept { whole, .. }) = &received {
            crate::metrics::upload_bytes(whole.bytes().saturating_sub(offset));
        }
        let (end, whole) = match received {
            Ok(Body::Whole { whole }) => (whole.bytes(), whole),
            Ok(Body::CutKept { whole, why }) if whole.bytes() < upload.length => {
                let kept = whole.bytes() - offset;
                slot.still_held()?;
                self.accept(&mut upload, &whole).await?;
                tracing::info!(upload = %id, kept, "a cut PATCH body: kept the bytes that arrived");
                return Err(why);
            }
            // Cut after its last byte: nothing is missing.
            Ok(Body::CutKept { whole, .. }) => (whole.bytes(), whole),
            Err(e) => {
                // Nothing of a failed chunk stays: the client sends it again whole.
                self.blobs.truncate_staged(id, offset).await?;
                return Err(e);
            }
        };
        // What this request wrote counts only if no other process took the upload meanwhile.
        slot.still_held()?;
        if end < upload.length {
            self.accept(&mut upload, &whole).await?;
            return Ok(status_of(&upload, end));
        }
        self.finish(device, &mut upload, whole.finalize()).await?;
        Ok(UploadStatus {
            id: upload.id,
            offset: end,
            length: upload.length,
            expires_at: None,
        })
    }

    /// Counts the bytes `whole` has seen as accepted: saves its state with the upload (the
    /// new offset) and moves the expiry on.
    async fn accept(&self, upload: &mut StagedUpload, whole: &WholeHash) -> Result<(), TusError> {
        upload.hashed = Some(whole.progress());
        upload.expires_at = now() + self.config.expiry.as_millis() as i64;
        self.blobs.update_staged(upload).await?;
        Ok(())
    }

    /// The whole-file hash of the upload's first `offset` bytes: its saved state, or, for an
    /// upload staged without one (an older version) or whose staged bytes fell behind it,
    /// the staged bytes read back.
    pub(super) async fn whole_hash(
        &self,
        upload: &StagedUpload,
        offset: u64,
    ) -> Result<WholeHash, TusError> {
        if let Some(saved) = upload.hashed.as_ref().filter(|h| h.bytes == offset) {
            return WholeHash::resume(saved);
        }
        let mut whole = WholeHash::new();
        if offset > 0 {
            let mut stream = self.blobs.read_staged(&upload.id).await?;
            while whole.bytes() < offset {
                let Some(data) = stream.next().await else {
                    break;
                };
                let data = data.map_err(crate::blob::BlobError::from)?;
                let wanted = usize::try_from(offset - whole.bytes()).unwrap_or(usize::MAX);
                whole.update(&data[..data.len().min(wanted)]);
            }
            if whole.bytes() != offset {
                return Err(TusError::Internal(format!(
                    "upload {} holds {} of {offset} staged bytes",
                    upload.id,
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
        upload: &StagedUpload,
        offset: u64,
        checksum: Option<UploadChecksum>,
        mut body: S,
        mut whole: WholeHash,
    ) -> Result<Body, TusError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let remaining = upload.length - offset;
        let mut chunk = checksum.as_ref().map(|c| c.algorithm.hasher());
        let mut writer = self.blobs.append_staged(&upload.id, offset).await?;
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
                failure = Some(TusError::BeyondLength {
                    length: upload.length,
                });
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
                return Ok(Body::CutKept { whole, why });
            }
            Some(why @ TusError::Blob(_)) if checksum.is_none() && staged.end > offset => {
                return Ok(Body::CutKept { whole, why });
            }
            Some(e) => return Err(e),
            None => {}
        }
        if let (Some(expected), Some(h)) = (checksum, chunk)
            && h.finish() != expected.digest
        {
            return Err(TusError::ChecksumMismatch);
        }
        Ok(Body::Whole { whole })
    }

    /// Completes an upload that holds every byte: verifies the whole file, stores it under
    /// its hash, and checks and logs it as evidence.
    pub(super) async fn finish(
        &self,
        device: &DeviceRecord,
        upload: &mut StagedUpload,
        digest: [u8; 32],
    ) -> Result<(), TusError> {
        self.complete(upload, digest).await?;
        self.uploaded(device, &upload.record, &upload.sha256, upload.length)
            .await;
        Ok(())
    }

    /// Verifies the whole file and stores it under its hash.
    async fn complete(&self, upload: &mut StagedUpload, digest: [u8; 32]) -> Result<(), TusError> {
        if MediaHash::from_digest(digest) != upload.sha256 {
            self.blobs.delete_staged(&upload.id).await?;
            tracing::warn!(upload = %upload.id, record = %upload.record, "uploaded bytes do not match the claimed hash");
            return Err(TusError::HashMismatch);
        }
        let _guard = self.commit_lock.lock().await;
        let mut meta = self
            .blobs
            .blob_meta(&upload.sha256)
            .await?
            .unwrap_or_else(|| BlobMeta {
                size: upload.length,
                mime: upload.mime.clone(),
                records: Vec::new(),
            });
        add_record(&mut meta, &upload.record);
        self.blobs
            .commit_staged(&upload.id, &upload.sha256, &meta)
            .await?;
        upload.completed = true;
        self.blobs.update_staged(upload).await?;
        Ok(())
    }
}

/// Writes `data` to `writer` and hashes it into `whole`, split at the writer's part
/// boundaries, each of which gets the hash state of every byte before it.
async fn write_hashed(
    writer: &mut dyn StagedWriter,
    mut data: Bytes,
    whole: &mut WholeHash,
) -> Result<(), crate::blob::BlobError> {
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
