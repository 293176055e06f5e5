//! Schemathesis, a property-based API tester, against a running server from its own
//! description (`GET /v1/openapi.json`): bounded examples per operation, a device token so it
//! gets past 401, and no answer may be a 5xx. The operations whose bodies it cannot make
//! (CBOR sync, tus chunks) are left to their own tests. `scripts/test-all.sh` installs the tool in
//! `~/.cache/siteproof-tools/schemathesis` (or set `SITEPROOF_SCHEMATHESIS` to its binary).

use std::path::PathBuf;
use std::process::Command;

use siteproof_tests::server::TestServer;

fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("SITEPROOF_SCHEMATHESIS") {
        return path.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let path = PathBuf::from(home).join(".cache/siteproof-tools/schemathesis/bin/schemathesis");
    assert!(
        path.exists(),
        "{} is missing: run scripts/test-all.sh (it installs schemathesis) or set \
         SITEPROOF_SCHEMATHESIS",
        path.display()
    );
    path
}

#[test]
fn no_generated_request_gets_a_server_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path());
    let group = server.create_group("第一督导组");
    let code = server.enrollment_code(&group);
    let enrolled: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("{}/v1/enroll", server.url()))
        .json(&serde_json::json!({ "code": code, "device_name": "schemathesis" }))
        .send()
        .expect("enroll")
        .json()
        .expect("enrollment JSON");
    let token = enrolled["token"].as_str().expect("a token");

    let out = Command::new(schemathesis())
        .arg("run")
        .arg(format!("{}/v1/openapi.json", server.url()))
        .args(["--checks", "not_a_server_error"])
        .args(["--max-examples", "20"])
        .args(["--request-timeout", "10"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // Bodies it cannot make: CBOR (sync) and tus chunks (`application/offset+octet-stream`).
        // Their own tests cover them: sync_api, sync_refusals and the fuzz targets; tus_api
        // and the standard tus clients.
        .args(["--exclude-operation-id-regex", "^(sync|create|append)$"])
        .env("NO_COLOR", "1")
        // Its cache of found failures stays out of the work tree.
        .current_dir(dir.path())
        .output()
        .expect("run schemathesis");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{report}");
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}"
    );
}
