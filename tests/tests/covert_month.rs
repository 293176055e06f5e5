//! The `covert-month` benchmark at a tiny scale (four visits, 10 MB of footage): the phone's
//! visits list and load whole, every recording reaches the server verified and whole, the
//! phone gets the space back, and the work folder is gone afterwards. Times are not asserted.

use std::process::Command;

#[test]
fn a_tiny_month_offline_syncs_uploads_verifies_and_evicts_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_covert-month"))
        .env("COVERT_MONTH_SCALE", "0.0005")
        .env("COVERT_MONTH_VISITS", "4")
        .env("COVERT_MONTH_DIR", dir.path())
        .output()
        .expect("run covert-month");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");

    for outcome in [
        "the list holds all 4 visits, answered: yes",
        "each loaded visit holds its answers, findings and recordings: yes",
        "every change reached the server (outbox empty): yes",
        "uploaded, verified and evicted: yes",
        "every recording was whole on the server before the phone evicted it: yes",
        "eviction gave back the footage's space: yes",
    ] {
        assert!(stdout.contains(outcome), "missing {outcome:?} in\n{stdout}");
    }
    assert!(!stdout.contains(": NO"), "{stdout}");

    let figure = |name: &str| -> f64 {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("figure {name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no figure {name} in\n{stdout}"))
    };
    // 4 visits of 60 answers and 3 findings, and each recording's attachment.
    assert!(figure("changes_pushed") >= 4.0 * 64.0);
    let footage = figure("raw_captures_mb_entered_bytes_footage") - figure("entered_bytes_mb");
    assert!((footage - 10.0).abs() < 0.01, "footage {footage} MB");
    assert!(figure("space_given_back_by_evicting_verified_originals_mb") >= footage);
    assert!(figure("phone_store_on_disk_after_eviction_mb") < footage);

    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(left.is_empty(), "the work folder was left: {left:?}");
}
