//! The expiry sweep's walk of staged uploads, on a folder and on a real Garage bucket: the
//! store yields exactly the expired uploads (complete or not), one at a time, while the
//! sweep deletes them, and leaves the live ones.

mod s3_fixture;

use std::collections::BTreeSet;

use futures_util::StreamExt;
use s3_fixture::Garage;
use siteproof_core::{MediaHash, RecordId};
use siteproof_server::blob::{BlobStore, FsBlobStore, StagedUpload};

/// Staged uploads to create: every third expired (at 1 ms past the epoch), every fifth
/// complete; the expired ids are returned.
async fn stage(store: &dyn BlobStore, count: usize) -> BTreeSet<String> {
    let mut expired = BTreeSet::new();
    for i in 0..count {
        let id = format!("{i:032x}");
        let gone = i % 3 == 0;
        let upload = StagedUpload {
            id: id.clone(),
            length: 1000,
            sha256: MediaHash::from_digest([i as u8; 32]),
            record: RecordId::random(),
            device: "device".into(),
            mime: "video/mp4".into(),
            created_at: 0,
            expires_at: if gone { 1 } else { i64::MAX },
            completed: i % 5 == 0,
            hashed: None,
        };
        store.create_staged(&upload).await.expect("create staged");
        if gone {
            expired.insert(id);
        }
    }
    expired
}

/// Walks the expired uploads, deleting each as it is yielded (as the sweep does), then
/// checks that a second walk finds none and that the live uploads are all still there.
async fn sweep_walks_only_the_expired(store: &dyn BlobStore, count: usize) {
    let expired = stage(store, count).await;
    let mut walked = BTreeSet::new();
    let mut ids = store.expired_staged(1000);
    while let Some(id) = ids.next().await {
        let id = id.expect("expired id");
        store
            .delete_staged(&id)
            .await
            .expect("delete while walking");
        assert!(walked.insert(id.clone()), "{id} yielded twice");
    }
    drop(ids);
    assert_eq!(walked, expired, "exactly the expired uploads");
    let again: Vec<_> = store.expired_staged(1000).collect().await;
    assert!(again.is_empty(), "left after deleting: {again:?}");
    let live = store.list_staged().await.expect("list");
    assert_eq!(live.len(), count - expired.len());
    assert!(live.iter().all(|u| u.expires_at == i64::MAX));
}

#[tokio::test]
async fn a_folder_yields_only_expired_uploads_while_they_are_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsBlobStore::open(dir.path().join("blobs")).expect("store");
    // More than the queue between the walking thread and the sweep holds.
    sweep_walks_only_the_expired(&store, 600).await;
}

#[tokio::test]
async fn a_folder_walk_dropped_early_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsBlobStore::open(dir.path().join("blobs")).expect("store");
    let expired = stage(&store, 600).await;
    let first: Vec<_> = store.expired_staged(1000).take(3).collect().await;
    assert_eq!(first.len(), 3);
    for id in first {
        assert!(expired.contains(&id.expect("id")));
    }
    // The walking thread ended when the stream was dropped: a new walk still sees them all.
    let all: Vec<_> = store.expired_staged(1000).collect().await;
    assert_eq!(all.len(), expired.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_yields_only_expired_uploads_while_they_are_deleted() {
    let garage = Garage::start();
    let store = garage.store("expiry");
    // More than one page of the listing (1,000 keys; two or three keys an upload).
    sweep_walks_only_the_expired(&store, 700).await;
}
