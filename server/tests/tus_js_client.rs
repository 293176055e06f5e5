//! tus-js-client, the standard JavaScript tus client (npm, version 4, unmodified, with its
//! default options: the whole file in one `PATCH`), against a real server on a port: a
//! `PATCH` cut mid-body resumes exactly where the cut left the server, and a file the server
//! already holds finishes without a 409 and without its body being sent.
//!
//! Needs Node.js and `npm ci` in `tests/tus-js` (what `scripts/test-all.sh` does).

mod common;
mod media_fixture;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::Ordering;

use common::{RealServer, TestServer};
use media_fixture::cut_proxy::CutProxy;
use media_fixture::processes::{DiskPhone, Proxy, sha256_file};
use media_fixture::write_pseudo_random_file;
use serde_json::Value;
use siteproof_core::MediaHash;

const FILE_LEN: u64 = 48 << 20;

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/tus-js")
}

/// Runs tus-js-client on `file` for `record`; its report (every answer it read, in order).
async fn tus_js(endpoint: String, token: &str, record: &str, hash: &str, file: PathBuf) -> Value {
    assert!(
        client_dir().join("node_modules/tus-js-client").is_dir(),
        "tus-js-client is not installed: run `npm ci` in tests/tus-js"
    );
    let args = [
        client_dir().join("upload.mjs").display().to_string(),
        endpoint,
        token.to_owned(),
        record.to_owned(),
        hash.to_owned(),
        file.display().to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(&args)
            .output()
            .expect("node runs (install Node.js)")
    })
    .await
    .expect("node task");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "tus-js-client printed no report: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(out.status.success(), "tus-js-client failed: {report}");
    report
}

fn answers(report: &Value) -> Vec<(String, u64, Option<u64>, Option<u64>)> {
    report["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .map(|a| {
            (
                a["method"].as_str().expect("method").to_owned(),
                a["status"].as_u64().expect("status"),
                a["sent_offset"].as_u64(),
                a["offset"].as_u64(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_file_patch_cut_midway_resumes_exactly_where_the_cut_left_the_server() {
    let server = TestServer::new().await;
    let mut phone = DiskPhone::enroll(&server, "g1").await;
    let file = phone.dir.path().join("clip.mp4");
    let hash = write_pseudo_random_file(&file, FILE_LEN, 7);
    let (visit, _) = phone.capture_and_sync(&server, &file).await;
    let real = RealServer::start(&server).await;
    // A seed-free but uneven cut point: well inside the body, not on a buffer boundary.
    let cut_after = 20 * (1 << 20) + 12_345;
    let proxy = CutProxy::start(real.addr, cut_after).await;

    let report = tus_js(proxy.endpoint(), &phone.token, visit.as_str(), &hash, file).await;

    assert!(proxy.cut.load(Ordering::SeqCst), "the first PATCH was cut");
    let seen = answers(&report);
    let head = seen
        .iter()
        .find(|a| a.0 == "HEAD")
        .unwrap_or_else(|| panic!("the client asked where to resume: {seen:?}"));
    assert_eq!(
        head.3,
        Some(cut_after),
        "the server kept every byte that arrived before the cut: {seen:?}"
    );
    let patches: Vec<_> = seen.iter().filter(|a| a.0 == "PATCH").collect();
    assert_eq!(
        patches.len(),
        1,
        "one PATCH answered, the resumed one: {seen:?}"
    );
    assert_eq!(
        (patches[0].1, patches[0].2, patches[0].3),
        (204, Some(cut_after), Some(FILE_LEN)),
        "the resume sent only the bytes after the cut: {seen:?}"
    );
    assert!(
        seen.iter().all(|a| a.1 != 409),
        "no offset conflict: {seen:?}"
    );
    let blob = server.dir.path().join("blobs").join("blobs").join(&hash);
    assert_eq!(sha256_file(&blob), hash, "the stored file is whole");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_the_server_already_holds_finishes_without_a_409_or_its_body() {
    let server = TestServer::new().await;
    let mut phone = DiskPhone::enroll(&server, "g1").await;
    let file = phone.dir.path().join("clip.mp4");
    let hash = write_pseudo_random_file(&file, FILE_LEN, 11);
    let (first, _) = phone.capture_and_sync(&server, &file).await;
    let real = RealServer::start(&server).await;
    let endpoint = real.url("/v1/uploads");
    let report = tus_js(endpoint, &phone.token, first.as_str(), &hash, file.clone()).await;
    assert_eq!(report["ok"], true);

    // A second visit names the same file: the server holds it already.
    let (second, _) = phone.capture_and_sync(&server, &file).await;
    let proxy = Proxy::start(real.addr, None).await;
    let report = tus_js(proxy.endpoint(), &phone.token, second.as_str(), &hash, file).await;

    let seen = answers(&report);
    let statuses: Vec<_> = seen.iter().map(|a| (a.0.as_str(), a.1)).collect();
    assert_eq!(
        statuses,
        [("POST", 201), ("PATCH", 204)],
        "created, then one PATCH answered done: no 409, no retry ({seen:?})"
    );
    assert_eq!(
        seen[1].3,
        Some(FILE_LEN),
        "the PATCH answer says every byte is here"
    );
    let sent = proxy.sent.load(Ordering::SeqCst);
    eprintln!("a stored file: {sent} of {FILE_LEN} bytes went out");
    assert!(
        sent < FILE_LEN / 2,
        "the body was not sent: {sent} of {FILE_LEN} bytes went out"
    );
    let hash: MediaHash = hash.parse().expect("hash");
    let meta = server
        .state
        .media
        .blobs()
        .blob_meta(&hash)
        .await
        .expect("blob store")
        .expect("stored");
    assert!(
        meta.records.contains(&second),
        "the second visit is recorded as referencing the file"
    );
}
