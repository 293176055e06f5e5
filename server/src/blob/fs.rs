//! The embedded blob store: a folder.
//!
//! ```text
//! <root>/blobs/<sha256>            finished blobs, written once
//! <root>/meta/<sha256>.json        their metadata
//! <root>/thumbnails/<sha256>.jpg
//! <root>/staging/<id>.part         staged upload bytes
//! <root>/staging/<id>.json         an older version's description of the upload (imported
//!                                  into the database once, then removed)
//! ```
//!
//! Where an upload stands is the database's (`storage::UploadStore`); a folder needs no
//! staging state: an append writes the `.part` file from the offset saved there, so bytes
//! past it are overwritten. A `.part` holding fewer bytes than were acknowledged (a power
//! cut before the disk had them) is not found: that upload is over.
//!
//! Every name is built from a `MediaHash` (64 hex digits) or an upload id the tus service
//! generated and validated, so no request can name a path outside the root.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use siteproof_core::MediaHash;
use siteproof_core::media::start_writeback;
use tokio::io::AsyncSeekExt;
use tokio::sync::mpsc;
use tokio_util::io::ReaderStream;

use super::{
    BlobError, BlobMeta, BlobResult, BlobStore, ByteStream, LegacyStaged, Staged, StagedUpload,
    StagedWriter,
};

/// The folder of finished blobs under the store's root.
pub const FINISHED_DIR: &str = "blobs";
/// The folder of blob metadata under the store's root.
pub const META_DIR: &str = "meta";

const READ_BUFFER: usize = 256 * 1024;
/// Frames queued between the request task and the writing thread: bounded, so a fast client
/// cannot fill memory when the disk is slower.
const WRITE_QUEUE: usize = 32;
/// Bytes a staged upload writes between two starts of its writeback: its dirty pages never
/// pile up beyond about this much plus what the disk has not caught up with, so the `fsync`
/// before the last chunk's answer finds little to write and other writers on the disk (the
/// database's commits) do not wait behind gigabytes of an upload.
const WRITEBACK_EVERY: u64 = 8 << 20;

/// A [`BlobStore`] in a local folder.
#[derive(Clone, Debug)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// Opens (creating) the store at `root`.
    pub fn open(root: impl AsRef<Path>) -> io::Result<Self> {
        let root = root.as_ref().to_path_buf();
        for sub in [FINISHED_DIR, META_DIR, "thumbnails", "staging"] {
            fs::create_dir_all(root.join(sub))?;
        }
        Ok(Self { root })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of a finished blob (for tests and tools).
    pub fn blob_path(&self, hash: &MediaHash) -> PathBuf {
        self.root.join(FINISHED_DIR).join(hash.as_str())
    }

    fn meta_path(&self, hash: &MediaHash) -> PathBuf {
        self.root.join(META_DIR).join(format!("{hash}.json"))
    }

    fn thumb_path(&self, hash: &MediaHash) -> PathBuf {
        self.root.join("thumbnails").join(format!("{hash}.jpg"))
    }

    fn part_path(&self, id: &str) -> PathBuf {
        self.root.join("staging").join(format!("{id}.part"))
    }

    fn info_path(&self, id: &str) -> PathBuf {
        self.root.join("staging").join(format!("{id}.json"))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> BlobResult<T> + Send + 'static,
) -> BlobResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BlobError::Io(io::Error::other(format!("blob task failed: {e}"))))?
}

/// Writes `bytes` to `path` through a temporary file and a rename: readers see the old
/// content or the new, never half.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> BlobResult<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| BlobError::Corrupt(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn json<T: serde::Serialize>(value: &T) -> BlobResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| BlobError::Corrupt(e.to_string()))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

async fn open_range(path: PathBuf, range: Range<u64>) -> BlobResult<ByteStream> {
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobError::NotFound),
        Err(e) => return Err(e.into()),
    };
    file.seek(SeekFrom::Start(range.start)).await?;
    let limited = tokio::io::AsyncReadExt::take(file, range.end.saturating_sub(range.start));
    Ok(Box::pin(ReaderStream::with_capacity(limited, READ_BUFFER)))
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn blob_meta(&self, hash: &MediaHash) -> BlobResult<Option<BlobMeta>> {
        let (meta, blob) = (self.meta_path(hash), self.blob_path(hash));
        blocking(move || {
            if !blob.is_file() {
                return Ok(None);
            }
            read_json(&meta)
        })
        .await
    }

    async fn put_blob_meta(&self, hash: &MediaHash, meta: &BlobMeta) -> BlobResult<()> {
        let (path, bytes) = (self.meta_path(hash), json(meta)?);
        blocking(move || Ok(write_atomic(&path, &bytes)?)).await
    }

    async fn read_blob(&self, hash: &MediaHash, range: Range<u64>) -> BlobResult<ByteStream> {
        open_range(self.blob_path(hash), range).await
    }

    async fn thumbnail(&self, hash: &MediaHash) -> BlobResult<Option<Bytes>> {
        match tokio::fs::read(self.thumb_path(hash)).await {
            Ok(bytes) => Ok(Some(bytes.into())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn put_thumbnail(&self, hash: &MediaHash, jpeg: Bytes) -> BlobResult<()> {
        let path = self.thumb_path(hash);
        blocking(move || Ok(write_atomic(&path, &jpeg)?)).await
    }

    async fn begin_staged(&self, _id: &str, _length: u64, _hash: &MediaHash) -> BlobResult<String> {
        // The `.part` file is made by the first append: no bytes, no file.
        Ok(String::new())
    }

    async fn legacy_staged(&self) -> BlobResult<Vec<LegacyStaged>> {
        let dir = self.root.join("staging");
        blocking(move || {
            let mut out = Vec::new();
            for entry in fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                let upload = match read_json::<StagedUpload>(&path) {
                    Ok(Some(upload)) => upload,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "an unreadable staged upload description skipped");
                        continue;
                    }
                };
                let stored = match fs::metadata(path.with_extension("part")) {
                    Ok(m) => m.len(),
                    // A completed upload's bytes moved to the blob.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => upload.length,
                    Err(e) => return Err(e.into()),
                };
                let (offset, hashed) = upload.acknowledged(stored);
                out.push(LegacyStaged {
                    upload,
                    offset,
                    hashed,
                    staging: String::new(),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn forget_legacy_staged(&self, id: &str) -> BlobResult<()> {
        let info = self.info_path(id);
        blocking(move || match fs::remove_file(&info) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        })
        .await
    }

    async fn append_staged(
        &self,
        id: &str,
        offset: u64,
        _staging: &str,
    ) -> BlobResult<Box<dyn StagedWriter>> {
        let part = self.part_path(id);
        let file = blocking(move || {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&part)?;
            let len = file.metadata()?.len();
            if len < offset {
                // Acknowledged bytes the disk never had (chunks are not fsynced one by one,
                // and the power went): the upload cannot go on.
                return Err(BlobError::NotFound);
            }
            Ok(file)
        })
        .await?;
        Ok(Box::new(FsStagedWriter::start(file, offset)))
    }

    async fn read_staged(&self, id: &str) -> BlobResult<ByteStream> {
        open_range(self.part_path(id), 0..u64::MAX).await
    }

    async fn commit_staged(
        &self,
        id: &str,
        _staging: &str,
        hash: &MediaHash,
        meta: &BlobMeta,
    ) -> BlobResult<()> {
        let (part, blob, meta_path) = (
            self.part_path(id),
            self.blob_path(hash),
            self.meta_path(hash),
        );
        let (meta_bytes, root, meta) = (json(meta)?, self.root.clone(), meta.clone());
        blocking(move || {
            if blob.is_file() {
                // Stored already (another upload of the same file, or this commit done once).
                match fs::remove_file(&part) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            } else {
                if meta.size == 0 && !part.exists() {
                    // An empty file: no append ever made its `.part`.
                    File::create(&part)?;
                }
                // The bytes reach the disk before the name that says they are complete.
                File::open(&part)?.sync_all()?;
                fs::rename(&part, &blob)?;
                sync_dir(&root.join(FINISHED_DIR))?;
            }
            write_atomic(&meta_path, &meta_bytes)?;
            Ok(())
        })
        .await
    }

    async fn list_blobs(&self) -> BlobResult<Vec<MediaHash>> {
        let dir = self.root.join(FINISHED_DIR);
        blocking(move || {
            let mut out = Vec::new();
            for entry in fs::read_dir(&dir)? {
                // Only names that are hashes: temporary files are not blobs.
                if let Some(hash) = entry?
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<MediaHash>().ok())
                {
                    out.push(hash);
                }
            }
            out.sort();
            Ok(out)
        })
        .await
    }

    async fn check_ready(&self) -> BlobResult<()> {
        // Written where uploads are staged: the folder exists and takes files.
        let probe = self.root.join("staging").join(".ready-probe");
        blocking(move || {
            fs::write(&probe, b"ok")?;
            Ok(fs::remove_file(&probe)?)
        })
        .await
    }

    async fn put_blob(&self, hash: &MediaHash, mut data: ByteStream) -> BlobResult<u64> {
        use futures_util::StreamExt;
        use sha2::Digest;
        use tokio::io::AsyncWriteExt;
        let tmp = self
            .root
            .join("staging")
            .join(format!("put-{}.part", uuid::Uuid::new_v4().simple()));
        let mut file = tokio::fs::File::create(&tmp).await?;
        let mut hasher = sha2::Sha256::new();
        let mut size = 0u64;
        let written: BlobResult<()> = async {
            while let Some(chunk) = data.next().await {
                let chunk = chunk?;
                hasher.update(&chunk);
                size += chunk.len() as u64;
                file.write_all(&chunk).await?;
            }
            file.sync_all().await?;
            Ok(())
        }
        .await;
        drop(file);
        let matches = MediaHash::from_digest(hasher.finalize().into()) == *hash;
        if written.is_err() || !matches {
            tokio::fs::remove_file(&tmp).await?;
            written?;
            return Err(BlobError::Mismatch(hash.clone()));
        }
        let (blob, root) = (self.blob_path(hash), self.root.clone());
        blocking(move || {
            fs::rename(&tmp, &blob)?;
            Ok(sync_dir(&root.join(FINISHED_DIR))?)
        })
        .await?;
        Ok(size)
    }

    async fn delete_staged(&self, id: &str, _staging: &str) -> BlobResult<()> {
        let (part, info) = (self.part_path(id), self.info_path(id));
        blocking(move || {
            for path in [part, info] {
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        })
        .await
    }
}

struct FsStagedWriter {
    tx: Option<mpsc::Sender<Bytes>>,
    /// `None` once awaited: a `JoinHandle` must not be polled after it completed.
    task: Option<tokio::task::JoinHandle<BlobResult<u64>>>,
}

impl FsStagedWriter {
    /// Writes what it is sent to `file` from `offset` on a thread of its own, so the request
    /// task only receives and hashes: the two overlap instead of taking turns.
    fn start(mut file: File, offset: u64) -> Self {
        let (tx, mut rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
        let task = tokio::task::spawn_blocking(move || -> BlobResult<u64> {
            file.seek(SeekFrom::Start(offset))?;
            let (mut len, mut unflushed) = (offset, 0);
            while let Some(data) = rx.blocking_recv() {
                file.write_all(&data)?;
                len += data.len() as u64;
                unflushed += data.len() as u64;
                if unflushed >= WRITEBACK_EVERY {
                    start_writeback(&file);
                    unflushed = 0;
                }
            }
            file.set_len(len)?;
            Ok(len)
        });
        Self {
            tx: Some(tx),
            task: Some(task),
        }
    }

    /// The thread's outcome; after a failed `write` already took it, that it stopped.
    async fn outcome(&mut self) -> BlobResult<u64> {
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|e| BlobError::Io(io::Error::other(format!("blob writer failed: {e}"))))?,
            None => Err(BlobError::Io(io::Error::other("blob writer stopped"))),
        }
    }
}

#[async_trait]
impl StagedWriter for FsStagedWriter {
    async fn write(&mut self, data: Bytes) -> BlobResult<()> {
        let Some(tx) = &self.tx else {
            return Err(BlobError::Io(io::Error::other("writer closed")));
        };
        if tx.send(data).await.is_err() {
            // The thread stopped: its error is the real one.
            self.tx = None;
            return match self.outcome().await {
                Err(e) => Err(e),
                Ok(_) => Err(BlobError::Io(io::Error::other("blob writer stopped"))),
            };
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> BlobResult<Staged> {
        self.tx = None;
        let end = self.outcome().await?;
        Ok(Staged {
            end,
            hashed: None,
            staging: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk that fills mid-upload (`/dev/full` answers every write with ENOSPC): the write
    /// reports the error and finishing afterwards reports one too, instead of panicking on a
    /// finished `JoinHandle` polled again.
    #[tokio::test]
    async fn a_full_disk_fails_the_write_and_the_finish_without_a_panic() {
        let file = OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let mut writer = FsStagedWriter::start(file, 0);
        let mut failed = None;
        for _ in 0..=WRITE_QUEUE + 1 {
            if let Err(e) = writer.write(Bytes::from(vec![7u8; 4096])).await {
                failed = Some(e);
                break;
            }
        }
        let failed = failed.expect("a write fails once the thread stopped");
        assert!(failed.to_string().contains("space"), "{failed}");
        assert!(Box::new(writer).finish().await.is_err());
    }
}
