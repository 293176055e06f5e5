//! [`UploadStore`]: where each tus upload stands, kept in the database every process shares,
//! so whichever process a request reaches reads the same upload: its declared length and
//! claimed hash, who uploads it, its expiry, the offset acknowledged to the client, the
//! whole-file SHA-256 state at that offset, and what the blob store needs to continue its
//! staged bytes (on S3: the multipart upload's id, its parts and tail). The blob store keeps
//! only bytes.
//!
//! Two rules hold across processes:
//! - An acknowledged offset moves only through [`UploadStore::save_upload`], and only for the
//!   holder of the upload's lease ([`super::UploadLeaseStore`]) and from the offset it read: a
//!   process that lost the lease, or read a row another process has moved on since, saves
//!   nothing, so an offset never goes back and no chunk is counted twice.
//! - [`UploadStore::expired_uploads`] never names an upload whose lease is live: the expiry
//!   sweep removes no upload a process is appending to.
//!
//! Times are milliseconds since the Unix epoch on the calling process's clock, as for the
//! leases.

use async_trait::async_trait;

use super::StorageResult;

/// One tus upload's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadRow {
    /// The upload's id (random; the last segment of its URL).
    pub id: String,
    /// Total length the client declared.
    pub length: u64,
    /// The SHA-256 the client claims the whole file has (hex).
    pub sha256: String,
    /// The record that references the file.
    pub record: String,
    /// The device uploading it.
    pub device: String,
    /// MIME type from the metadata (`filetype`).
    pub mime: String,
    /// When it was created.
    pub created_at: i64,
    /// When it expires unless more bytes arrive.
    pub expires_at: i64,
    /// Where it stands now.
    pub progress: UploadProgress,
}

/// What moves as an upload's bytes arrive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadProgress {
    /// Bytes acknowledged to the client (`Upload-Offset`). Staged bytes beyond it were never
    /// acknowledged and are overwritten by the next `PATCH`.
    pub offset: u64,
    /// The whole-file SHA-256 state after `offset` bytes (the hash's serialized form, hex);
    /// `None` only for an upload staged by an older version that saved none.
    pub hash_state: Option<String>,
    /// What the blob store needs to continue the staged bytes from `offset` (opaque here;
    /// empty for a folder).
    pub staging: String,
    /// True once the blob is stored and verified (also when it already was at creation).
    pub completed: bool,
}

/// The tus uploads' rows.
#[async_trait]
pub trait UploadStore: Send + Sync + 'static {
    /// Adds an upload; `false` (and no change) if one with its id exists already.
    async fn insert_upload(&self, upload: &UploadRow) -> StorageResult<bool>;
    /// Upload `id`, if there is one.
    async fn upload(&self, id: &str) -> StorageResult<Option<UploadRow>>;
    /// Sets a new upload's staging state (what its blob store began for it), before any byte
    /// arrived: only while the offset is 0 and nothing was saved over it.
    async fn begin_upload(&self, id: &str, staging: &str) -> StorageResult<bool>;
    /// Atomically, across processes: saves `progress` and `expires_at` for upload `id` only if
    /// `holder` holds the upload's lease, live at `now`, and the upload is still at offset
    /// `from`, not completed. Returns whether it saved.
    async fn save_upload(
        &self,
        id: &str,
        holder: &str,
        now: i64,
        from: u64,
        progress: &UploadProgress,
        expires_at: i64,
    ) -> StorageResult<bool>;
    /// Up to `limit` uploads (complete or not) that expired before `before`, oldest first,
    /// leaving out those whose lease is live at `now`.
    async fn expired_uploads(
        &self,
        before: i64,
        now: i64,
        limit: u32,
    ) -> StorageResult<Vec<String>>;
    /// Removes upload `id`'s row (its bytes are the blob store's to drop first).
    async fn delete_upload(&self, id: &str) -> StorageResult<()>;
    /// Every upload, by id (for tools and tests).
    async fn uploads(&self) -> StorageResult<Vec<UploadRow>>;
}
