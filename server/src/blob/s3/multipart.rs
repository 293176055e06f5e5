//! The multipart side of an S3 staged upload: part sizes, the state kept in the bucket, its
//! rollback, and the writer that cuts appends into parts.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use object_store::multipart::MultipartStore;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use siteproof_core::MediaHash;

use super::{S3BlobStore, err};
use crate::blob::{BlobError, BlobResult, StagedWriter};

/// S3's smallest part (all but the last).
pub const MIN_PART: u64 = 5 << 20;
/// S3's most parts in one upload.
pub const MAX_PARTS: u64 = 10_000;
/// Part uploads in flight per append: the client keeps sending while one part travels.
pub(super) const PARTS_IN_FLIGHT: usize = 2;

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

/// A staged upload's object-side state, saved in the bucket beside its description.
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
    /// The state before the last append, for rolling it back.
    pub previous: Option<Box<MultipartState>>,
}

impl MultipartState {
    /// Bytes staged: the parts and the tail.
    pub fn staged(&self) -> u64 {
        self.parts_len() + self.tail
    }

    fn parts_len(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum()
    }

    fn without_previous(&self) -> Self {
        Self {
            previous: None,
            ..self.clone()
        }
    }
}

impl S3BlobStore {
    /// A staged upload's multipart state (for tests and tools).
    pub async fn multipart_state(&self, id: &str) -> BlobResult<Option<MultipartState>> {
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

    /// Brings the state of upload `id` back to `len` staged bytes: the state before the last
    /// append, or a shorter tail. Returns the state.
    pub(super) async fn cut_to(
        &self,
        id: &str,
        state: MultipartState,
        len: u64,
    ) -> BlobResult<MultipartState> {
        if state.staged() == len {
            return Ok(state);
        }
        if let Some(previous) = state.previous.as_deref()
            && previous.staged() == len
        {
            // The multipart upload stays (parts past the previous state are sent again).
            let restored = MultipartState {
                upload_id: state.upload_id.clone(),
                ..previous.clone()
            };
            self.put_json(&self.state_key(id), &restored).await?;
            if state.tail > 0 && state.staged() != restored.staged() {
                self.delete_quietly(&self.tail_key(id, state.staged()))
                    .await?;
            }
            return Ok(restored);
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
            self.put_json(&self.state_key(id), &cut).await?;
            return Ok(cut);
        }
        Err(BlobError::Corrupt(format!(
            "upload {id}: cannot go back from {} to {len} staged bytes",
            state.staged()
        )))
    }

    pub(super) async fn load_state(&self, id: &str) -> BlobResult<MultipartState> {
        self.multipart_state(id).await?.ok_or(BlobError::NotFound)
    }
}

type PartTask = tokio::task::JoinHandle<BlobResult<(usize, PartRecord)>>;

/// Appends to a staged upload: cuts what arrives into parts of `part_size`, uploads them
/// (two at a time), and keeps the remainder as the tail.
pub(super) struct S3StagedWriter {
    store: S3BlobStore,
    id: String,
    /// The state when the append began (what a rollback returns to).
    start: MultipartState,
    state: MultipartState,
    buffer: BytesMut,
    in_flight: VecDeque<PartTask>,
}

impl S3StagedWriter {
    /// A writer continuing upload `id` from `state`, whose `tail` bytes come first.
    pub(super) fn new(store: S3BlobStore, id: &str, state: MultipartState, tail: &[u8]) -> Self {
        let mut buffer = BytesMut::with_capacity(
            usize::try_from(state.part_size)
                .unwrap_or(usize::MAX)
                .min(64 << 20),
        );
        buffer.extend_from_slice(tail);
        Self {
            store,
            id: id.to_owned(),
            start: state.clone(),
            state,
            buffer,
            in_flight: VecDeque::new(),
        }
    }

    fn part_bytes(&self) -> usize {
        usize::try_from(self.state.part_size).unwrap_or(usize::MAX)
    }

    async fn multipart_id(&mut self) -> BlobResult<String> {
        if let Some(id) = &self.state.upload_id {
            return Ok(id.clone());
        }
        let key = self.store.blob_key(&self.state.hash);
        let id = self.store.s3.create_multipart(&key).await.map_err(err)?;
        // Saved at once: an abort must find it even if this append never finishes.
        self.state.upload_id = Some(id.clone());
        self.start.upload_id = Some(id.clone());
        self.store
            .put_json(&self.store.state_key(&self.id), &self.start)
            .await?;
        Ok(id)
    }

    /// Sends `data` as the next part.
    async fn send_part(&mut self, data: Bytes) -> BlobResult<()> {
        let upload_id = self.multipart_id().await?;
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.land_oldest().await?;
        }
        let index = self.state.parts.len() + self.in_flight.len();
        let s3 = Arc::clone(&self.store.s3);
        let key = self.store.blob_key(&self.state.hash);
        let size = data.len() as u64;
        self.in_flight.push_back(tokio::spawn(async move {
            let part = s3
                .put_part(&key, &upload_id, index, PutPayload::from(data))
                .await
                .map_err(err)?;
            Ok((
                index,
                PartRecord {
                    etag: part.content_id,
                    size,
                },
            ))
        }));
        Ok(())
    }

    async fn land_oldest(&mut self) -> BlobResult<()> {
        let Some(task) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let (index, part) = task
            .await
            .map_err(|e| BlobError::Io(io::Error::other(format!("part upload task: {e}"))))??;
        debug_assert_eq!(index, self.state.parts.len());
        self.state.parts.push(part);
        Ok(())
    }
}

impl Drop for S3StagedWriter {
    fn drop(&mut self) {
        for task in &self.in_flight {
            task.abort();
        }
    }
}

#[async_trait]
impl StagedWriter for S3StagedWriter {
    async fn write(&mut self, mut data: Bytes) -> BlobResult<()> {
        // The buffer is filled to exactly one part and handed over whole; the next one is
        // allocated at its full size, so no part is reallocated (copied) as it grows.
        let part = self.part_bytes();
        while !data.is_empty() {
            let room = part.saturating_sub(self.buffer.len());
            let piece = data.split_to(room.min(data.len()));
            self.buffer.extend_from_slice(&piece);
            if self.buffer.len() >= part {
                let full = std::mem::replace(&mut self.buffer, BytesMut::with_capacity(part));
                self.send_part(full.freeze()).await?;
            }
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> BlobResult<u64> {
        while !self.in_flight.is_empty() {
            self.land_oldest().await?;
        }
        let rest = std::mem::take(&mut self.buffer).freeze();
        let end = self.state.parts_len() + rest.len() as u64;
        if end == self.start.staged() {
            // Nothing arrived.
            return Ok(end);
        }
        if end == self.state.length && !rest.is_empty() {
            // The file's last bytes: the last part, which may be short.
            self.send_part(rest).await?;
            self.land_oldest().await?;
            self.state.tail = 0;
        } else {
            self.state.tail = rest.len() as u64;
            if !rest.is_empty() {
                self.store
                    .s3
                    .put(&self.store.tail_key(&self.id, end), PutPayload::from(rest))
                    .await
                    .map_err(err)?;
            }
        }
        self.state.previous = Some(Box::new(self.start.without_previous()));
        self.store
            .put_json(&self.store.state_key(&self.id), &self.state)
            .await?;
        // The tail before the one kept for a rollback is no longer needed.
        if let Some(older) = self.start.previous.as_deref()
            && older.tail > 0
            && older.staged() != self.start.staged()
            && older.staged() != end
        {
            self.store
                .delete_quietly(&self.store.tail_key(&self.id, older.staged()))
                .await?;
        }
        Ok(end)
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
