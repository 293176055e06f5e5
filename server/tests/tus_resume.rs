//! Resumable uploads over real sockets and processes: a 300 MB upload survives a SIGKILLed
//! client and a SIGKILLed server, re-sending at most one chunk; a byte flipped in transit
//! costs one re-sent chunk and nothing else. With `SITEPROOF_TEST_BACKEND=postgres` the
//! server processes share a PostgreSQL database (the uploads' rows and leases in it).

mod common;
mod media_fixture;

use std::sync::atomic::Ordering;

use common::TestServer;
use media_fixture::processes::*;
use media_fixture::write_pseudo_random_file;
use siteproof_core::media::UploadState;

const CHUNK: usize = 8 << 20;
const BIG: u64 = 300_000_000;
/// Request lines and headers of every request of one upload, generously.
const HEADER_SLACK: u64 = 256 * 1024;

/// A server data folder with groups, and a phone whose visit (referencing a `len`-byte video)
/// is already on the server. The in-process server is closed before the child takes over.
async fn setup(len: u64, seed: u64) -> (Data, DiskPhone, String) {
    let server = TestServer::new().await;
    let mut phone = DiskPhone::enroll(&server, "g1").await;
    let file = phone.dir.path().join("footage.mp4");
    let hash = write_pseudo_random_file(&file, len, seed);
    let (_, media_ref) = phone.capture_and_sync(&server, &file).await;
    assert_eq!(media_ref.hash.as_str(), hash);
    std::fs::remove_file(&file).expect("the media store holds its own copy");
    (Data::closing(server).await, phone, hash)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_mb_upload_whose_client_is_killed_midway_resumes_and_resends_at_most_one_chunk() {
    let (data, phone, hash) = setup(BIG, 11).await;
    let server = data.start(&[]);
    let proxy = Proxy::start(server.addr, None).await;
    let endpoint = proxy.endpoint();

    let (phone, first) = tokio::task::spawn_blocking(move || {
        let mut child = phone.upload_child(&endpoint, CHUNK);
        let run = follow(&mut child, |done| done >= 120_000_000);
        child.kill().expect("SIGKILL the client");
        child.wait().expect("reap");
        (phone, run)
    })
    .await
    .expect("first run");
    assert!(first.last_progress >= 120_000_000 && first.last_progress < BIG);

    let endpoint = proxy.endpoint();
    let (phone, second) = tokio::task::spawn_blocking(move || {
        let mut child = phone.upload_child(&endpoint, CHUNK);
        let run = follow(&mut child, |_| false);
        (phone, run)
    })
    .await
    .expect("second run");

    assert_eq!(second.exit, Some(0), "{}", second.done_line);
    assert_eq!(second.field("completed"), 1);
    let resumed = second.field("resumed_from");
    assert!(
        resumed >= first.last_progress,
        "resumed at {resumed}, acknowledged {}",
        first.last_progress
    );
    assert_eq!(second.field("bytes_sent"), BIG - resumed);
    let sent = proxy.sent.load(Ordering::SeqCst);
    assert!(
        sent <= BIG + CHUNK as u64 + HEADER_SLACK,
        "sent {sent} for {BIG}: more than one chunk again"
    );
    assert_eq!(sha256_file(&data.blob(&hash)), hash);
    let item = phone
        .store
        .upload_item(&hash.parse().expect("hash"))
        .expect("q")
        .expect("row");
    assert_eq!(item.state, UploadState::Done);
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_mb_upload_survives_the_server_being_killed_and_restarted_midway() {
    let (data, phone, hash) = setup(BIG, 12).await;
    let server = data.start(&[]);
    let proxy = Proxy::start(server.addr, None).await;
    let endpoint = proxy.endpoint();

    let mut server = Some(server);
    let (phone, first, server) = tokio::task::spawn_blocking(move || {
        let mut child = phone.upload_child(&endpoint, CHUNK);
        let run = follow(&mut child, |done| {
            if done >= 120_000_000
                && let Some(s) = server.take()
            {
                s.kill();
            }
            false
        });
        (phone, run, server)
    })
    .await
    .expect("first run");
    assert!(server.is_none(), "the server was killed midway");
    assert_eq!(
        first.exit,
        Some(2),
        "the run stops and defers: {}",
        first.done_line
    );
    assert!(first.last_progress < BIG);

    let restarted = data.start(&[]);
    *proxy.upstream.lock().expect("upstream") = restarted.addr;
    let endpoint = proxy.endpoint();
    let second = tokio::task::spawn_blocking(move || {
        let mut child = phone.upload_child(&endpoint, CHUNK);
        follow(&mut child, |_| false)
    })
    .await
    .expect("second run");

    assert_eq!(second.exit, Some(0), "{}", second.done_line);
    assert!(second.field("resumed_from") >= first.last_progress);
    let sent = proxy.sent.load(Ordering::SeqCst);
    assert!(
        sent <= BIG + CHUNK as u64 + HEADER_SLACK,
        "sent {sent} for {BIG}: more than one chunk again"
    );
    assert_eq!(sha256_file(&data.blob(&hash)), hash);
    restarted.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_flipped_in_transit_fails_the_chunk_checksum_and_only_that_chunk_is_resent() {
    const LEN: u64 = 40_000_000;
    let (data, phone, hash) = setup(LEN, 13).await;
    let server = data.start(&[]);
    // 20 MB into the client's traffic: inside the third chunk's body.
    let proxy = Proxy::start(server.addr, Some(20_000_000)).await;
    let endpoint = proxy.endpoint();

    let run = tokio::task::spawn_blocking(move || {
        let mut child = phone.upload_child(&endpoint, CHUNK);
        follow(&mut child, |_| false)
    })
    .await
    .expect("run");

    assert_eq!(run.exit, Some(0), "{}", run.done_line);
    assert_eq!(run.field("resent"), 1);
    assert_eq!(run.field("bytes_sent"), LEN + CHUNK as u64);
    assert_eq!(
        sha256_file(&data.blob(&hash)),
        hash,
        "the stored file is intact"
    );
    server.kill();
}

/// Two server processes on one data folder: while a `PATCH` on A is in progress (its body
/// stalled, A renewing the upload's lease), B answers `423 Locked` to a `HEAD` and to a
/// `PATCH` on the same upload, however long A's request lasts; once it ends, B continues the
/// upload from the offset A stored, and the file completes, its hash verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_in_progress_on_one_process_locks_the_upload_on_the_other() {
    use tokio::io::AsyncWriteExt;

    let len = 3 * 1024 * 1024_u64;
    let server = TestServer::new().await;
    let mut phone = DiskPhone::enroll(&server, "g1").await;
    let file = phone.dir.path().join("footage.mp4");
    let hash = write_pseudo_random_file(&file, len, 31);
    let original = std::fs::read(&file).expect("read");
    let (visit, _) = phone.capture_and_sync(&server, &file).await;
    let data = Data::closing(server).await;
    // Leases of 600 ms renewed every 200 ms; a request waits 300 ms for a locked upload.
    let env: Vec<(String, String)> = [
        ("SITEPROOF_UPLOAD_LEASE_MS", "600"),
        ("SITEPROOF_UPLOAD_LOCK_WAIT_MS", "300"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let a = data.start(&env);
    let b = data.start(&env);
    let client = reqwest::Client::new();
    let tus = |method, url| tus_over_http(&client, &phone.token, method, url);
    let created = tus(
        reqwest::Method::POST,
        format!("http://{}/v1/uploads", a.addr),
    )
    .header("upload-length", len.to_string())
    .header(
        "upload-metadata",
        media_fixture::metadata(visit.as_str(), &hash),
    )
    .send()
    .await
    .expect("create");
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let path = created.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();

    // A PATCH on A without a checksum, stalled after its first MiB.
    let mut stalled = tokio::net::TcpStream::connect(a.addr)
        .await
        .expect("connect A");
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\ntus-resumable: 1.0.0\r\n\
         content-type: application/offset+octet-stream\r\nupload-offset: 0\r\n\
         content-length: {len}\r\n\r\n",
        a.addr, phone.token
    );
    stalled.write_all(head.as_bytes()).await.expect("head");
    stalled
        .write_all(&original[..1 << 20])
        .await
        .expect("first MiB");
    stalled.flush().await.expect("flush");
    // Once A has the upload, B is refused, also well past several lease lengths.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let head = tus(reqwest::Method::HEAD, format!("http://{}{path}", b.addr))
            .send()
            .await
            .expect("head on B");
        if head.status().as_u16() == 423 {
            break;
        }
        assert!(
            head.status().is_success() && std::time::Instant::now() < deadline,
            "A never took the upload: {}",
            head.status()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        let refused = tus(reqwest::Method::PATCH, format!("http://{}{path}", b.addr))
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", "0")
            .body(original[..1000].to_vec())
            .send()
            .await
            .expect("patch on B");
        assert_eq!(
            refused.status().as_u16(),
            423,
            "B must wait for A's request"
        );
    }

    // A's request ends (its connection cut): A keeps the MiB that arrived, and B goes on.
    drop(stalled);
    let offset = loop {
        let head = tus(reqwest::Method::HEAD, format!("http://{}{path}", b.addr))
            .send()
            .await
            .expect("head on B");
        if head.status().is_success() {
            break head.headers()["upload-offset"]
                .to_str()
                .expect("offset")
                .parse::<usize>()
                .expect("number");
        }
        assert_eq!(head.status().as_u16(), 423);
        assert!(
            std::time::Instant::now() < deadline,
            "B never got the upload"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    // (A has read the MiB by now, seconds later, unless the machine is very slow.)
    assert!(
        offset > 0 && offset <= 1 << 20,
        "A kept what arrived: {offset}"
    );
    let rest = tus(reqwest::Method::PATCH, format!("http://{}{path}", b.addr))
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .body(original[offset..].to_vec())
        .send()
        .await
        .expect("rest on B");
    assert_eq!(rest.status(), reqwest::StatusCode::NO_CONTENT);
    assert_eq!(rest.headers()["upload-offset"], &*len.to_string());
    assert_eq!(std::fs::read(data.blob(&hash)).expect("stored"), original);
    drop((a, b));
}
