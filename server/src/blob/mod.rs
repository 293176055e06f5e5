//! Where evidence files live: a [`BlobStore`] holds finished blobs (named by SHA-256, with a
//! little metadata), their thumbnails, and the bytes of staged uploads still arriving. Where
//! an upload stands (its offset, hash state, and the staging state a store hands back after
//! each append) is kept in the database (`storage::UploadStore`), not here.
//!
//! The trait is shaped so an object store fits it as well as a folder: blobs are written
//! once and read by range; a staged upload is appended to through a [`StagedWriter`] (a file
//! append here, multipart parts on S3) and committed under its hash only after the tus
//! service verified the hash. [`FsBlobStore`] is the embedded backend; [`S3BlobStore`]
//! keeps blobs in S3-compatible object storage, staged uploads as multipart uploads.

mod fs;
pub mod migrate;
mod s3;
mod timed;

use std::ops::Range;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use siteproof_core::{MediaHash, RecordId};

pub use fs::{FINISHED_DIR, FsBlobStore, META_DIR};
pub use s3::{
    MIN_PART, MultipartState, PartRecord, S3BlobStore, S3Location, part_size, part_target,
};

/// The embedded blob store's folder in a data directory.
pub const BLOBS_DIR: &str = "blobs";

/// Where a server keeps its blobs: `--blobs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BlobLocation {
    /// `blobs/` in the data directory (the embedded default).
    #[default]
    DataDir,
    /// A folder.
    Folder(std::path::PathBuf),
    /// An S3-compatible bucket, configured by the `AWS_*` environment variables.
    S3(S3Location),
}

impl std::str::FromStr for BlobLocation {
    type Err = String;

    /// `s3://BUCKET/PREFIX` or a folder.
    fn from_str(raw: &str) -> Result<Self, String> {
        match S3Location::parse(raw) {
            Some(s3) => s3.map(Self::S3),
            None if raw.is_empty() => Err("an empty blob location".into()),
            None => Ok(Self::Folder(raw.into())),
        }
    }
}

impl BlobLocation {
    /// Opens the store, `data_dir/blobs` for [`BlobLocation::DataDir`].
    /// Every operation's time goes to the metrics (`blob_op_duration_seconds`).
    pub fn open(&self, data_dir: &std::path::Path) -> BlobResult<std::sync::Arc<dyn BlobStore>> {
        let store: Box<dyn BlobStore> = match self {
            Self::DataDir => Box::new(FsBlobStore::open(data_dir.join(BLOBS_DIR))?),
            Self::Folder(dir) => Box::new(FsBlobStore::open(dir)?),
            Self::S3(s3) => Box::new(S3BlobStore::from_env(s3)?),
        };
        Ok(std::sync::Arc::new(timed::TimedBlobStore::new(store)))
    }
}

/// A stream of bytes read from a blob.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// What went wrong in a blob store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No such blob or staged upload.
    #[error("not found")]
    NotFound,
    /// The backend failed.
    #[error("blob store I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Stored metadata could not be read.
    #[error("blob store metadata: {0}")]
    Corrupt(String),
    /// Bytes given for a blob do not have its hash.
    #[error("the bytes of blob {0} do not have its hash")]
    Mismatch(MediaHash),
}

/// Shorthand for blob store results.
pub type BlobResult<T> = Result<T, BlobError>;

/// A tus upload as an older version described it beside its bytes (`upload.json`, or the
/// `.json` beside the `.part`): read once to import it into the database
/// ([`BlobStore::legacy_staged`]). Uploads are described by the database now
/// (`storage::UploadStore`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedUpload {
    /// The upload's id (random; the last segment of its URL).
    pub id: String,
    /// Total length the client declared.
    pub length: u64,
    /// The SHA-256 the client claims the whole file has.
    pub sha256: MediaHash,
    /// The record that references the file.
    pub record: RecordId,
    /// The device uploading it.
    pub device: String,
    /// MIME type from the metadata (`filetype`), if sent.
    pub mime: String,
    /// When it was created (ms since the epoch).
    pub created_at: i64,
    /// When it expires unless more bytes arrive (ms since the epoch).
    pub expires_at: i64,
    /// True once the blob is stored and verified (also when it already was at creation).
    pub completed: bool,
    /// The whole-file hash over the bytes accepted so far; missing in uploads staged by
    /// still older versions.
    #[serde(default)]
    pub hashed: Option<HashProgress>,
}

impl StagedUpload {
    /// Where the upload stood with `stored` bytes staged: the offset its saved hash covers
    /// (staged bytes past it were never accepted), and that hash state; every staged byte
    /// when it saved none.
    pub(crate) fn acknowledged(&self, stored: u64) -> (u64, Option<HashProgress>) {
        let hashed = self
            .hashed
            .clone()
            .filter(|h| h.bytes <= stored && !self.completed);
        (hashed.as_ref().map_or(stored, |h| h.bytes), hashed)
    }
}

/// An upload an older version staged, as found beside its bytes, brought to where it stood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyStaged {
    /// Its description.
    pub upload: StagedUpload,
    /// The offset it was acknowledged at: what its saved hash covers (or every staged byte
    /// when it saved none).
    pub offset: u64,
    /// The hash state at `offset`, if saved.
    pub hashed: Option<HashProgress>,
    /// What the store needs to continue its bytes from `offset` ([`BlobStore::append_staged`]).
    pub staging: String,
}

/// The saved state of a running SHA-256: what lets another process continue an upload's
/// whole-file hash without reading back what was staged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashProgress {
    /// Bytes hashed.
    pub bytes: u64,
    /// The hash's internal state (the `sha2` crate's serialized form), hex.
    pub state: String,
}

/// What the server keeps about a stored blob besides its bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobMeta {
    /// Size in bytes.
    pub size: u64,
    /// MIME type the first uploader declared.
    pub mime: String,
    /// Records known to reference the blob (those that uploads named).
    pub records: Vec<RecordId>,
}

/// How an append ended: the staged length, the whole-file hash state there when it is not
/// everything written (a part that failed: the upload keeps the parts stored before it), and
/// the staging state to continue from `end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staged {
    /// Bytes staged.
    pub end: u64,
    /// The hash state at `end`, given at a part boundary; `None` when `end` is everything
    /// written.
    pub hashed: Option<HashProgress>,
    /// What the store needs to continue the upload from `end`: saved with the upload's offset
    /// in the database, it counts once saved. Until then the upload continues from the
    /// staging state it had (the bytes past its offset are overwritten).
    pub staging: String,
}

/// Appends the bytes of one tus `PATCH` to a staged upload.
///
/// A writer that cuts the bytes into parts says where its next part ends ([`room`]); the
/// caller writes no more than that, then hands it the whole-file hash state of every byte
/// written so far ([`boundary`]), which sends the part. Should a later part fail, the
/// append keeps the parts stored before it and [`finish`] returns that hash state with its
/// end.
///
/// [`room`]: StagedWriter::room
/// [`boundary`]: StagedWriter::boundary
/// [`finish`]: StagedWriter::finish
#[async_trait]
pub trait StagedWriter: Send {
    /// Bytes it takes before its next part boundary; `None`: it has no boundaries.
    fn room(&self) -> Option<u64> {
        None
    }
    /// Appends `data` (no more than [`StagedWriter::room`]).
    async fn write(&mut self, data: Bytes) -> BlobResult<()>;
    /// At a part boundary (`room` is 0): the whole-file hash state of every byte written.
    async fn boundary(&mut self, _hashed: HashProgress) -> BlobResult<()> {
        Ok(())
    }
    /// Ends the append and returns the staged length. Dropping a writer without finishing
    /// leaves an undefined tail that the caller truncates.
    async fn finish(self: Box<Self>) -> BlobResult<Staged>;
}

/// The blob store behind the media endpoints.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// A stored blob's metadata, or `None` if there is no such blob.
    async fn blob_meta(&self, hash: &MediaHash) -> BlobResult<Option<BlobMeta>>;
    /// Replaces a stored blob's metadata.
    async fn put_blob_meta(&self, hash: &MediaHash, meta: &BlobMeta) -> BlobResult<()>;
    /// Bytes `range` of a stored blob.
    async fn read_blob(&self, hash: &MediaHash, range: Range<u64>) -> BlobResult<ByteStream>;
    /// A stored thumbnail (JPEG).
    async fn thumbnail(&self, hash: &MediaHash) -> BlobResult<Option<Bytes>>;
    /// Stores a thumbnail (JPEG).
    async fn put_thumbnail(&self, hash: &MediaHash, jpeg: Bytes) -> BlobResult<()>;

    /// Prepares a new staged upload of `length` bytes that will become blob `hash`; returns
    /// its staging state, which the caller saves with the upload before any byte arrives
    /// (on S3: the multipart upload begun for it).
    async fn begin_staged(&self, id: &str, length: u64, hash: &MediaHash) -> BlobResult<String>;
    /// A writer appending at `offset`, the upload's acknowledged offset, with the staging
    /// state saved there: staged bytes past it are overwritten. [`BlobError::NotFound`] if
    /// acknowledged bytes are gone.
    async fn append_staged(
        &self,
        id: &str,
        offset: u64,
        staging: &str,
    ) -> BlobResult<Box<dyn StagedWriter>>;
    /// Every staged byte, for verifying a file whose hash state an older version did not
    /// save.
    async fn read_staged(&self, id: &str) -> BlobResult<ByteStream>;
    /// Durably stores the staged bytes as blob `hash` with `meta`, and drops the staged
    /// bytes. If the blob exists already the staged copy is simply dropped: one blob. Done
    /// again after it succeeded, it changes nothing.
    async fn commit_staged(
        &self,
        id: &str,
        staging: &str,
        hash: &MediaHash,
        meta: &BlobMeta,
    ) -> BlobResult<()>;
    /// Drops a staged upload's bytes (none left is no error).
    async fn delete_staged(&self, id: &str, staging: &str) -> BlobResult<()>;
    /// The uploads an older version described beside their bytes, to import into the
    /// database once.
    async fn legacy_staged(&self) -> BlobResult<Vec<LegacyStaged>>;
    /// Drops an older version's description of upload `id` (once imported); its bytes stay.
    async fn forget_legacy_staged(&self, id: &str) -> BlobResult<()>;

    /// Every stored blob's hash (for migrating between stores).
    async fn list_blobs(&self) -> BlobResult<Vec<MediaHash>>;
    /// Stores `data` as blob `hash` (no metadata yet), hashing it as it streams: bytes whose
    /// SHA-256 is not `hash` store nothing and fail with [`BlobError::Mismatch`]. Returns
    /// the size.
    async fn put_blob(&self, hash: &MediaHash, data: ByteStream) -> BlobResult<u64>;
    /// Whether the store can be used now (`/readyz`): the folder is there and writable, or
    /// the bucket answers. Cheap enough to run on every readiness probe.
    async fn check_ready(&self) -> BlobResult<()>;
}
