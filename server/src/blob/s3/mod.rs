//! Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, Garage), through the
//! `object_store` crate.
//!
//! ```text
//! <prefix>/blobs/<sha256>                  finished blobs (completed multipart uploads)
//! <prefix>/meta/<sha256>.json              their metadata
//! <prefix>/thumbnails/<sha256>.jpg
//! <prefix>/staging/<id>/tail-<end>         bytes after the last part, shorter than a part
//! <prefix>/staging/<id>/upload.json        an older version's description of the upload and
//! <prefix>/staging/<id>/multipart.json     its multipart state (imported into the database
//!                                          once, then removed)
//! ```
//!
//! A staged upload is a multipart upload created at the blob's content address (the claimed
//! hash): completing it after the whole-file hash matched puts the object in place with no
//! copy; a mismatch aborts it and nothing is stored. Every part but the last is at least
//! `part_size` bytes (5 MiB, S3's rule, or more so that no upload needs more than 10,000
//! parts) whatever the client's chunk size: a `PATCH` is cut into parts of `part_target`
//! bytes, up to three in flight at once, and what is left at its end, if shorter than
//! `part_size`, is kept as a small tail object, which the next `PATCH` (on any process)
//! prepends. The upload advances only over the parts stored in order.
//!
//! The multipart upload's id, its parts (number, ETag, size) and its tail's length are the
//! upload's staging state ([`MultipartState`]), which the tus service saves with the upload's
//! offset in the database: whichever process the next `PATCH` reaches continues from the
//! state saved with the offset it acknowledged. An append that is never saved (its chunk
//! failed its checksum, its process stopped) counts for nothing: the next one sends its
//! parts again under the same numbers and writes its own tail. The multipart upload is
//! begun with the upload, so the database names it before any part is sent and the expiry
//! sweep can abort it.

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, Checksum};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};
use serde::Serialize;
use siteproof_core::MediaHash;

use super::{
    BlobError, BlobMeta, BlobResult, BlobStore, ByteStream, LegacyStaged, StagedUpload,
    StagedWriter,
};

mod location;
mod multipart;

pub use location::S3Location;
pub use multipart::{MIN_PART, MultipartState, PartRecord, part_size, part_target};
use multipart::{PARTS_IN_FLIGHT, S3StagedWriter};

/// A [`BlobStore`] in an S3-compatible bucket.
#[derive(Clone, Debug)]
pub struct S3BlobStore {
    s3: Arc<AmazonS3>,
    /// The client as configured before part checksums, for the parts of multipart uploads
    /// begun without them (by an older version): such an upload cannot mix the two.
    unchecked: Arc<AmazonS3>,
    prefix: Path,
    /// The staging objects this process last read or wrote, by key: their ETag and bytes.
    seen: Arc<Mutex<SeenObjects>>,
}

/// Staging objects (`upload.json`, `multipart.json`) as this process last read or wrote
/// them. Never trusted on its own: a read asks the store for the object only if its ETag
/// changed (`If-None-Match`), so another process's write is always seen. It saves the body
/// of the answer, which matters on stores that send a small body in a segment of its own
/// (Garage): the receiver's delayed ACK then holds the body back ~40 ms, twice per `PATCH`,
/// where a `304 Not Modified` answer is one segment.
#[derive(Debug, Default)]
struct SeenObjects {
    objects: HashMap<Path, (String, Bytes)>,
    bytes: usize,
}

impl SeenObjects {
    /// Upper bound on the bytes held (the oldest do not matter: all go when it is reached).
    const MAX_BYTES: usize = 4 << 20;

    fn get(&self, key: &Path) -> Option<(String, Bytes)> {
        self.objects.get(key).cloned()
    }

    fn insert(&mut self, key: &Path, e_tag: Option<String>, body: Bytes) {
        self.remove(key);
        let Some(e_tag) = e_tag else { return };
        if self.bytes + body.len() > Self::MAX_BYTES {
            self.objects.clear();
            self.bytes = 0;
            if body.len() > Self::MAX_BYTES {
                return;
            }
        }
        self.bytes += body.len();
        self.objects.insert(key.clone(), (e_tag, body));
    }

    fn remove(&mut self, key: &Path) {
        if let Some((_, body)) = self.objects.remove(key) {
            self.bytes -= body.len();
        }
    }
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
    ///
    /// Unless `AWS_UNSIGNED_PAYLOAD` or `AWS_CHECKSUM_ALGORITHM` say otherwise, a request's
    /// body is not hashed into its signature (SHA-256, which the store hashes again to check)
    /// but sent with an `x-amz-checksum-crc64nvme` the store checks (a CRC, a small fraction of
    /// a SHA-256's work): every part is still checked on arrival, at a fraction of the CPU.
    pub fn from_env(location: &S3Location) -> BlobResult<Self> {
        Ok(Self {
            s3: Arc::new(Self::client(location, true)?),
            unchecked: Arc::new(Self::client(location, false)?),
            prefix: Path::from(location.prefix.as_str()),
            seen: Arc::default(),
        })
    }

    /// A client from the environment and `location`'s settings, with part checksums (and
    /// unsigned payloads) by default if `checked`.
    fn client(location: &S3Location, checked: bool) -> BlobResult<AmazonS3> {
        let mut builder = AmazonS3Builder::from_env();
        if checked {
            let unset = |name: &str| std::env::var_os(name).is_none();
            if unset("AWS_UNSIGNED_PAYLOAD") {
                builder = builder.with_unsigned_payload(true);
            }
            if unset("AWS_CHECKSUM_ALGORITHM") {
                builder = builder.with_checksum_algorithm(Checksum::CRC64NVME);
            }
        }
        for (key, value) in &location.settings {
            let key: AmazonS3ConfigKey = key.to_ascii_lowercase().parse().map_err(err)?;
            builder = builder.with_config(key, value);
        }
        builder
            .with_bucket_name(&location.bucket)
            .build()
            .map_err(err)
    }

    /// The client for the parts of the upload in `state`.
    fn parts_client(&self, state: &MultipartState) -> &Arc<AmazonS3> {
        if state.upload_id.is_none() || state.part_checksums {
            &self.s3
        } else {
            &self.unchecked
        }
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
        let Some(bytes) = self.get_small(key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| BlobError::Corrupt(format!("{key}: {e}")))
    }

    /// A small object's bytes: the ones this process saw last if the store says they did
    /// not change, else the store's.
    async fn get_small(&self, key: &Path) -> BlobResult<Option<Bytes>> {
        let seen = self.seen_objects().get(key);
        let options = GetOptions::default().with_if_none_match(seen.as_ref().map(|s| s.0.clone()));
        let got = match self.s3.get_opts(key, options).await {
            Err(object_store::Error::NotModified { .. }) if seen.is_some() => {
                return Ok(seen.map(|s| s.1));
            }
            got => got,
        };
        let Some(got) = found(got)? else {
            self.seen_objects().remove(key);
            return Ok(None);
        };
        let e_tag = got.meta.e_tag.clone();
        let bytes = got.bytes().await.map_err(err)?;
        self.seen_objects().insert(key, e_tag, bytes.clone());
        Ok(Some(bytes))
    }

    fn seen_objects(&self) -> std::sync::MutexGuard<'_, SeenObjects> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn put_json<T: Serialize>(&self, key: &Path, value: &T) -> BlobResult<()> {
        let body = json(value)?;
        self.seen_objects().remove(key);
        let put = self
            .s3
            .put(key, PutPayload::from(body.clone()))
            .await
            .map_err(err)?;
        self.seen_objects().insert(key, put.e_tag, body);
        Ok(())
    }

    /// Every object under upload `id`'s staging prefix: its tails (and an older version's
    /// description).
    async fn delete_staging_objects(&self, id: &str) -> BlobResult<()> {
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

    async fn delete_quietly(&self, key: &Path) -> BlobResult<()> {
        self.seen_objects().remove(key);
        match self.s3.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(err(e)),
        }
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

    async fn begin_staged(&self, _id: &str, length: u64, hash: &MediaHash) -> BlobResult<String> {
        let mut state = MultipartState {
            hash: hash.clone(),
            length,
            part_size: part_size(length),
            upload_id: None,
            parts: Vec::new(),
            tail: 0,
            previous: None,
            stale_tail: None,
            part_checksums: true,
        };
        if length > 0 {
            // Begun now, so the row names it before any part exists (an empty file is one
            // PUT at completion).
            let key = self.blob_key(hash);
            state.upload_id = Some(self.s3.create_multipart(&key).await.map_err(err)?);
        }
        state.to_staging()
    }

    async fn legacy_staged(&self) -> BlobResult<Vec<LegacyStaged>> {
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
            let upload: StagedUpload = match self.get_json(&key).await {
                Ok(Some(upload)) => upload,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "an unreadable staged upload description skipped");
                    continue;
                }
            };
            let id = upload.id.clone();
            let Some(state) = self.legacy_multipart_state(&id).await? else {
                if upload.completed {
                    // A completed upload's bytes became the blob.
                    let offset = upload.length;
                    out.push(LegacyStaged {
                        upload,
                        offset,
                        hashed: None,
                        staging: String::new(),
                    });
                }
                continue;
            };
            let (offset, hashed) = upload.acknowledged(state.staged());
            match self.cut_to(&id, state, offset).await {
                Ok(state) => out.push(LegacyStaged {
                    upload,
                    offset,
                    hashed,
                    staging: state.to_staging()?,
                }),
                Err(e) => tracing::warn!(upload = %id, error = %e, "a staged upload skipped"),
            }
        }
        Ok(out)
    }

    async fn forget_legacy_staged(&self, id: &str) -> BlobResult<()> {
        self.delete_quietly(&self.upload_key(id)).await?;
        self.delete_quietly(&self.state_key(id)).await
    }

    async fn append_staged(
        &self,
        id: &str,
        offset: u64,
        staging: &str,
    ) -> BlobResult<Box<dyn StagedWriter>> {
        let mut state = MultipartState::from_staging(staging)?;
        if state.staged() != offset {
            return Err(BlobError::Corrupt(format!(
                "upload {id}: a staging state of {} bytes at offset {offset}",
                state.staged()
            )));
        }
        if let Some(stale) = state.stale_tail.take() {
            self.delete_quietly(&self.tail_key(id, stale)).await?;
        }
        let tail = self.tail_bytes(id, &state).await?;
        Ok(Box::new(S3StagedWriter::new(self.clone(), id, state, tail)))
    }

    async fn read_staged(&self, id: &str) -> BlobResult<ByteStream> {
        // Uploaded parts cannot be read before the upload completes; every upload staged in
        // object storage saves its hash state, so nothing needs to read them.
        Err(BlobError::Io(io::Error::other(format!(
            "upload {id}: staged parts in object storage cannot be read back"
        ))))
    }

    async fn commit_staged(
        &self,
        id: &str,
        staging: &str,
        hash: &MediaHash,
        meta: &BlobMeta,
    ) -> BlobResult<()> {
        let state = MultipartState::from_staging(staging)?;
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
                    .parts_client(&state)
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
        // The staged bytes are gone; the row stays (completed) until swept.
        self.delete_staging_objects(id).await
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

    async fn check_ready(&self) -> BlobResult<()> {
        // One level under the prefix (a handful of folders): a missing bucket or refused
        // credentials fail here, where a HEAD of a missing key could not tell them apart.
        self.s3
            .list_with_delimiter(Some(&self.prefix))
            .await
            .map(|_| ())
            .map_err(err)
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

    async fn delete_staged(&self, id: &str, staging: &str) -> BlobResult<()> {
        let state = match staging {
            // No multipart upload was begun (the blob was stored already at creation).
            "" => None,
            staging => Some(MultipartState::from_staging(staging)?),
        };
        if let Some(state) = state
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
        self.delete_staging_objects(id).await
    }
}
