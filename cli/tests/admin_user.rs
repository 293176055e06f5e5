//! `siteproof admin user add`: creates back-office users; the password comes from the
//! environment or standard input, never the command line.

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
