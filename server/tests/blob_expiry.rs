//! The expiry sweep over the uploads' rows in the database, on a folder and on a real Garage
//! bucket: it removes exactly the expired uploads (complete or not, more than one batch of
//! them), their bytes and then their rows, leaves the live ones, and spares an expired one
//! whose lease another process holds until it is given back.

mod s3_fixture;

use std::collections::BTreeSet;

use bytes::Bytes;
use s3_fixture::{Garage, keys};
use siteproof_core::{MediaHash, RecordId};
use siteproof_server::blob::BlobLocation;
use siteproof_server::storage::{UploadProgress, UploadRow};
use siteproof_server::{AppState, ServerConfig};

/// Uploads to create: every third expired (at 1 ms past the epoch), every fifth complete,
/// the others with 10 bytes staged. Returns the expired ids and the live ones.
async fn stage(state: &AppState, count: usize) -> (BTreeSet<String>, BTreeSet<String>) {
    let (uploads, blobs) = (state.storage.upload_store(), &state.blobs);
    let (mut expired, mut live) = (BTreeSet::new(), BTreeSet::new());
    for i in 0..count {
        let id = format!("{i:032x}");
        let (gone, completed) = (i % 3 == 0, i % 5 == 0);
        let hash = MediaHash::from_digest([i as u8; 32]);
        let row = UploadRow {
            id: id.clone(),
            length: 1000,
            sha256: hash.to_string(),
            record: RecordId::random().to_string(),
            device: "device".into(),
            mime: "video/mp4".into(),
            created_at: 0,
            expires_at: if gone { 1 } else { i64::MAX },
            progress: UploadProgress {
                offset: if completed { 1000 } else { 0 },
                completed,
                ..UploadProgress::default()
            },
        };
        assert!(uploads.insert_upload(&row).await.expect("insert"));
        if !completed {
            let staging = blobs.begin_staged(&id, 1000, &hash).await.expect("begin");
            uploads.begin_upload(&id, &staging).await.expect("save");
            let mut writer = blobs.append_staged(&id, 0, &staging).await.expect("append");
            writer
                .write(Bytes::from_static(b"0123456789"))
                .await
                .expect("write");
            writer.finish().await.expect("finish");
        }
        if gone {
            expired.insert(id);
        } else {
            live.insert(id);
        }
    }
    (expired, live)
}

/// Sweeps `count` uploads, one expired upload leased by another process until the second
/// sweep; returns the ids left.
async fn sweep_removes_only_the_expired(state: &AppState, count: usize) -> BTreeSet<String> {
    let (expired, live) = stage(state, count).await;
    let leases = state.storage.upload_lease_store();
    let held = expired.first().expect("an expired upload").clone();
    let at = siteproof_core::model::now();
    assert!(
        leases
            .take_lease(&held, "another process", at, at + 60_000)
            .await
            .expect("lease")
    );
    let swept = state.media.sweep_expired().await.expect("sweep");
    assert_eq!(
        swept,
        expired.len() - 1,
        "every expired upload but the leased one"
    );
    let left: BTreeSet<String> = state
        .storage
        .upload_store()
        .uploads()
        .await
        .expect("uploads")
        .into_iter()
        .map(|u| u.id)
        .collect();
    let mut spared = live.clone();
    spared.insert(held.clone());
    assert_eq!(left, spared);
    leases
        .release_lease(&held, "another process")
        .await
        .expect("release");
    assert_eq!(state.media.sweep_expired().await.expect("sweep"), 1);
    assert_eq!(state.media.sweep_expired().await.expect("sweep"), 0);
    live
}

/// The ids of the uploads with bytes staged in a folder.
fn staged_in(dir: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("staging")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".part").map(str::to_owned))
        .collect()
}

fn incomplete(ids: &BTreeSet<String>) -> BTreeSet<String> {
    ids.iter()
        .filter(|id| usize::from_str_radix(id, 16).expect("hex") % 5 != 0)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_sweep_removes_the_expired_uploads_bytes_and_rows_from_a_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = AppState::open(dir.path(), ServerConfig::default())
        .await
        .expect("open");
    // More than a batch of the sweep (100).
    let live = sweep_removes_only_the_expired(&state, 450).await;
    let staging = dir.path().join("blobs").join("staging");
    assert_eq!(
        staged_in(&staging),
        incomplete(&live),
        "bytes of live uploads only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_removes_the_expired_uploads_bytes_and_rows_from_a_bucket() {
    let garage = Garage::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ServerConfig {
        blobs: BlobLocation::S3(garage.location("expiry")),
        ..ServerConfig::default()
    };
    let state = AppState::open(dir.path(), config).await.expect("open");
    let live = sweep_removes_only_the_expired(&state, 160).await;
    let store = garage.store("expiry");
    let staged: BTreeSet<String> = keys(&store, "expiry/staging")
        .await
        .into_iter()
        .map(|k| k.split('/').nth(2).expect("id").to_owned())
        .collect();
    assert_eq!(staged, incomplete(&live), "tails of live uploads only");
}
