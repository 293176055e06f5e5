//! `siteproof admin backup` next to a running server and `admin restore` onto an empty
//! folder: the restored folder serves what was there; a second restore onto it is refused.

mod common;

use common::*;

#[test]
fn a_backup_of_a_running_server_restores_with_its_groups_and_visits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scene = laptop_with_a_visit(dir.path());
    let (data, home, group, visit) = (&scene.data, &scene.home, &scene.group, &scene.visit);
    ok(&["client", "--home", home, "sync"]);

    let to = dir.path().join("backup");
    let to = to.to_str().expect("utf-8");
    let taken = ok(&["admin", "--data", data, "backup", "--to", to]);
    assert!(taken.contains("0 media file(s)"), "{taken}");

    let restored = dir.path().join("restored");
    let restored = restored.to_str().expect("utf-8");
    let done = ok(&["admin", "--data", restored, "restore", "--from", to]);
    assert!(done.contains("restored the backup"), "{done}");
    let groups = ok(&["admin", "--data", restored, "group", "list"]);
    assert!(groups.contains(group.as_str()), "{groups}");
    let db = rusqlite::Connection::open(std::path::Path::new(restored).join("siteproof.db"))
        .expect("db");
    let stored: i64 = db
        .query_row(
            "SELECT count(*) FROM documents WHERE id = ?1",
            [visit],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(
        stored, 1,
        "the visit synced before the backup is in the restored database"
    );

    let again = siteproof(&["admin", "--data", restored, "restore", "--from", to]);
    assert!(!again.status.success());
    assert!(text(&again).contains("is not empty"), "{}", text(&again));
}
