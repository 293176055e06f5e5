//! Stopping the server is a clean shutdown: requests in flight finish, background work is
//! drained, and the data folder left behind is a complete, consistent database that holds
//! every change a device saw acknowledged. An operator's copy of it is a good backup.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use siteproof_core::{RecordId, Store};
use siteproof_tests::server::TestServer;

const DEVICES: usize = 4;
/// Acknowledged rounds every device reaches before the server is stopped under their load.
const ROUNDS_BEFORE_STOP: usize = 5;

/// What one device saw acknowledged before the server went away.
struct Outcome {
    device: usize,
    visit: RecordId,
    /// Findings `0..acknowledged` were in a push the server acknowledged.
    acknowledged: usize,
}

/// Captures a finding and syncs, again and again, until a sync fails (the server stopped).
fn push_until_refused(
    device: usize,
    mut store: Store,
    visit: RecordId,
    progress: &AtomicUsize,
) -> Outcome {
    let mut acknowledged = 0;
    let started = Instant::now();
    loop {
        siteproof_tests::finding(&mut store, &visit, &format!("d{device}-{acknowledged}"));
        if store.sync().is_err() {
            break;
        }
        acknowledged += 1;
        progress.fetch_add(1, Ordering::SeqCst);
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the server was never stopped"
        );
    }
    Outcome {
        device,
        visit,
        acknowledged,
    }
}

#[test]
fn a_server_stopped_under_write_load_leaves_a_complete_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("server");
    let server = TestServer::start(&data);
    let group = server.create_group("第一督导组");
    let template = siteproof_tests::template(4);
    server.publish_template(&template);

    let progress: Arc<Vec<AtomicUsize>> =
        Arc::new((0..DEVICES).map(|_| AtomicUsize::new(0)).collect());
    let workers: Vec<_> = (0..DEVICES)
        .map(|device| {
            let path = dir.path().join(format!("d{device}.db"));
            let mut store = server.enroll_store(&group, &path, &format!("检查员{device}"));
            let visit = store
                .create_visit(siteproof_tests::new_visit(&template, "化工园区"))
                .expect("visit");
            let progress = Arc::clone(&progress);
            std::thread::spawn(move || push_until_refused(device, store, visit, &progress[device]))
        })
        .collect();

    // Stop while every device is pushing.
    while progress
        .iter()
        .any(|p| p.load(Ordering::SeqCst) < ROUNDS_BEFORE_STOP)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(threads_named("sqlite-writer"), 1, "one server, one writer");
    // A handle kept past the stop (as a tool or a task might): stopping closes it too.
    let kept = server.state().clone();
    let data = server.stop();
    let outcomes: Vec<Outcome> = workers
        .into_iter()
        .map(|w| w.join().expect("device thread"))
        .collect();

    // Stopped means stopped: no storage thread outlives the server, the database file alone
    // holds everything (the WAL was folded into it), and it stays as it is.
    assert_eq!(
        threads_named("sqlite-writer"),
        0,
        "the storage's writer thread outlived the server"
    );
    let db = data.join("siteproof.db");
    let wal = data.join("siteproof.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).expect("wal").len() == 0,
        "a stopped server left a write-ahead log behind"
    );
    let refused = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(kept.storage.list_groups());
    assert!(
        refused.is_err(),
        "the storage of a stopped server still answers"
    );
    drop(kept);
    let before = std::fs::read(&db).expect("database");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        std::fs::read(&db).expect("database"),
        before,
        "something still writes to the database of a stopped server"
    );

    // An operator's backup: the database file (and the blobs), nothing else.
    let backup = dir.path().join("backup");
    std::fs::create_dir_all(backup.join("blobs")).expect("backup dir");
    std::fs::copy(&db, backup.join("siteproof.db")).expect("copy");
    assert_integrity(&backup.join("siteproof.db"));

    let restored = TestServer::start(&backup);
    let mut fresh = restored.enroll_store(&group, &dir.path().join("fresh.db"), "新设备");
    fresh.sync().expect("pull everything");
    for o in &outcomes {
        assert!(o.acknowledged >= ROUNDS_BEFORE_STOP);
        let visit = fresh
            .visit(&o.visit)
            .expect("the device's visit is in the backup");
        let found: std::collections::BTreeSet<String> = visit
            .findings
            .values()
            .map(|f| f.description.clone())
            .collect();
        for i in 0..o.acknowledged {
            let text = format!("d{}-{i}", o.device);
            assert!(
                found.contains(&text),
                "acknowledged finding {text} is missing from the stopped server's database"
            );
        }
    }
}

/// Threads of this process with `name` (this binary runs one test, so one server at most).
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

fn assert_integrity(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("open the copy");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(check, "ok");
}
