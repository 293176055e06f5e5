//! `siteproof admin user add`: creates back-office users; the password comes from the
//! environment or standard input, never the command line.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn siteproof(data: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_siteproof"));
    cmd.arg("admin")
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "error");
    cmd
}

#[test]
fn users_are_added_once_with_passwords_from_env_or_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = siteproof(dir.path())
        .args([
            "user",
            "add",
            "--login",
            "ann",
            "--name",
            "审核员",
            "--role",
            "reviewer",
        ])
        .args(["--region", "hebei"])
        .env("SITEPROOF_USER_PASSWORD", "a-long-password")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");

    let mut child = siteproof(dir.path())
        .args([
            "user", "add", "--login", "fire", "--name", "消防", "--role", "sector",
        ])
        .args(["--region", "hebei", "--sector", "fire_safety"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"another-long-password\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let again = siteproof(dir.path())
        .args([
            "user", "add", "--login", "ann", "--name", "x", "--role", "admin",
        ])
        .args(["--region", "hebei"])
        .env("SITEPROOF_USER_PASSWORD", "a-long-password")
        .output()
        .expect("run");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("taken"));

    let no_sector = siteproof(dir.path())
        .args([
            "user", "add", "--login", "dep", "--name", "x", "--role", "sector",
        ])
        .args(["--region", "hebei"])
        .env("SITEPROOF_USER_PASSWORD", "a-long-password")
        .output()
        .expect("run");
    assert!(!no_sector.status.success());
}

/// `POST /office/login` for `login` over a plain socket; the status code.
fn office_login(url: &str, login: &str, password: &str) -> u16 {
    use std::io::Read;
    let body = format!("csrf=t&login={login}&password={password}");
    let mut stream =
        std::net::TcpStream::connect(url.trim_start_matches("http://")).expect("connect");
    write!(
        stream,
        "POST /office/login HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
         Cookie: sp_login_csrf=t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

#[test]
fn an_admin_unlock_lifts_a_login_lock_on_the_running_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let add = siteproof(dir.path())
        .args(["user", "add", "--login", "ann", "--name", "审核员"])
        .args(["--role", "reviewer", "--region", "hebei"])
        .env("SITEPROOF_USER_PASSWORD", "a-long-password")
        .output()
        .expect("run");
    assert!(add.status.success());
    let data = dir.path().to_str().expect("utf-8 path");
    let (_server, url) = common::start_server(data);
    for _ in 0..5 {
        assert_eq!(office_login(&url, "ann", "wrong-password"), 401);
    }
    assert_eq!(office_login(&url, "ann", "a-long-password"), 429, "locked");
    // The server reads unlocks at most once a second per account (docs/security.md).
    std::thread::sleep(std::time::Duration::from_secs(1));
    let unlock = siteproof(dir.path())
        .args(["user", "unlock", "--login", "ann"])
        .output()
        .expect("run");
    assert!(
        unlock.status.success(),
        "{}",
        String::from_utf8_lossy(&unlock.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&unlock.stdout).trim(),
        "unlocked ann"
    );
    assert_eq!(office_login(&url, "ann", "a-long-password"), 303);
}
