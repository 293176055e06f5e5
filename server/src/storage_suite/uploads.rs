//! Suite cases for the tus upload rows ([`UploadStore`]): a row and its SHA-256 state read
//! back as saved, an offset saved only by the lease's holder from the offset it read, the
//! expiry list sparing leased uploads, and processes saving one upload's offsets keeping
//! every offset they acknowledged.

use std::sync::Arc;

use futures_util::future::join_all;
use sha2::digest::common::hazmat::SerializableState;
use sha2::{Digest, Sha256};

use super::Processes;
use crate::storage::{SyncStorage, UploadProgress, UploadRow, UploadStore};

fn upload(id: &str, expires_at: i64) -> UploadRow {
    UploadRow {
        id: id.into(),
        length: 1 << 40,
        sha256: "ab".repeat(32),
        record: "rec-1".into(),
        device: "dev-1".into(),
        mime: "video/mp4".into(),
        created_at: 1_000,
        expires_at,
        progress: UploadProgress::default(),
    }
}

fn at(offset: u64, state: Option<String>) -> UploadProgress {
    UploadProgress {
        offset,
        hash_state: state,
        staging: format!("parts up to {offset}"),
        completed: false,
    }
}

/// A row reads back as inserted, once per id; a SHA-256 state saved with an offset resumes
/// into the hash of the whole file; the staging state is set once, before any byte.
pub async fn an_upload_row_reads_back_with_its_hash_state(storage: &dyn SyncStorage) {
    let uploads = storage.upload_store();
    let leases = storage.upload_lease_store();
    let mut row = upload("u1", 90_000);
    assert!(uploads.insert_upload(&row).await.expect("insert"));
    let mut other = upload("u1", 1);
    other.device = "dev-2".into();
    assert!(
        !uploads.insert_upload(&other).await.expect("insert again"),
        "one row per id"
    );
    assert_eq!(uploads.upload("u1").await.expect("read"), Some(row.clone()));
    assert_eq!(uploads.upload("u2").await.expect("read"), None);

    assert!(
        uploads
            .begin_upload("u1", "multipart m1")
            .await
            .expect("begin")
    );
    assert!(
        !uploads
            .begin_upload("u1", "multipart m2")
            .await
            .expect("begin"),
        "begun once"
    );
    row.progress.staging = "multipart m1".into();

    let file: Vec<u8> = (0..100_000u32).map(|i| (i * 31 + 7) as u8).collect();
    let mut hasher = Sha256::new();
    hasher.update(&file[..65_537]);
    let state = hex::encode(hasher.serialize());
    assert!(
        leases
            .take_lease("u1", "h", 1_000, 2_000)
            .await
            .expect("lease")
    );
    let saved = UploadProgress {
        offset: 65_537,
        hash_state: Some(state.clone()),
        staging: r#"{"upload_id":"m1","parts":[{"etag":"\"e1\"","size":65537}]}"#.into(),
        completed: false,
    };
    assert!(
        uploads
            .save_upload("u1", "h", 1_500, 0, &saved, 95_000)
            .await
            .expect("save")
    );
    let read = uploads.upload("u1").await.expect("read").expect("row");
    assert_eq!(read.progress, saved);
    assert_eq!(read.expires_at, 95_000);
    assert_eq!((read.length, &read.device), (row.length, &row.device));
    let raw = hex::decode(read.progress.hash_state.expect("state")).expect("hex");
    let mut resumed = Sha256::deserialize(raw.as_slice().try_into().expect("size")).expect("state");
    resumed.update(&file[65_537..]);
    assert_eq!(resumed.finalize(), Sha256::digest(&file));
    assert_eq!(
        uploads.uploads().await.expect("list").len(),
        1,
        "every upload is listed"
    );
    uploads.delete_upload("u1").await.expect("delete");
    assert_eq!(uploads.upload("u1").await.expect("read"), None);
}

/// An offset moves only for the holder of a live lease and from the offset it read; not
/// after the upload completed.
pub async fn an_offset_is_saved_by_the_lease_holder_from_the_offset_it_read(
    storage: &dyn SyncStorage,
) {
    let uploads = storage.upload_store();
    let leases = storage.upload_lease_store();
    uploads
        .insert_upload(&upload("u1", 90_000))
        .await
        .expect("insert");
    let save = |holder: &'static str, now: i64, from: u64, to: u64| {
        let uploads = Arc::clone(&uploads);
        async move {
            uploads
                .save_upload(
                    "u1",
                    holder,
                    now,
                    from,
                    &at(to, Some(format!("s{to}"))),
                    now + 50_000,
                )
                .await
                .expect("save")
        }
    };
    assert!(!save("a", 1_000, 0, 10).await, "no lease, no save");
    assert!(
        leases
            .take_lease("u1", "a", 1_000, 1_100)
            .await
            .expect("lease")
    );
    assert!(!save("b", 1_010, 0, 10).await, "another holder's lease");
    assert!(!save("a", 1_010, 5, 10).await, "not from the offset stored");
    assert!(save("a", 1_020, 0, 10).await);
    assert!(
        !save("a", 1_030, 0, 20).await,
        "a save over an offset moved on"
    );
    assert!(save("a", 1_040, 10, 20).await);
    assert!(!save("a", 1_100, 20, 30).await, "a lapsed lease");
    assert!(
        leases
            .take_lease("u1", "b", 1_100, 1_200)
            .await
            .expect("lease")
    );
    assert!(!save("a", 1_110, 20, 30).await, "the old holder lost it");
    assert!(save("b", 1_110, 20, 30).await);
    let mut done = at(1 << 40, Some("end".into()));
    done.completed = true;
    assert!(
        uploads
            .save_upload("u1", "b", 1_120, 30, &done, 1_120)
            .await
            .expect("complete")
    );
    assert!(
        !save("b", 1_130, 1 << 40, 5).await,
        "a completed upload stays"
    );
    let row = uploads.upload("u1").await.expect("read").expect("row");
    assert_eq!(row.progress, done);
}

/// The expiry list: uploads expired before the time given, oldest first, up to the limit,
/// none whose lease is live.
pub async fn expired_uploads_spare_those_a_process_holds(storage: &dyn SyncStorage) {
    let uploads = storage.upload_store();
    let leases = storage.upload_lease_store();
    for (id, expires) in [("old", 100), ("held", 200), ("lapsed", 300), ("older", 50)] {
        uploads
            .insert_upload(&upload(id, expires))
            .await
            .expect("insert");
    }
    uploads
        .insert_upload(&upload("live", 5_000))
        .await
        .expect("insert");
    assert!(
        leases
            .take_lease("held", "p1", 900, 2_000)
            .await
            .expect("lease")
    );
    assert!(
        leases
            .take_lease("lapsed", "p2", 500, 900)
            .await
            .expect("lease")
    );
    let expired = |limit| {
        let uploads = Arc::clone(&uploads);
        async move {
            uploads
                .expired_uploads(1_000, 1_000, limit)
                .await
                .expect("expired")
        }
    };
    assert_eq!(expired(10).await, ["older", "old", "lapsed"]);
    assert_eq!(expired(2).await, ["older", "old"]);
    leases.release_lease("held", "p1").await.expect("release");
    assert_eq!(expired(10).await, ["older", "old", "held", "lapsed"]);
    uploads.delete_upload("older").await.expect("delete");
    assert_eq!(expired(10).await, ["old", "held", "lapsed"]);
}

/// Three processes, one upload: each in turn takes the lease once the last holder's lapsed
/// and saves from the offset it reads, while the holders before it keep trying to save from
/// the offsets they read. Every offset acknowledged stays, in order, and no stale save
/// lands.
pub async fn processes_saving_one_uploads_offsets_keep_every_acknowledged_one(open: &Processes) {
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..3).map(|_| open())).await;
    let stores: Vec<Arc<dyn UploadStore>> = storages.iter().map(|s| s.upload_store()).collect();
    stores[0]
        .insert_upload(&upload("u1", 90_000))
        .await
        .expect("insert");
    let mut now = 1_000i64;
    let mut stale: Vec<(usize, String, u64)> = Vec::new();
    for turn in 0..6u64 {
        let p = usize::try_from(turn % 3).expect("small");
        let holder = format!("p{p}-{turn}");
        assert!(
            storages[p]
                .upload_lease_store()
                .take_lease("u1", &holder, now, now + 100)
                .await
                .expect("lease"),
            "turn {turn}: the last lease lapsed"
        );
        let read = stores[p].upload("u1").await.expect("read").expect("row");
        assert_eq!(
            read.progress.offset,
            turn * 10,
            "turn {turn} reads the last save"
        );
        // This holder and every stale one save at once, each from the offset it read.
        let mut tries = vec![(p, holder.clone(), read.progress.offset)];
        tries.extend(stale.iter().cloned());
        let saves = tries.iter().map(|(q, h, from)| {
            let (store, h, from) = (Arc::clone(&stores[*q]), h.clone(), *from);
            tokio::spawn(async move {
                let to = from + 10;
                let saved = store
                    .save_upload("u1", &h, now + 10, from, &at(to, Some(h.clone())), 90_000)
                    .await
                    .expect("save");
                (h, saved)
            })
        });
        let landed: Vec<String> = join_all(saves)
            .await
            .into_iter()
            .map(|t| t.expect("join"))
            .filter_map(|(h, saved)| saved.then_some(h))
            .collect();
        assert_eq!(
            landed,
            std::slice::from_ref(&holder),
            "turn {turn}: only the holder saves"
        );
        stale.push((p, holder, read.progress.offset));
        now += 100;
    }
    for store in &stores {
        let row = store.upload("u1").await.expect("read").expect("row");
        assert_eq!(row.progress.offset, 60);
        assert_eq!(row.progress.hash_state.as_deref(), Some("p2-5"));
    }
}
