//! Copying every blob from one store to another (a folder to a bucket, or back): each blob
//! is hashed as it streams into the destination and stored only if its hash is its name;
//! its metadata and thumbnail follow. A blob whose metadata is at the destination already
//! is skipped, so a migration cut short is simply run again.

use futures_util::StreamExt;
use siteproof_core::MediaHash;

use super::{BlobError, BlobResult, BlobStore};

/// What happened to one blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Moved {
    /// Copied and verified, with this many bytes.
    Copied(u64),
    /// At the destination already.
    Present,
    /// Its bytes do not have its hash (damaged at the source): not copied.
    Damaged,
    /// No metadata at the source (an interrupted commit there): not copied.
    NoMeta,
}

/// The outcome of a migration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrateReport {
    /// Blobs copied.
    pub copied: usize,
    /// Bytes copied.
    pub bytes: u64,
    /// Blobs at the destination already.
    pub present: usize,
    /// Blobs whose bytes do not have their hash.
    pub damaged: Vec<MediaHash>,
    /// Blobs without metadata at the source.
    pub without_meta: Vec<MediaHash>,
}

/// Copies blob `hash` from `from` to `to`.
pub async fn migrate_one(
    from: &dyn BlobStore,
    to: &dyn BlobStore,
    hash: &MediaHash,
) -> BlobResult<Moved> {
    if to.blob_meta(hash).await?.is_some() {
        return Ok(Moved::Present);
    }
    let Some(meta) = from.blob_meta(hash).await? else {
        return Ok(Moved::NoMeta);
    };
    let data = from.read_blob(hash, 0..meta.size).await?;
    let size = match to.put_blob(hash, data).await {
        Ok(size) => size,
        Err(BlobError::Mismatch(_)) => return Ok(Moved::Damaged),
        Err(e) => return Err(e),
    };
    if size != meta.size {
        return Ok(Moved::Damaged);
    }
    if let Some(jpeg) = from.thumbnail(hash).await? {
        to.put_thumbnail(hash, jpeg).await?;
    }
    // Last: the metadata says the blob is complete.
    to.put_blob_meta(hash, &meta).await?;
    Ok(Moved::Copied(size))
}

/// Copies every blob of `from` to `to`, calling `progress(done, total, hash, moved)` after
/// each.
pub async fn migrate(
    from: &dyn BlobStore,
    to: &dyn BlobStore,
    mut progress: impl FnMut(usize, usize, &MediaHash, &Moved),
) -> BlobResult<MigrateReport> {
    let hashes = from.list_blobs().await?;
    let mut report = MigrateReport::default();
    let total = hashes.len();
    let mut results = futures_util::stream::iter(hashes.iter())
        .map(|hash| async move { (hash, migrate_one(from, to, hash).await) })
        .buffered(2);
    let mut done = 0;
    while let Some((hash, moved)) = results.next().await {
        let moved = moved?;
        done += 1;
        progress(done, total, hash, &moved);
        match moved {
            Moved::Copied(bytes) => {
                report.copied += 1;
                report.bytes += bytes;
            }
            Moved::Present => report.present += 1,
            Moved::Damaged => report.damaged.push(hash.clone()),
            Moved::NoMeta => report.without_meta.push(hash.clone()),
        }
    }
    Ok(report)
}
