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
    BlobMeta, BlobResult, BlobStore, ByteStream, HashProgress, LegacyStaged, Staged, StagedWriter,
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

    async fn begin_staged(&self, id: &str, length: u64, hash: &MediaHash) -> BlobResult<String> {
        timed("begin_staged", self.inner.begin_staged(id, length, hash)).await
    }

    async fn append_staged(
        &self,
        id: &str,
        offset: u64,
        staging: &str,
    ) -> BlobResult<Box<dyn StagedWriter>> {
        let writer = timed(
            "append_staged",
            self.inner.append_staged(id, offset, staging),
        )
        .await?;
        Ok(Box::new(TimedWriter { inner: writer }))
    }

    async fn read_staged(&self, id: &str) -> BlobResult<ByteStream> {
        timed("read_staged", self.inner.read_staged(id)).await
    }

    async fn commit_staged(
        &self,
        id: &str,
        staging: &str,
        hash: &MediaHash,
        meta: &BlobMeta,
    ) -> BlobResult<()> {
        timed(
            "commit_staged",
            self.inner.commit_staged(id, staging, hash, meta),
        )
        .await
    }

    async fn delete_staged(&self, id: &str, staging: &str) -> BlobResult<()> {
        timed("delete_staged", self.inner.delete_staged(id, staging)).await
    }

    async fn legacy_staged(&self) -> BlobResult<Vec<LegacyStaged>> {
        timed("legacy_staged", self.inner.legacy_staged()).await
    }

    async fn forget_legacy_staged(&self, id: &str) -> BlobResult<()> {
        timed("forget_legacy_staged", self.inner.forget_legacy_staged(id)).await
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
