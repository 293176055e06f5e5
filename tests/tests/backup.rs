//! Backups of the embedded default: one taken while devices sync and upload, restored onto an
//! empty folder, serves every device; devices that synced after the backup repair what it
//! lacks (the cursor check); nothing is lost.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use siteproof_core::media::{Network, Uploader, UploaderConfig};
use siteproof_core::{AnswerValue, MediaHash, RecordId, Store};
use siteproof_server::backup;
use siteproof_tests::answer;
use siteproof_tests::server::TestServer;

const DEVICES: usize = 4;
/// Rounds each device has synced before the backup is taken, and after it.
const ROUNDS_BEFORE: usize = 3;
const ROUNDS_AFTER: usize = 3;

#[test]
fn a_backup_taken_under_sync_load_restores_and_every_device_repairs_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let addr = server.addr();
    let group = server.create_group("第一督导组");
    let template = siteproof_tests::template(4);
    server.publish_template(&template);
    let mut devices: Vec<Store> = (0..DEVICES)
        .map(|i| {
            let path = dir.path().join(format!("d{i}.db"));
            server.enroll_store(&group, &path, &format!("检查员{i}"))
        })
        .collect();
    let footage = upload_clip(&mut devices[0], dir.path(), &template);

    // Every device captures and syncs in a loop; the backup is taken in the middle of it.
    let rounds = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = devices
        .into_iter()
        .enumerate()
        .map(|(i, mut store)| {
            let (rounds, stop, template) =
                (Arc::clone(&rounds), Arc::clone(&stop), template.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let site = format!("{i}号工地第{n}次");
                    let visit = store
                        .create_visit(siteproof_tests::new_visit(&template, &site))
                        .expect("visit");
                    answer(&mut store, &visit, "i0", AnswerValue::Fail, &site);
                    store.sync().expect("sync under load");
                    rounds.fetch_add(1, Ordering::SeqCst);
                    n += 1;
                }
                store
            })
        })
        .collect();
    wait_for(&rounds, DEVICES * ROUNDS_BEFORE, &workers);
    let backup_dir = dir.path().join("backup");
    let taken = backup::backup(&dir.path().join("server"), &backup_dir).expect("backup");
    assert!(taken.damaged.is_empty());
    assert_eq!(taken.blobs_copied, 1, "the uploaded clip is in the backup");
    let at_backup = rounds.load(Ordering::SeqCst);
    wait_for(&rounds, at_backup + DEVICES * ROUNDS_AFTER, &workers);
    stop.store(true, Ordering::SeqCst);
    let mut devices: Vec<Store> = workers
        .into_iter()
        .map(|w| w.join().expect("device thread"))
        .collect();
    let everything = visits_of(&devices);
    assert!(everything.len() >= DEVICES * (ROUNDS_BEFORE + ROUNDS_AFTER));

    // Disaster: the server's folder is lost; the backup is restored onto a new one.
    drop(server);
    let restored = dir.path().join("restored");
    let report = backup::restore(&backup_dir, &restored).expect("restore");
    assert_eq!(report.manifest, taken.manifest);
    let server = TestServer::start_on(&restored, addr);
    let held = server.block_on(async {
        server
            .state()
            .media
            .blobs()
            .blob_meta(&footage)
            .await
            .expect("blob meta")
    });
    assert!(held.is_some(), "the footage came back with the backup");

    // Each device syncs: the ones that pushed after the backup notice and send it again.
    for _ in 0..2 {
        for store in &mut devices {
            store.sync().expect("sync with the restored server");
        }
    }
    for store in &devices {
        assert_eq!(visits_of(std::slice::from_ref(store)), everything);
    }
    let mut newcomer = server.enroll_store(&group, &dir.path().join("new.db"), "新检查员");
    newcomer.sync().expect("a new device pulls");
    assert_eq!(
        visits_of(std::slice::from_ref(&newcomer)),
        everything,
        "the restored server holds every visit every device captured"
    );
}

/// A finished backup updated later copies only the files it lacks; restore refuses a folder
/// that holds something, and a backup whose files were altered, leaving nothing behind.
#[test]
fn backups_are_incremental_and_a_damaged_one_is_refused_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let group = server.create_group("第一督导组");
    let template = siteproof_tests::template(2);
    server.publish_template(&template);
    let mut store = server.enroll_store(&group, &dir.path().join("d.db"), "检查员");
    let clip = upload_clip(&mut store, dir.path(), &template);
    let data = dir.path().join("server");
    let to = dir.path().join("backup");

    let first = backup::backup(&data, &to).expect("first backup");
    assert_eq!(first.blobs_copied, 1);
    let again = backup::backup(&data, &to).expect("second backup");
    assert_eq!(again.blobs_copied, 0, "the clip was there already");
    assert_eq!(again.manifest.blobs, first.manifest.blobs);
    let snapshots: Vec<_> = std::fs::read_dir(&to)
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("siteproof-"))
        .collect();
    assert_eq!(snapshots.len(), 1, "the older snapshot is gone");

    let occupied = dir.path().join("occupied");
    std::fs::create_dir_all(&occupied).expect("dir");
    std::fs::write(occupied.join("keep.txt"), "mine").expect("file");
    let refused = backup::restore(&to, &occupied).expect_err("not empty");
    assert!(
        matches!(refused, backup::BackupError::NotEmpty(_)),
        "{refused}"
    );
    assert_eq!(
        std::fs::read_to_string(occupied.join("keep.txt")).expect("kept"),
        "mine"
    );

    // One flipped byte in the clip: the restore stops and removes what it wrote.
    let stored = to.join("blobs").join(clip.as_str());
    let mut bytes = std::fs::read(&stored).expect("read");
    bytes[1000] ^= 0x01;
    std::fs::write(&stored, bytes).expect("write");
    let target = dir.path().join("target");
    let damaged = backup::restore(&to, &target).expect_err("damaged");
    assert!(
        damaged.to_string().contains(clip.as_str()),
        "names the file: {damaged}"
    );
    assert!(
        std::fs::read_dir(&target).map_or(true, |mut d| d.next().is_none()),
        "nothing of a refused restore is left"
    );
    let not_a_backup = backup::restore(&data, &dir.path().join("t2")).expect_err("no manifest");
    assert!(
        matches!(not_a_backup, backup::BackupError::NoManifest(..)),
        "{not_a_backup}"
    );
}

/// Attaches a 1 MB clip to a new visit on `store` and uploads it; returns its hash.
fn upload_clip(
    store: &mut Store,
    dir: &std::path::Path,
    t: &siteproof_core::Template,
) -> MediaHash {
    let media = store.media_store(dir.join("media")).expect("media");
    let visit = store
        .create_visit(siteproof_tests::new_visit(t, "隧道"))
        .expect("visit");
    let attached =
        siteproof_tests::attach_clip(store, &media, &visit, &dir.join("clip.mp4"), 1_000_000);
    store.sync().expect("the record names the file");
    let config = UploaderConfig::new(
        format!(
            "{}/v1/uploads",
            store.server_url().expect("url").expect("enrolled")
        ),
        store.server_token().expect("token").expect("enrolled"),
    );
    let run = Uploader::new(config)
        .expect("uploader")
        .run(
            store,
            &media,
            Network::Unmetered,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .expect("upload");
    assert_eq!(run.completed, vec![attached.hash.clone()], "{run:?}");
    attached.hash
}

fn visits_of(stores: &[Store]) -> BTreeSet<RecordId> {
    stores
        .iter()
        .flat_map(|s| s.list_visits().expect("list"))
        .map(|v| v.id)
        .collect()
}

/// Waits until `counter` reaches `n` (the device threads move it; each round is a sync).
fn wait_for(counter: &AtomicUsize, n: usize, workers: &[std::thread::JoinHandle<Store>]) {
    while counter.load(Ordering::SeqCst) < n {
        assert!(
            !workers.iter().any(|w| w.is_finished()),
            "a device stopped before the load was over (its panic is printed above)"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
