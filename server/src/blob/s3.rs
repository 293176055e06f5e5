//! Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, Garage), through the
//! `object_store` crate.
//!
//! ```text
//! <prefix>/blobs/<sha256>                  finished blobs (completed multipart uploads)
//! <prefix>/meta/<sha256>.json              their metadata
//! <prefix>/thumbnails/<sha256>.jpg
//! <prefix>/staging/<id>/upload.json        staged upload description (StagedUpload)
//! <prefix>/staging/<id>/multipart.json     the multipart upload: id, parts, tail (MultipartState)
//! <prefix>/staging/<id>/tail-<end>         bytes after the last part, shorter than a part
//! ```
//!
//! A staged upload is a multipart upload created at the blob's content address (the claimed
//! hash): completing it after the whole-file hash matched puts the object in place with no
//! copy; a mismatch aborts it and nothing is stored. Every part but the last is `part_size`
//! bytes (at least 5 MiB, S3's rule, and large enough that no upload needs more than 10,000
//! parts) whatever the client's chunk size: what is left of a `PATCH` after its whole parts
//! is kept as a small tail object, which the next `PATCH` (on any process) prepends.
//!
//! Everything an append needs is in the bucket, none of it in process memory, so any
//! process reaching the bucket continues any upload. The multipart state keeps the state
//! before the last append, so an append whose chunk failed its checksum, or whose upload
//! description was not saved before the process stopped, is rolled back.

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use siteproof_core::MediaHash;

use super::{BlobError, BlobMeta, BlobResult, BlobStore, ByteStream, StagedUpload, StagedWriter};

/// S3's smallest part (all but the last).
pub const MIN_PART: u64 = 5 << 20;
/// S3's most parts in one upload.
pub const MAX_PARTS: u64 = 10_000;
/// Part uploads in flight per append: the client keeps sending while one part travels.
const PARTS_IN_FLIGHT: usize = 2;

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

/// Where an S3 blob store is: bucket and key prefix, and settings beside the environment's.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix (may be empty).
    pub prefix: String,
    /// `object_store` S3 settings applied over the `AWS_*` environment variables, named as
    /// those are (`aws_endpoint_url`, `aws_access_key_id`...).
    pub settings: Vec<(String, String)>,
}

impl std::fmt::Debug for S3Location {
    /// Setting names only: the values hold credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.settings.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("S3Location")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("settings", &names)
            .finish()
    }
}

impl S3Location {
    /// Parses `s3://BUCKET[/PREFIX]`; `None` if `raw` is not an `s3://` URL.
    pub fn parse(raw: &str) -> Option<Result<Self, String>> {
        let rest = raw.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(format!("{raw}: no bucket")));
        }
        Some(Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            settings: Vec::new(),
        }))
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// A [`BlobStore`] in an S3-compatible bucket.
#[derive(Clone, Debug)]
pub struct S3BlobStore {
    s3: Arc<AmazonS3>,
    prefix: Path,
}

fn err(e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound,
        other => BlobError::Io(io::Error::other(other)),
    }
}

/// `Ok(None)` for a missing object.
fn found<T>(r: Result<T, object_store::Error>) -> BlobResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(err(e)),
    }
}

fn json<T: Serialize>(value: &T) -> BlobResult<Bytes> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| BlobError::Corrupt(e.to_string()))
}

impl S3BlobStore {
    /// Opens the store at `location`, with endpoint, region and credentials from the `AWS_*`
    /// environment variables (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`...) and the location's own settings.
    pub fn from_env(location: &S3Location) -> BlobResult<Self> {
        let mut builder = AmazonS3Builder::from_env();
        for (key, value) in &location.settings {
            let key: AmazonS3ConfigKey = key.to_ascii_lowercase().parse().map_err(err)?;
            builder = builder.with_config(key, value);
        }
        let s3 = builder
            .with_bucket_name(&location.bucket)
            .build()
            .map_err(err)?;
        Ok(Self {
            s3: Arc::new(s3),
            prefix: Path::from(location.prefix.as_str()),
        })
    }

    fn key(&self, parts: &[&str]) -> Path {
        parts
            .iter()
            .fold(self.prefix.clone(), |path, part| path.join(*part))
    }

    /// The key of a finished blob (for tests and tools).
    pub fn blob_key(&self, hash: &MediaHash) -> Path {
        self.key(&["blobs", hash.as_str()])
    }

    fn meta_key(&self, hash: &MediaHash) -> Path {
        self.key(&["meta", &format!("{hash}.json")])
    }

    fn thumb_key(&self, hash: &MediaHash) -> Path {
        self.key(&["thumbnails", &format!("{hash}.jpg")])
    }

    fn staging(&self, id: &str) -> Path {
        self.key(&["staging", id])
    }

    fn upload_key(&self, id: &str) -> Path {
        self.staging(id).join("upload.json")
    }

    fn state_key(&self, id: &str) -> Path {
        self.staging(id).join("multipart.json")
    }

    fn tail_key(&self, id: &str, end: u64) -> Path {
        self.staging(id).join(format!("tail-{end}"))
    }

    /// The underlying object store (for tests and tools).
    pub fn object_store(&self) -> Arc<AmazonS3> {
        Arc::clone(&self.s3)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, key: &Path) -> BlobResult<Option<T>> {
        let Some(got) = found(self.s3.get(key).await)? else {
            return Ok(None);
        };
        let bytes = got.bytes().await.map_err(err)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| BlobError::Corrupt(format!("{key}: {e}")))
    }

    async fn put_json<T: Serialize>(&self, key: &Path, value: &T) -> BlobResult<()> {
        self.s3
            .put(key, PutPayload::from(json(value)?))
            .await
            .map_err(err)?;
        Ok(())
    }

    /// A staged upload's multipart state (for tests and tools).
    pub async fn multipart_state(&self, id: &str) -> BlobResult<Option<MultipartState>> {
        self.get_json(&self.state_key(id)).await
    }

    async fn tail_bytes(&self, id: &str, state: &MultipartState) -> BlobResult<Bytes> {
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

    async fn delete_quietly(&self, key: &Path) -> BlobResult<()> {
        match self.s3.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(err(e)),
        }
    }

    /// Brings the state of upload `id` back to `len` staged bytes: the state before the last
    /// append, or a shorter tail. Returns the state.
    async fn cut_to(
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

    async fn load_state(&self, id: &str) -> BlobResult<MultipartState> {
        self.multipart_state(id).await?.ok_or(BlobError::NotFound)
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn blob_meta(&self, hash: &MediaHash) -> BlobResult<Option<BlobMeta>> {
        // The metadata is written after the blob: it names only stored blobs.
        self.get_json(&self.meta_key(hash)).await
    }

    async fn put_blob_meta(&self, hash: &MediaHash, meta: &BlobMeta) -> BlobResult<()> {
        self.put_json(&self.meta_key(hash), meta).await
    }

    async fn read_blob(&self, hash: &MediaHash, range: Range<u64>) -> BlobResult<ByteStream> {
        if range.start >= range.end {
            return Ok(Box::pin(futures_util::stream::empty()));
        }
        // `0..u64::MAX` is "all of it": no Range header (an empty object has no range).
        let options = if range.start == 0 && range.end == u64::MAX {
            GetOptions::default()
        } else {
            GetOptions::default().with_range(Some(GetRange::Bounded(range)))
        };
        let got = self
            .s3
            .get_opts(&self.blob_key(hash), options)
            .await
            .map_err(err)?;
        Ok(Box::pin(got.into_stream().map_err(io::Error::other)))
    }

    async fn thumbnail(&self, hash: &MediaHash) -> BlobResult<Option<Bytes>> {
        let Some(got) = found(self.s3.get(&self.thumb_key(hash)).await)? else {
            return Ok(None);
        };
        Ok(Some(got.bytes().await.map_err(err)?))
    }

    async fn put_thumbnail(&self, hash: &MediaHash, jpeg: Bytes) -> BlobResult<()> {
        self.s3
            .put(&self.thumb_key(hash), PutPayload::from(jpeg))
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn create_staged(&self, upload: &StagedUpload) -> BlobResult<()> {
        if !upload.completed {
            let state = MultipartState {
                hash: upload.sha256.clone(),
                length: upload.length,
                part_size: part_size(upload.length),
                upload_id: None,
                parts: Vec::new(),
                tail: 0,
                previous: None,
            };
            self.put_json(&self.state_key(&upload.id), &state).await?;
        }
        self.put_json(&self.upload_key(&upload.id), upload).await
    }

    async fn update_staged(&self, upload: &StagedUpload) -> BlobResult<()> {
        self.put_json(&self.upload_key(&upload.id), upload).await
    }

    async fn staged(&self, id: &str) -> BlobResult<Option<(StagedUpload, u64)>> {
        let Some(upload) = self.get_json::<StagedUpload>(&self.upload_key(id)).await? else {
            return Ok(None);
        };
        let len = match self.multipart_state(id).await? {
            Some(state) => state.staged(),
            // A completed upload's bytes became the blob.
            None if upload.completed => upload.length,
            None => return Ok(None),
        };
        Ok(Some((upload, len)))
    }

    async fn list_staged(&self) -> BlobResult<Vec<StagedUpload>> {
        let staging = self.key(&["staging"]);
        let keys: Vec<Path> = self
            .s3
            .list(Some(&staging))
            .map_ok(|meta| meta.location)
            .try_filter(|key| futures_util::future::ready(key.filename() == Some("upload.json")))
            .try_collect()
            .await
            .map_err(err)?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(upload) = self.get_json(&key).await? {
                out.push(upload);
            }
        }
        Ok(out)
    }

    async fn append_staged(&self, id: &str, offset: u64) -> BlobResult<Box<dyn StagedWriter>> {
        let state = self.load_state(id).await?;
        let state = self.cut_to(id, state, offset).await?;
        let tail = self.tail_bytes(id, &state).await?;
        let mut buffer = BytesMut::with_capacity(
            usize::try_from(state.part_size)
                .unwrap_or(usize::MAX)
                .min(64 << 20),
        );
        buffer.extend_from_slice(&tail);
        Ok(Box::new(S3StagedWriter {
            store: self.clone(),
            id: id.to_owned(),
            start: state.clone(),
            state,
            buffer,
            in_flight: VecDeque::new(),
        }))
    }

    async fn truncate_staged(&self, id: &str, len: u64) -> BlobResult<()> {
        let state = self.load_state(id).await?;
        self.cut_to(id, state, len).await?;
        Ok(())
    }

    async fn read_staged(&self, id: &str) -> BlobResult<ByteStream> {
        // Uploaded parts cannot be read before the upload completes; every upload staged in
        // object storage saves its hash state, so nothing needs to read them.
        Err(BlobError::Io(io::Error::other(format!(
            "upload {id}: staged parts in object storage cannot be read back"
        ))))
    }

    async fn commit_staged(&self, id: &str, hash: &MediaHash, meta: &BlobMeta) -> BlobResult<()> {
        let state = self.load_state(id).await?;
        let key = self.blob_key(hash);
        let exists = found(self.s3.head(&key).await)?;
        if exists.is_some() {
            // Stored already (another upload of the same file): one blob.
            if let Some(upload_id) = &state.upload_id {
                match self.s3.abort_multipart(&key, &upload_id.clone()).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(err(e)),
                }
            }
        } else if let Some(upload_id) = &state.upload_id {
            let mut parts: Vec<PartId> = state
                .parts
                .iter()
                .map(|p| PartId {
                    content_id: p.etag.clone(),
                })
                .collect();
            if state.tail > 0 {
                // Normally the last append sent the remainder as the last part.
                let tail = self.tail_bytes(id, &state).await?;
                let part = self
                    .s3
                    .put_part(&key, upload_id, parts.len(), PutPayload::from(tail))
                    .await
                    .map_err(err)?;
                parts.push(part);
            }
            if let Err(e) = self.s3.complete_multipart(&key, upload_id, parts).await {
                // A completion that succeeded before its process stopped is not repeated: the
                // object is there with the upload's length.
                let done = found(self.s3.head(&key).await)?;
                if done.is_none_or(|o| o.size != meta.size) {
                    return Err(err(e));
                }
            }
        } else {
            // No part was ever sent: an empty file, or one that fit in the tail.
            let tail = self.tail_bytes(id, &state).await?;
            self.s3
                .put(&key, PutPayload::from(tail))
                .await
                .map_err(err)?;
        }
        self.put_json(&self.meta_key(hash), meta).await?;
        // The staged bytes are gone; the description stays (completed) until swept.
        let staging = self.staging(id);
        let upload_key = self.upload_key(id);
        let leftovers: Vec<Path> = self
            .s3
            .list(Some(&staging))
            .map_ok(|m| m.location)
            .try_filter(|k| futures_util::future::ready(*k != upload_key))
            .try_collect()
            .await
            .map_err(err)?;
        for key in leftovers {
            self.delete_quietly(&key).await?;
        }
        Ok(())
    }

    async fn list_blobs(&self) -> BlobResult<Vec<MediaHash>> {
        let mut hashes: Vec<MediaHash> = self
            .s3
            .list(Some(&self.key(&["blobs"])))
            .map_err(err)
            .try_filter_map(|m| {
                futures_util::future::ready(Ok(m.location.filename().and_then(|n| n.parse().ok())))
            })
            .try_collect()
            .await?;
        hashes.sort();
        Ok(hashes)
    }

    async fn put_blob(&self, hash: &MediaHash, mut data: ByteStream) -> BlobResult<u64> {
        use sha2::Digest;
        let key = self.blob_key(hash);
        let mut hasher = sha2::Sha256::new();
        let mut size = 0u64;
        // A blob shorter than a part is one PUT (stores refuse empty parts); longer, a
        // multipart upload begun once the first part's worth arrived.
        let mut first: Vec<Bytes> = Vec::new();
        let mut writer: Option<object_store::WriteMultipart> = None;
        let failed: Option<BlobError> = loop {
            let chunk = match data.next().await {
                None => break None,
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => break Some(e.into()),
            };
            hasher.update(&chunk);
            size += chunk.len() as u64;
            if let Some(w) = writer.as_mut() {
                if let Err(e) = w.wait_for_capacity(PARTS_IN_FLIGHT).await {
                    break Some(err(e));
                }
                w.put(chunk);
                continue;
            }
            first.push(chunk);
            if size >= MIN_PART {
                let upload = self.s3.put_multipart(&key).await.map_err(err)?;
                let mut w = object_store::WriteMultipart::new_with_chunk_size(
                    upload,
                    usize::try_from(MIN_PART).unwrap_or(usize::MAX),
                );
                for chunk in first.drain(..) {
                    w.put(chunk);
                }
                writer = Some(w);
            }
        };
        let matches = MediaHash::from_digest(hasher.finalize().into()) == *hash;
        match writer {
            Some(w) if failed.is_some() || !matches => {
                // Aborted before completion: no object appears.
                w.abort().await.map_err(err)?;
            }
            Some(w) => {
                w.finish().await.map_err(err)?;
            }
            None if failed.is_none() && matches => {
                let payload: PutPayload = first.into_iter().collect();
                self.s3.put(&key, payload).await.map_err(err)?;
            }
            None => {}
        }
        match failed {
            Some(e) => Err(e),
            None if !matches => Err(BlobError::Mismatch(hash.clone())),
            None => Ok(size),
        }
    }

    async fn delete_staged(&self, id: &str) -> BlobResult<()> {
        if let Some(state) = self.multipart_state(id).await?
            && let Some(upload_id) = &state.upload_id
        {
            match self
                .s3
                .abort_multipart(&self.blob_key(&state.hash), upload_id)
                .await
            {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(err(e)),
            }
        }
        let keys: Vec<Path> = self
            .s3
            .list(Some(&self.staging(id)))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(err)?;
        for key in keys {
            self.delete_quietly(&key).await?;
        }
        Ok(())
    }
}

type PartTask = tokio::task::JoinHandle<BlobResult<(usize, PartRecord)>>;

/// Appends to a staged upload: cuts what arrives into parts of `part_size`, uploads them
/// (two at a time), and keeps the remainder as the tail.
struct S3StagedWriter {
    store: S3BlobStore,
    id: String,
    /// The state when the append began (what a rollback returns to).
    start: MultipartState,
    state: MultipartState,
    buffer: BytesMut,
    in_flight: VecDeque<PartTask>,
}

impl S3StagedWriter {
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
    async fn write(&mut self, data: Bytes) -> BlobResult<()> {
        self.buffer.extend_from_slice(&data);
        let part = self.part_bytes();
        while self.buffer.len() >= part {
            let chunk = self.buffer.split_to(part).freeze();
            self.send_part(chunk).await?;
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
