//! The multipart side of an S3 staged upload: part sizes, its state (saved with the upload's
//! offset in the database as its staging state), and the writer that cuts appends into parts
//! and sends several at once.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use object_store::multipart::MultipartStore;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use siteproof_core::MediaHash;

use super::{S3BlobStore, err};
use crate::blob::{BlobError, BlobResult, HashProgress, Staged, StagedWriter};

/// S3's smallest part (all but the last).
pub const MIN_PART: u64 = 5 << 20;
/// S3's most parts in one upload.
pub const MAX_PARTS: u64 = 10_000;
/// Part uploads in flight per append: one 8 MiB part takes ~70 ms on a local Garage, so one
/// at a time would cap an upload near 100 MiB/s; three keep the client sending while they
/// travel, and bound what an append holds to four parts (three sent, one gathering): 32 MiB.
pub(super) const PARTS_IN_FLIGHT: usize = 3;

/// The part size of an upload of `length` bytes: 5 MiB, or more (whole MiB) when 10,000
/// parts of 5 MiB would not hold it.
pub fn part_size(length: u64) -> u64 {
    let needed = length.div_ceil(MAX_PARTS);
    MIN_PART.max(needed.div_ceil(1 << 20) << 20)
}

/// One uploaded part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    /// The ETag the store returned for it.
    pub etag: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A staged upload's object-side state: the upload's staging state, saved as JSON with its
/// offset in the database (an older version kept it in the bucket, `multipart.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultipartState {
    /// The blob the upload will become (its claimed hash).
    pub hash: MediaHash,
    /// Declared length.
    pub length: u64,
    /// Size of every part but the last.
    pub part_size: u64,
    /// The multipart upload's id, once the first part was sent.
    pub upload_id: Option<String>,
    /// Parts uploaded, in order.
    pub parts: Vec<PartRecord>,
    /// Bytes in the tail object (after the parts).
    pub tail: u64,
    /// The state before the last append, kept by older versions to roll it back (the
    /// database's row is what an append starts from now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Box<MultipartState>>,
    /// Where the tail of the state before this one ended, if this one no longer reads it:
    /// the next append deletes that object (a state is superseded only once the row saved
    /// after it counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_tail: Option<u64>,
    /// Whether the multipart upload was created with part checksums (`x-amz-checksum-*`),
    /// as every upload is now; one begun by an older version was not, and its parts go up
    /// without them, as it began (a store refuses to complete a mix).
    #[serde(default)]
    pub part_checksums: bool,
}

impl MultipartState {
    /// Bytes staged: the parts and the tail.
    pub fn staged(&self) -> u64 {
        self.parts_len() + self.tail
    }

    fn parts_len(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum()
    }

    /// The state saved as an upload's staging state.
    pub fn from_staging(staging: &str) -> BlobResult<Self> {
        serde_json::from_str(staging)
            .map_err(|e| BlobError::Corrupt(format!("a multipart staging state: {e}")))
    }

    pub(super) fn to_staging(&self) -> BlobResult<String> {
        serde_json::to_string(self).map_err(|e| BlobError::Corrupt(e.to_string()))
    }
}

impl S3BlobStore {
    /// The multipart state an older version kept in the bucket for upload `id`.
    pub(super) async fn legacy_multipart_state(
        &self,
        id: &str,
    ) -> BlobResult<Option<MultipartState>> {
        self.get_json(&self.state_key(id)).await
    }

    pub(super) async fn tail_bytes(&self, id: &str, state: &MultipartState) -> BlobResult<Bytes> {
        if state.tail == 0 {
            return Ok(Bytes::new());
        }
        let got = self
            .s3
            .get(&self.tail_key(id, state.staged()))
            .await
            .map_err(err)?;
        let bytes = got.bytes().await.map_err(err)?;
        if bytes.len() as u64 != state.tail {
            return Err(BlobError::Corrupt(format!(
                "upload {id}: tail of {} bytes, expected {}",
                bytes.len(),
                state.tail
            )));
        }
        Ok(bytes)
    }

    /// Brings an older version's state of upload `id` back to the `len` staged bytes its
    /// description acknowledged: the state before the last append, or a shorter tail (written
    /// anew). Objects it no longer reads go with the upload.
    pub(super) async fn cut_to(
        &self,
        id: &str,
        state: MultipartState,
        len: u64,
    ) -> BlobResult<MultipartState> {
        if state.staged() == len {
            return Ok(MultipartState {
                previous: None,
                ..state
            });
        }
        if let Some(previous) = state.previous.as_deref()
            && previous.staged() == len
        {
            // The multipart upload stays (parts past the previous state are sent again).
            return Ok(MultipartState {
                upload_id: state.upload_id.clone(),
                part_checksums: state.part_checksums,
                previous: None,
                ..previous.clone()
            });
        }
        let parts = state.parts_len();
        if len >= parts && len < state.staged() {
            let tail = self.tail_bytes(id, &state).await?;
            let keep = tail.slice(..usize::try_from(len - parts).unwrap_or(usize::MAX));
            let cut = MultipartState {
                tail: keep.len() as u64,
                previous: None,
                ..state.clone()
            };
            if !keep.is_empty() {
                self.s3
                    .put(&self.tail_key(id, len), PutPayload::from(keep))
                    .await
                    .map_err(err)?;
            }
            return Ok(cut);
        }
        Err(BlobError::Corrupt(format!(
            "upload {id}: cannot go back from {} to {len} staged bytes",
            state.staged()
        )))
    }
}

type PartTask = tokio::task::JoinHandle<BlobResult<PartRecord>>;

/// A part on its way, and the whole-file hash state at its end.
struct InFlight {
    task: PartTask,
    hashed: HashProgress,
}

/// The size an append cuts its parts to: 8 MiB (a client's 8 MiB chunk is one part, and a
/// chunk of a multiple of 8 MiB leaves no tail), or the upload's part size when larger.
pub fn part_target(part_size: u64) -> u64 {
    part_size.max(8 << 20)
}

/// Appends to a staged upload: gathers the request body's buffers (no copy) into parts of
/// [`part_target`] bytes and uploads up to [`PARTS_IN_FLIGHT`] at once; what is left at the
/// end becomes one more part if it is at least the part size (or the file's end), else the
/// tail. The upload only ever advances over the parts stored in order: a part that fails
/// stops the append, and the parts after it are dropped.
pub(super) struct S3StagedWriter {
    store: S3BlobStore,
    id: String,
    /// The state when the append began (what a rollback returns to).
    start: MultipartState,
    /// The parts stored in order so far.
    state: MultipartState,
    /// The hash state at the end of `state`'s parts, once a part of this append is stored.
    hashed: Option<HashProgress>,
    /// The next part's buffers and their length.
    buffer: Vec<Bytes>,
    buffered: u64,
    in_flight: VecDeque<InFlight>,
    /// The first part that failed: nothing after it is kept.
    failed: Option<BlobError>,
}

impl S3StagedWriter {
    /// A writer continuing upload `id` from `state`, whose `tail` bytes come first.
    pub(super) fn new(store: S3BlobStore, id: &str, state: MultipartState, tail: Bytes) -> Self {
        let buffered = tail.len() as u64;
        Self {
            store,
            id: id.to_owned(),
            start: state.clone(),
            state,
            hashed: None,
            buffer: if tail.is_empty() {
                Vec::new()
            } else {
                vec![tail]
            },
            buffered,
            in_flight: VecDeque::new(),
            failed: None,
        }
    }

    async fn multipart_id(&mut self) -> BlobResult<String> {
        if let Some(id) = &self.state.upload_id {
            return Ok(id.clone());
        }
        // Only an upload an older version staged has none yet (new ones begin with theirs).
        let key = self.store.blob_key(&self.state.hash);
        let id = self.store.s3.create_multipart(&key).await.map_err(err)?;
        self.state.upload_id = Some(id.clone());
        self.state.part_checksums = true;
        Ok(id)
    }

    /// Sends the buffered bytes as the next part, `hashed` being the hash state at its end.
    async fn send_part(&mut self, hashed: HashProgress) -> BlobResult<()> {
        let upload_id = self.multipart_id().await?;
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.land_oldest().await?;
        }
        let index = self.state.parts.len() + self.in_flight.len();
        let s3 = Arc::clone(self.store.parts_client(&self.state));
        let key = self.store.blob_key(&self.state.hash);
        let size = self.buffered;
        let payload = std::mem::take(&mut self.buffer)
            .into_iter()
            .collect::<PutPayload>();
        self.buffered = 0;
        let task = tokio::spawn(async move {
            let part = s3
                .put_part(&key, &upload_id, index, payload)
                .await
                .map_err(err)?;
            Ok(PartRecord {
                etag: part.content_id,
                size,
            })
        });
        self.in_flight.push_back(InFlight { task, hashed });
        Ok(())
    }

    /// Waits for the oldest part in flight and counts it as stored; a failure stops the
    /// append (the parts after it are not kept).
    async fn land_oldest(&mut self) -> BlobResult<()> {
        let Some(InFlight { task, hashed }) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let landed = match task.await {
            Ok(landed) => landed,
            Err(e) => Err(BlobError::Io(io::Error::other(format!(
                "part upload task: {e}"
            )))),
        };
        match landed {
            Ok(part) => {
                self.state.parts.push(part);
                self.hashed = Some(hashed);
                Ok(())
            }
            Err(e) => {
                self.fail(&e);
                Err(e)
            }
        }
    }

    /// Records the first failure and cancels the parts after it.
    fn fail(&mut self, e: &BlobError) {
        if self.failed.is_none() {
            self.failed = Some(BlobError::Io(io::Error::other(format!(
                "upload {}: a part failed: {e}",
                self.id
            ))));
        }
        for part in self.in_flight.drain(..) {
            part.task.abort();
        }
        self.buffer.clear();
        self.buffered = 0;
    }

    fn failure(&self) -> Option<BlobError> {
        self.failed
            .as_ref()
            .map(|e| BlobError::Io(io::Error::other(e.to_string())))
    }
}

impl Drop for S3StagedWriter {
    fn drop(&mut self) {
        for part in &self.in_flight {
            part.task.abort();
        }
    }
}

#[async_trait]
impl StagedWriter for S3StagedWriter {
    fn room(&self) -> Option<u64> {
        Some(part_target(self.state.part_size).saturating_sub(self.buffered))
    }

    async fn write(&mut self, data: Bytes) -> BlobResult<()> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        if !data.is_empty() {
            self.buffered += data.len() as u64;
            self.buffer.push(data);
        }
        Ok(())
    }

    async fn boundary(&mut self, hashed: HashProgress) -> BlobResult<()> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        if self.buffered >= part_target(self.state.part_size)
            && let Err(e) = self.send_part(hashed).await
        {
            self.fail(&e);
            return Err(e);
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> BlobResult<Staged> {
        while !self.in_flight.is_empty() {
            if self.land_oldest().await.is_err() {
                break;
            }
        }
        let rest = self.buffered;
        let mut end = self.state.parts_len() + rest;
        if self.failed.is_none() && end == self.start.staged() {
            // Nothing arrived.
            return Ok(Staged {
                end,
                hashed: None,
                staging: self.start.to_staging()?,
            });
        }
        if self.failed.is_none()
            && rest > 0
            && (rest >= self.state.part_size || end == self.state.length)
        {
            // At least a part's worth, or the file's last bytes (the last part, which may be
            // short): one more part, ending where the caller's own hash state is.
            let at_end = HashProgress {
                bytes: end,
                state: String::new(),
            };
            let sent = match self.send_part(at_end).await {
                Ok(()) => self.land_oldest().await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(()) => {
                    self.hashed = None;
                    self.state.tail = 0;
                }
                Err(e) => self.fail(&e),
            }
        } else if self.failed.is_none() {
            self.state.tail = rest;
            if rest > 0 {
                let payload = std::mem::take(&mut self.buffer)
                    .into_iter()
                    .collect::<PutPayload>();
                self.store
                    .s3
                    .put(&self.store.tail_key(&self.id, end), payload)
                    .await
                    .map_err(err)?;
            }
        }
        let failed = self.failed.is_some();
        if failed {
            if self.hashed.is_none() {
                // Not one part of this append was stored: it changed nothing.
                return Err(self.failure().unwrap_or(BlobError::NotFound));
            }
            // The parts stored in order stay; what came after the failed one is dropped.
            self.state.tail = 0;
            end = self.state.parts_len();
        }
        // The tail this append began with is read no more once its end passed.
        self.state.stale_tail =
            (self.start.tail > 0 && self.start.staged() != end).then(|| self.start.staged());
        Ok(Staged {
            end,
            hashed: if failed { self.hashed.take() } else { None },
            staging: self.state.to_staging()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::S3Location;

    #[test]
    fn parts_are_5_mib_until_10000_of_them_would_not_hold_the_file() {
        assert_eq!(part_size(0), MIN_PART);
        assert_eq!(part_size(1), MIN_PART);
        assert_eq!(part_size(MIN_PART * MAX_PARTS), MIN_PART);
        assert_eq!(part_size(MIN_PART * MAX_PARTS + 1), 6 << 20);
        let footage = 64u64 << 30;
        assert!(part_size(footage) * MAX_PARTS >= footage);
        assert!(part_size(footage) >= MIN_PART);
    }

    #[test]
    fn s3_urls_name_a_bucket_and_a_prefix() {
        assert_eq!(
            S3Location::parse("s3://footage/prov/hebei"),
            Some(Ok(S3Location {
                bucket: "footage".into(),
                prefix: "prov/hebei".into(),
                settings: Vec::new(),
            }))
        );
        assert_eq!(
            S3Location::parse("s3://footage"),
            Some(Ok(S3Location {
                bucket: "footage".into(),
                prefix: String::new(),
                settings: Vec::new(),
            }))
        );
        assert!(matches!(S3Location::parse("s3:///x"), Some(Err(_))));
        assert_eq!(S3Location::parse("/var/lib/siteproof"), None);
    }
}
