//! Object-storage fixtures: a real Garage node per test (`garage.rs`), the keys of a bucket,
//! and what a test asserts about an upload from the bucket's own state: every part but the
//! last at least 5 MiB while it goes on, and the stored object's bytes and part layout at
//! the end.
#![allow(dead_code)]

mod garage;

use std::sync::Arc;

use futures_util::TryStreamExt;
use md5::Md5;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use siteproof_core::MediaHash;
use siteproof_server::SyncStorage;
use siteproof_server::blob::{MIN_PART, MultipartState, S3BlobStore, part_size, part_target};

pub use garage::Garage;

/// Every key under `prefix` in the store's bucket, sorted.
pub async fn keys(store: &S3BlobStore, prefix: &str) -> Vec<String> {
    let s3: Arc<dyn ObjectStore> = store.object_store();
    let mut keys: Vec<String> = s3
        .list(Some(&Key::from(prefix)))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .expect("list");
    keys.sort();
    keys
}

/// Reads the multipart state of every incomplete upload in `storage` (saved with its offset
/// in the database) and asserts that each part sent is at least 5 MiB, each tail shorter
/// than a part, and the parts and tail hold every acknowledged byte. Returns how many parts
/// they hold. Called between two PATCHes, when no append is under way.
pub async fn assert_staged_parts_of_at_least_5_mib(storage: &dyn SyncStorage) -> usize {
    let mut parts = 0;
    for row in storage.upload_store().uploads().await.expect("uploads") {
        if row.progress.completed {
            continue;
        }
        let id = &row.id;
        let state = MultipartState::from_staging(&row.progress.staging).expect("staging state");
        assert!(state.tail < state.part_size, "upload {id}: {state:?}");
        assert_eq!(
            state.staged(),
            row.progress.offset,
            "upload {id}: {state:?}"
        );
        for part in &state.parts {
            assert!(
                part.size >= MIN_PART,
                "upload {id}: a non-final part of {} bytes",
                part.size
            );
        }
        parts += state.parts.len();
    }
    parts
}

/// The part sizes an upload of `len` bytes sent in `PATCH`es ending at `patch_ends` is
/// stored in, by the rule the server documents: a `PATCH`'s bytes (after the tail the
/// previous one left) are cut into parts of `part_target` bytes as they arrive; what is left
/// at its end is one more part if it is at least the part size or ends the file, else the
/// tail, which the next `PATCH` begins with.
pub fn expected_parts(len: u64, patch_ends: &[u64]) -> Vec<u64> {
    let (part, target) = (part_size(len), part_target(part_size(len)));
    let (mut parts, mut buffered, mut offset) = (Vec::new(), 0, 0);
    for &end in patch_ends {
        let mut arriving = end - offset;
        while buffered + arriving >= target {
            arriving -= target - buffered;
            parts.push(target);
            buffered = 0;
        }
        buffered += arriving;
        if buffered > 0 && (buffered >= part || end == len) {
            parts.push(buffered);
            buffered = 0;
        }
        offset = end;
    }
    assert_eq!(offset, len, "the PATCHes end at the file's end");
    parts
}

/// Asserts that the object at `hash` holds `data` (its SHA-256 is the hash) and was stored
/// as a multipart upload of the parts [`expected_parts`] gives for `PATCH`es ending at
/// `patch_ends`: its ETag is S3's MD5 of those parts' MD5s followed by their count (Garage
/// computes it as AWS does). Returns the number of parts.
pub async fn assert_stored_in_parts(
    store: &S3BlobStore,
    hash: &MediaHash,
    data: &[u8],
    patch_ends: &[u64],
) -> usize {
    let s3 = store.object_store();
    let key = store.blob_key(hash);
    let head = s3
        .head(&key)
        .await
        .expect("the blob is at its content address");
    assert_eq!(head.size, data.len() as u64);
    let sizes = expected_parts(data.len() as u64, patch_ends);
    for size in &sizes[..sizes.len().saturating_sub(1)] {
        assert!(*size >= MIN_PART, "a non-final part of {size} bytes");
    }
    let mut md5s = Md5::new();
    let mut at = 0;
    for size in &sizes {
        let size = usize::try_from(*size).expect("part");
        md5s.update(Md5::digest(&data[at..at + size]));
        at += size;
    }
    let count = sizes.len();
    let expected = format!("{}-{count}", hex::encode(md5s.finalize()));
    let etag = head.e_tag.expect("etag");
    assert_eq!(
        etag.trim_matches('"'),
        expected,
        "not stored in the parts {sizes:?}"
    );
    let stored = s3
        .get(&key)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(hex::encode(Sha256::digest(&stored)), hash.as_str());
    count
}

/// `PATCH` ends for `chunk`-byte chunks of a `len`-byte file.
pub fn chunk_ends(len: u64, chunk: u64) -> Vec<u64> {
    (1..=len.div_ceil(chunk))
        .map(|i| (i * chunk).min(len))
        .collect()
}

/// Asserts that none of upload `id`'s staging objects is left (the database describes it).
pub async fn assert_no_staging_object_is_left(store: &S3BlobStore, prefix: &str, id: &str) {
    assert_eq!(
        keys(store, &format!("{prefix}/staging/{id}")).await,
        Vec::<String>::new()
    );
}
