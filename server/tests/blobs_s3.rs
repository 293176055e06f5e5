//! Migrating blobs between a folder and a real Garage bucket, both ways: every blob hashed
//! as it streams, a flipped byte detected and not copied, a second run resuming (copying
//! nothing twice). Two stores on one bucket (two server processes) each see the other's
//! latest blob metadata, though each keeps what it last read. An upload an older version
//! began without part checksums, described in the bucket as it described uploads then, is
//! imported, continued and completed without them.

mod s3_fixture;

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutPayload};
use s3_fixture::Garage;
use sha2::{Digest, Sha256};
use siteproof_core::{MediaHash, RecordId};
use siteproof_server::blob::migrate::{Moved, migrate};
use siteproof_server::blob::{BlobMeta, BlobStore, FsBlobStore, StagedUpload};

fn blob_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn put(store: &dyn BlobStore, data: &[u8]) -> MediaHash {
    let hash = MediaHash::from_digest(Sha256::digest(data).into());
    let stream: siteproof_server::blob::ByteStream = Box::pin(futures_util::stream::iter(
        data.chunks(1 << 20)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    ));
    store.put_blob(&hash, stream).await.expect("put blob");
    let meta = BlobMeta {
        size: data.len() as u64,
        mime: "video/mp4".into(),
        records: Vec::new(),
    };
    store.put_blob_meta(&hash, &meta).await.expect("meta");
    hash
}

async fn read_all(store: &dyn BlobStore, hash: &MediaHash, size: u64) -> Vec<u8> {
    use futures_util::StreamExt;
    let mut stream = store.read_blob(hash, 0..size).await.expect("read");
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("chunk"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_migrate_from_a_folder_to_a_bucket_and_back_and_a_flipped_byte_is_caught() {
    let garage = Garage::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = FsBlobStore::open(dir.path().join("blobs")).expect("folder");
    let bucket = garage.store("migrated");
    let files = [blob_bytes(12 << 20, 1), blob_bytes(1000, 2), Vec::new()];
    let mut hashes = Vec::new();
    for data in &files {
        hashes.push(put(&folder, data).await);
    }
    folder
        .put_thumbnail(&hashes[1], Bytes::from_static(b"jpeg"))
        .await
        .expect("thumb");
    // A fourth blob, damaged on disk after it was stored.
    let damaged = put(&folder, &blob_bytes(3000, 3)).await;
    let path = folder.blob_path(&damaged);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[1234] ^= 0x10;
    std::fs::write(&path, bytes).expect("flip a byte");

    let mut seen = Vec::new();
    let report = migrate(&folder, &bucket, |done, total, hash, moved| {
        seen.push((done, total, hash.clone(), moved.clone()));
    })
    .await
    .expect("migrate");
    assert_eq!(report.copied, 3, "{report:?}");
    assert_eq!(report.damaged, vec![damaged.clone()]);
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|(_, total, _, _)| *total == 4));
    for (hash, data) in hashes.iter().zip(&files) {
        assert_eq!(read_all(&bucket, hash, data.len() as u64).await, *data);
        assert_eq!(
            bucket.blob_meta(hash).await.expect("meta").map(|m| m.size),
            Some(data.len() as u64)
        );
    }
    assert_eq!(
        bucket.thumbnail(&hashes[1]).await.expect("thumb"),
        Some(Bytes::from_static(b"jpeg"))
    );
    assert!(bucket.blob_meta(&damaged).await.expect("meta").is_none());
    let s3 = bucket.object_store();
    assert!(
        s3.head(&bucket.blob_key(&damaged)).await.is_err(),
        "a damaged blob was stored"
    );

    // Run again: nothing is copied twice.
    let again = migrate(&folder, &bucket, |_, _, _, _| {})
        .await
        .expect("again");
    assert_eq!((again.copied, again.present), (0, 3));

    // And back, into a fresh folder, with a byte flipped in the bucket.
    s3.put(
        &bucket.blob_key(&hashes[1]),
        PutPayload::from({
            let mut flipped = files[1].clone();
            flipped[10] ^= 1;
            flipped
        }),
    )
    .await
    .expect("damage the bucket's copy");
    let back_dir = tempfile::tempdir().expect("tempdir");
    let back = FsBlobStore::open(back_dir.path()).expect("folder");
    let mut moved = Vec::new();
    let report = migrate(&bucket, &back, |_, _, hash, m| {
        moved.push((hash.clone(), m.clone()))
    })
    .await
    .expect("migrate back");
    assert_eq!(report.copied, 2, "{report:?}");
    assert_eq!(report.damaged, vec![hashes[1].clone()]);
    assert!(moved.contains(&(hashes[1].clone(), Moved::Damaged)));
    assert_eq!(
        std::fs::read(back.blob_path(&hashes[0])).expect("copied back"),
        files[0]
    );
    assert!(!back.blob_path(&hashes[1]).exists());
    assert!(back.list_blobs().await.expect("list").len() == 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_is_ready_when_it_answers_and_a_missing_one_is_not() {
    let garage = Garage::start();
    let store = garage.store("ready");
    store.check_ready().await.expect("the bucket answers");
    let mut missing = garage.location("ready");
    missing.bucket = "no-such-bucket".into();
    let missing = siteproof_server::blob::S3BlobStore::from_env(&missing).expect("store");
    assert!(
        missing.check_ready().await.is_err(),
        "a missing bucket is not ready"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_sees_the_metadata_another_process_wrote_after_its_own_read() {
    let garage = Garage::start();
    let (a, b) = (garage.store("two"), garage.store("two"));
    let hash = put(&a, &blob_bytes(1000, 3)).await;
    let mime = |store: &siteproof_server::blob::S3BlobStore| {
        let (hash, store) = (hash.clone(), store.clone());
        async move {
            store
                .blob_meta(&hash)
                .await
                .expect("read meta")
                .map(|m| m.mime)
        }
    };
    // Each store reads (and keeps) the same metadata; then each writes in turn.
    assert_eq!(mime(&a).await.as_deref(), Some("video/mp4"));
    assert_eq!(mime(&b).await.as_deref(), Some("video/mp4"));
    for (round, (writer, reader)) in [(&b, &a), (&a, &b), (&b, &a)].into_iter().enumerate() {
        let meta = BlobMeta {
            size: 1000,
            mime: format!("video/round-{round}"),
            records: Vec::new(),
        };
        writer.put_blob_meta(&hash, &meta).await.expect("update");
        assert_eq!(
            mime(reader).await,
            Some(meta.mime.clone()),
            "round {round}: the other store's write is seen"
        );
        assert_eq!(mime(writer).await, Some(meta.mime));
    }
}

/// An older version created multipart uploads without part checksums and sent the parts with
/// a signed payload; a store cannot complete an upload that mixes parts with and without
/// checksums, so the rest of such an upload goes up as it began.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_begun_without_part_checksums_is_completed_without_them() {
    use object_store::multipart::MultipartStore;
    let garage = Garage::start();
    let store = garage.store("older");
    let data = blob_bytes(12 << 20, 9);
    let first = 8usize << 20;
    let hash = MediaHash::from_digest(Sha256::digest(&data).into());
    let upload = StagedUpload {
        id: "fedcba9876543210fedcba9876543210".into(),
        length: data.len() as u64,
        sha256: hash.clone(),
        record: RecordId::random(),
        device: "device".into(),
        mime: "video/mp4".into(),
        created_at: 0,
        expires_at: i64::MAX,
        completed: false,
        hashed: None,
    };

    // What the older version did: a client as configured then (no checksum, signed payload)
    // creates the multipart upload and sends the first part; its state, in the bucket beside
    // the upload's description, lacks the field part checksums came with.
    let mut builder = object_store::aws::AmazonS3Builder::new();
    for (key, value) in garage.location("older").settings {
        builder = builder.with_config(key.parse().expect("setting"), value);
    }
    let older = builder
        .with_bucket_name("siteproof")
        .build()
        .expect("client");
    let key = store.blob_key(&hash);
    let upload_id = older
        .create_multipart(&key)
        .await
        .expect("create multipart");
    let part = older
        .put_part(
            &key,
            &upload_id,
            0,
            PutPayload::from(data[..first].to_vec()),
        )
        .await
        .expect("first part");
    let saved = serde_json::json!({
        "hash": hash,
        "length": data.len(),
        "part_size": siteproof_server::blob::part_size(data.len() as u64),
        "upload_id": upload_id,
        "parts": [{"etag": part.content_id, "size": first}],
        "tail": 0,
        "previous": null,
    });
    let staging = format!("older/staging/{}", upload.id);
    for (name, json) in [
        ("multipart.json", saved),
        ("upload.json", serde_json::to_value(&upload).expect("json")),
    ] {
        older
            .put(
                &object_store::path::Path::from(format!("{staging}/{name}")),
                PutPayload::from(serde_json::to_vec(&json).expect("bytes")),
            )
            .await
            .expect("write what the older version wrote");
    }

    // This version imports it, appends the rest (the last part) and completes the upload.
    let legacy = store.legacy_staged().await.expect("legacy");
    assert_eq!(legacy.len(), 1);
    assert_eq!(
        (&legacy[0].upload, legacy[0].offset),
        (&upload, first as u64)
    );
    store
        .forget_legacy_staged(&upload.id)
        .await
        .expect("forget");
    assert!(
        store.legacy_staged().await.expect("legacy").is_empty(),
        "imported once"
    );
    let mut writer = store
        .append_staged(&upload.id, first as u64, &legacy[0].staging)
        .await
        .expect("append");
    writer
        .write(Bytes::copy_from_slice(&data[first..]))
        .await
        .expect("write");
    let staged = writer.finish().await.expect("finish");
    assert_eq!(staged.end, data.len() as u64);
    let meta = BlobMeta {
        size: data.len() as u64,
        mime: "video/mp4".into(),
        records: vec![upload.record.clone()],
    };
    store
        .commit_staged(&upload.id, &staged.staging, &hash, &meta)
        .await
        .expect("the store completes the upload");
    assert!(
        read_all(&store, &hash, data.len() as u64).await == data,
        "the blob holds the file's bytes"
    );
}
