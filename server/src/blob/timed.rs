//! Every blob store's operations timed into the metrics (`blob_op_duration_seconds`, by
//! operation): [`super::BlobLocation::open`] wraps the store it opens, so each backend is
//! measured the same way and none of them knows about metrics. A streamed read is timed until
//! its stream is ready (the first byte's latency), an append per chunk written.

use std::future::Future;
use std::ops::Range;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use siteproof_core::MediaHash;

use super::{
    BlobMeta, BlobResult, BlobStore, ByteStream, HashProgress, IdStream, Staged, StagedUpload,
    StagedWriter,
};
use crate::metrics;

/// A blob store whose operations are timed.
pub(super) struct TimedBlobStore {
    inner: Box<dyn BlobStore>,
}

impl TimedBlobStore {
    pub(super) fn new(inner: Box<dyn BlobStore>) -> Self {
        Self { inner }
    }
}

async fn timed<T>(op: &'static str, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = work.await;
    metrics::blob_op(op, started.elapsed());
    out
}

#[async_trait]
impl BlobStore for TimedBlobStore {
    async fn blob_meta(&self, hash: &MediaHash) -> BlobResult<Option<BlobMeta>> {
        timed("blob_meta", self.inner.blob_meta(hash)).await
    }

    async fn put_blob_meta(&self, hash: &MediaHash, meta: &BlobMeta) -> BlobResult<()> {
        timed("put_blob_meta", self.inner.put_blob_meta(hash, meta)).await
    }

    async fn read_blob(&self, hash: &MediaHash, range: Range<u64>) -> BlobResult<ByteStream> {
        timed("read_blob", self.inner.read_blob(hash, range)).await
    }

    async fn thumbnail(&self, hash: &MediaHash) -> BlobResult<Option<Bytes>> {
        timed("thumbnail", self.inner.thumbnail(hash)).await
    }

    async fn put_thumbnail(&self, hash: &MediaHash, jpeg: Bytes) -> BlobResult<()> {
        timed("put_thumbnail", self.inner.put_thumbnail(hash, jpeg)).await
    }

    async fn create_staged(&self, upload: &StagedUpload) -> BlobResult<()> {
        timed("create_staged", self.inner.create_staged(upload)).await
    }

    async fn update_staged(&self, upload: &StagedUpload) -> BlobResult<()> {
        timed("update_staged", self.inner.update_staged(upload)).await
    }

    async fn staged(&self, id: &str) -> BlobResult<Option<(StagedUpload, u64)>> {
        timed("staged", self.inner.staged(id)).await
    }

    async fn list_staged(&self) -> BlobResult<Vec<StagedUpload>> {
        timed("list_staged", self.inner.list_staged()).await
    }

    fn expired_staged(&self, before: i64) -> IdStream {
        // A stream walked at the caller's pace: its time is the sweep's, not one operation's.
        self.inner.expired_staged(before)
    }

    async fn append_staged(&self, id: &str, offset: u64) -> BlobResult<Box<dyn StagedWriter>> {
        let writer = timed("append_staged", self.inner.append_staged(id, offset)).await?;
        Ok(Box::new(TimedWriter { inner: writer }))
    }

    async fn truncate_staged(&self, id: &str, len: u64) -> BlobResult<()> {
        timed("truncate_staged", self.inner.truncate_staged(id, len)).await
    }

    async fn read_staged(&self, id: &str) -> BlobResult<ByteStream> {
        timed("read_staged", self.inner.read_staged(id)).await
    }

    async fn commit_staged(&self, id: &str, hash: &MediaHash, meta: &BlobMeta) -> BlobResult<()> {
        timed("commit_staged", self.inner.commit_staged(id, hash, meta)).await
    }

    async fn delete_staged(&self, id: &str) -> BlobResult<()> {
        timed("delete_staged", self.inner.delete_staged(id)).await
    }

    async fn list_blobs(&self) -> BlobResult<Vec<MediaHash>> {
        timed("list_blobs", self.inner.list_blobs()).await
    }

    async fn put_blob(&self, hash: &MediaHash, data: ByteStream) -> BlobResult<u64> {
        timed("put_blob", self.inner.put_blob(hash, data)).await
    }

    async fn check_ready(&self) -> BlobResult<()> {
        timed("check_ready", self.inner.check_ready()).await
    }
}

/// A staged upload's writer whose chunks are timed.
struct TimedWriter {
    inner: Box<dyn StagedWriter>,
}

#[async_trait]
impl StagedWriter for TimedWriter {
    fn room(&self) -> Option<u64> {
        self.inner.room()
    }

    async fn write(&mut self, data: Bytes) -> BlobResult<()> {
        timed("append_write", self.inner.write(data)).await
    }

    async fn boundary(&mut self, hashed: HashProgress) -> BlobResult<()> {
        timed("append_part", self.inner.boundary(hashed)).await
    }

    async fn finish(self: Box<Self>) -> BlobResult<Staged> {
        timed("append_finish", self.inner.finish()).await
    }
}
