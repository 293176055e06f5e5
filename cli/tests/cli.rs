//! The `siteproof` binary end to end: admin commands on a data directory, help texts, and a
//! server that starts, answers and stops on SIGTERM.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn siteproof(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siteproof"))
        .args(args)
        .output()
        .expect("run siteproof")
}

fn stdout_of(args: &[&str]) -> String {
    let out = siteproof(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["admin", "--help"],
        vec!["admin", "group", "create", "--help"],
        vec!["admin", "group", "list", "--help"],
        vec!["admin", "enroll-code", "--help"],
        vec!["admin", "device", "list", "--help"],
        vec!["admin", "device", "revoke", "--help"],
        vec!["admin", "template", "publish", "--help"],
        vec!["admin", "template", "import", "--help"],
        vec!["admin", "template", "list", "--help"],
        vec!["client", "assignments", "--help"],
        vec!["client", "start", "--help"],
        vec!["client", "collect", "--help"],
        vec!["client", "collections", "--help"],
    ] {
        let text = stdout_of(&args);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
}

#[test]
fn admin_commands_create_a_group_issue_codes_and_list_devices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8");
    let group = stdout_of(&[
        "admin",
        "--data",
        data,
        "group",
        "create",
        "--region",
        "hebei",
        "--name",
        "第一组",
    ]);
    assert!(!group.is_empty());
    let listed = stdout_of(&["admin", "--data", data, "group", "list"]);
    assert_eq!(listed, format!("{group}\thebei\t第一组"));
    let code = stdout_of(&[
        "admin",
        "--data",
        data,
        "enroll-code",
        "--group",
        &group,
        "--ttl-hours",
        "2",
    ]);
    assert_eq!(code.len(), 18, "code {code:?}");
    assert_eq!(stdout_of(&["admin", "--data", data, "device", "list"]), "");

    let unknown = siteproof(&["admin", "--data", data, "enroll-code", "--group", "nope"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("group nope does not exist"));
    let bad = siteproof(&["admin", "--data", data, "device", "revoke", "../etc"]);
    assert!(!bad.status.success());
}

#[test]
fn templates_from_the_content_library_publish_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8");
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../content/templates/coal-mine-gas.json"
    );
    let id = stdout_of(&["admin", "--data", data, "template", "publish", file]);
    assert!(id.starts_with("template:"), "{id}");
    assert!(
        !siteproof(&["admin", "--data", data, "template", "publish", file])
            .status
            .success()
    );
}

#[test]
fn the_whole_library_imports_as_drafts_lists_and_publishes_by_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8");
    let library = concat!(env!("CARGO_MANIFEST_DIR"), "/../content/templates");
    let imported = stdout_of(&["admin", "--data", data, "template", "import", library]);
    let files = std::fs::read_dir(library)
        .expect("library")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count();
    assert_eq!(imported.lines().count(), files);
    assert!(imported.lines().any(|l| l == "industry-trade-steel-8@1"));
    let listed = stdout_of(&["admin", "--data", data, "template", "list"]);
    assert_eq!(listed.lines().count(), files);
    assert!(
        listed
            .lines()
            .all(|l| l.split('\t').nth(1) == Some("draft")),
        "{listed}"
    );
    let steel = listed
        .lines()
        .find(|l| l.starts_with("industry-trade-steel-8@1\t"))
        .expect("steel");
    assert_eq!(steel.split('\t').nth(3), Some("8"), "钢8条: {steel}");

    let id = stdout_of(&[
        "admin",
        "--data",
        data,
        "template",
        "publish",
        "industry-trade-steel-8@1",
    ]);
    assert_eq!(id, "template:industry-trade-steel-8@1");
    let listed = stdout_of(&["admin", "--data", data, "template", "list"]);
    assert_eq!(
        listed.lines().count(),
        files,
        "published versions stay listed once"
    );
    assert!(listed.contains("industry-trade-steel-8@1\tpublished\tindustry_trade\t8\t"));
    let unknown = siteproof(&["admin", "--data", data, "template", "publish", "nope@3"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no imported draft nope@3"));
}

#[cfg(unix)]
#[test]
fn serve_answers_health_and_stops_on_sigterm() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut server, url) = common::start_server(dir.path().to_str().expect("utf-8"));
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut body = String::new();
    s.read_to_string(&mut body).expect("read");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(dir.path().join("siteproof.db").exists());
    let status = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(status) = server.try_wait() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
