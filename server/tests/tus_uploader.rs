//! The core's uploader against a real port-0 server in this process: progress reports,
//! cancellation that keeps what was acknowledged, the unmetered-only policy, dedup at
//! creation, the queue marked done (so the original may be evicted), and an upload locked by
//! a stalled request ridden out with backoff.

mod common;
mod media_fixture;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::TestServer;
use media_fixture::processes::DiskPhone;
use media_fixture::write_pseudo_random_file;
use siteproof_core::Error;
use siteproof_core::media::checksum::ChecksumAlgorithm;
use siteproof_core::media::{Network, UploadProgress, UploadState, Uploader, UploaderConfig};

/// Serves `server`'s app on a new loopback port; returns the tus endpoint.
async fn listen(server: &TestServer) -> String {
    format!("http://{}/v1/uploads", serve_on_a_new_port(server).await)
}

async fn serve_on_a_new_port(server: &TestServer) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = server.state.clone();
    tokio::spawn(async move {
        let _ = siteproof_server::serve(listener, state, std::future::pending()).await;
    });
    addr
}

/// An uploader sending every PATCH `chunk` bytes long (no growth), as these tests count on.
fn uploader(endpoint: &str, token: &str, chunk: usize) -> Uploader {
    let mut config = UploaderConfig::new(endpoint, token);
    config.chunk_size = chunk;
    config.max_chunk_size = chunk;
    Uploader::new(config).expect("uploader")
}

/// On a fast link PATCHes double from `chunk_size` up to `max_chunk_size`, the
/// chunk hashed ahead keeping the size chosen when it started: 1, 1, 2, 4, 4, ... MiB here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_grow_on_a_fast_link_up_to_the_largest_size() {
    let server = TestServer::new().await;
    let mut phone = DiskPhone::enroll(&server, "g1").await;
    let file = phone.dir.path().join("clip.mp4");
    let len = 20_000_000_u64;
    let hash = write_pseudo_random_file(&file, len, 37);
    let (_, media_ref) = phone.capture_and_sync(&server, &file).await;
    let endpoint = listen(&server).await;
    let token = phone.token.clone();
    let (run, done) = tokio::task::spawn_blocking(move || {
        let mut config = UploaderConfig::new(endpoint, token);
        config.chunk_size = 1 << 20;
        config.max_chunk_size = 4 << 20;
        // Any answer within a minute counts as fast: growth does not hang on the machine's load.
        config.patch_grows_below = std::time::Duration::from_secs(60);
        let mut done = Vec::new();
        let run = phone.upload_queue(config, &mut |p| done.push(p.done));
        (run, done)
    })
    .await
    .expect("upload");
    assert_eq!(run.completed, vec![media_ref.hash.clone()], "{run:?}");
    let sizes: Vec<u64> = std::iter::once(0)
        .chain(done.iter().copied())
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| w[1] - w[0])
        .collect();
    const MIB: u64 = 1 << 20;
    assert_eq!(sizes[..4], [MIB, MIB, 2 * MIB, 4 * MIB], "{sizes:?}");
    assert!(sizes.iter().all(|&s| s <= 4 * MIB), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<u64>(), len);
    assert_eq!(run.bytes_sent, len, "nothing sent twice");
    // The server's HEAD lists CRC-32C first: every chunk went with it (and passed it).
    assert!(!run.checked_with.is_empty());
    assert!(
        run.checked_with
            .iter()
            .all(|(h, a)| *h == media_ref.hash && *a == ChecksumAlgorithm::Crc32c),
        "{:?}",
        run.checked_with
    );
    let blob = server.dir.path().join("blobs/blobs").join(&hash);
    assert_eq!(std::fs::metadata(blob).expect("stored").len(), len);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_at_a_chunk_boundary_and_the_next_run_resumes_there() {
    let server = TestServer::new().await;
    let mut phone = DiskPhone::enroll(&server, "g1").await;
    let file = phone.dir.path().join("clip.mp4");
    let hash = write_pseudo_random_file(&file, 6_000_000, 31);
    let (_, media_ref) = phone.capture_and_sync(&server, &file).await;
    let endpoint = listen(&server).await;
    let token = phone.token.clone();

    let (phone, first, reports) = tokio::task::spawn_blocking(move || {
        let uploader = uploader(&endpoint, &token, 1 << 20);
        let cancel = Arc::new(AtomicBool::new(false));
        let mut reports: Vec<UploadProgress> = Vec::new();
        let flag = Arc::clone(&cancel);
        let mut progress = |p: &UploadProgress| {
            reports.push(p.clone());
            if p.done >= 2 << 20 {
                flag.store(true, Ordering::SeqCst);
            }
        };
        let first = uploader.run(
            &mut phone.store,
            &phone.media,
            Network::Unmetered,
            &cancel,
            &mut progress,
        );
        let first = first.map(|_| ()).map_err(|e| matches!(e, Error::Cancelled));
        (phone, first, reports)
    })
    .await
    .expect("first run");

    assert_eq!(first, Err(true), "the run ends with Cancelled");
    assert_eq!(
        reports.iter().map(|p| p.done).collect::<Vec<_>>(),
        vec![1 << 20, 2 << 20]
    );
    assert!(
        reports
            .iter()
            .all(|p| p.total == 6_000_000 && p.hash == media_ref.hash)
    );
    let item = phone
        .store
        .upload_item(&media_ref.hash)
        .expect("q")
        .expect("queued");
    assert_eq!(
        (item.state, item.offset),
        (UploadState::Pending, 2 << 20),
        "acknowledged bytes kept"
    );

    let endpoint = format!(
        "http://{}/v1/uploads",
        serve_elsewhere(&item.upload_url, &server).await
    );
    let token = phone.token.clone();
    let (phone, second) = tokio::task::spawn_blocking(move || {
        let mut phone = phone;
        let uploader = uploader(&endpoint, &token, 1 << 20);
        let run = uploader.run(
            &mut phone.store,
            &phone.media,
            Network::Unmetered,
            &AtomicBool::new(false),
            &mut |_| {},
        );
        (phone, run.expect("second run"))
    })
    .await
    .expect("second run");

    assert_eq!(second.completed, vec![media_ref.hash.clone()]);
    assert_eq!(second.resumed_from, vec![(media_ref.hash.clone(), 2 << 20)]);
    assert_eq!(second.bytes_sent, 6_000_000 - (2 << 20));
    let info = phone
        .store
        .media_info(&media_ref.hash)
        .expect("q")
        .expect("row");
    assert!(
        info.verified_at.is_some(),
        "verified: the original may now be evicted"
    );
    let blob = server.dir.path().join("blobs/blobs").join(&hash);
    assert_eq!(media_fixture::processes::sha256_file(&blob), hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_phone_uploads_the_plaintext_and_resumes_mid_file() {
    let server = TestServer::new().await;
    let key = siteproof_core::StoreKey::random();
    let mut phone = DiskPhone::enroll_keyed(&server, "g1", Some(&key)).await;
    let file = phone.dir.path().join("clip.mp4");
    let hash = write_pseudo_random_file(&file, 3_500_000, 47);
    let (_, media_ref) = phone.capture_and_sync(&server, &file).await;
    let stored = phone.media.original_path(&media_ref.hash).expect("stored");
    assert_ne!(
        media_fixture::processes::sha256_file(&stored),
        hash,
        "encrypted on the phone"
    );
    let endpoint = listen(&server).await;
    let token = phone.token.clone();

    let (phone, first, second) = tokio::task::spawn_blocking(move || {
        let uploader = uploader(&endpoint, &token, 1 << 20);
        let cancel = AtomicBool::new(false);
        let first = uploader.run(
            &mut phone.store,
            &phone.media,
            Network::Unmetered,
            &cancel,
            &mut |_| cancel.store(true, Ordering::SeqCst),
        );
        let second = uploader.run(
            &mut phone.store,
            &phone.media,
            Network::Unmetered,
            &AtomicBool::new(false),
            &mut |_| {},
        );
        (
            phone,
            first.map(|_| ()).map_err(|e| matches!(e, Error::Cancelled)),
            second,
        )
    })
    .await
    .expect("runs");

    assert_eq!(first, Err(true), "cancelled after the first chunk");
    let second = second.expect("second run");
    assert_eq!(second.completed, vec![media_ref.hash.clone()]);
    assert_eq!(second.resumed_from, vec![(media_ref.hash.clone(), 1 << 20)]);
    // The checksums computed ahead, through a second decrypting reader, matched every chunk.
    assert_eq!(second.chunks_resent, 0, "no chunk was sent twice");
    assert_eq!(second.bytes_sent, 3_500_000 - (1 << 20));
    let blob = server.dir.path().join("blobs/blobs").join(&hash);
    assert_eq!(media_fixture::processes::sha256_file(&blob), hash);
    drop(phone);
}

/// Checks the stored upload URL is relative, then serves the same state on another port:
/// the resumed run below talks to a server that moved.
async fn serve_elsewhere(upload_url: &Option<String>, server: &TestServer) -> std::net::SocketAddr {
    assert!(
        upload_url
            .as_deref()
            .is_some_and(|u| u.starts_with("/v1/uploads/")),
        "{upload_url:?}"
    );
    serve_on_a_new_port(server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_footage_waits_for_an_unmetered_network_and_a_known_file_completes_at_creation() {
    let server = TestServer::new().await;
    let mut phone = DiskPhone::enroll(&server, "g1").await;
    let big = phone.dir.path().join("big.mp4");
    write_pseudo_random_file(&big, 60_000_000, 41);
    let (_, big_ref) = phone.capture_and_sync(&server, &big).await;
    let endpoint = listen(&server).await;
    let token = phone.token.clone();

    let (mut phone, metered) = tokio::task::spawn_blocking(move || {
        let uploader = uploader(&endpoint, &token, 8 << 20);
        let run = uploader.run(
            &mut phone.store,
            &phone.media,
            Network::Metered,
            &AtomicBool::new(false),
            &mut |_| {},
        );
        (phone, run.expect("metered run"))
    })
    .await
    .expect("run");
    assert_eq!(metered.waiting_for_unmetered, 1);
    assert!(metered.completed.is_empty() && metered.bytes_sent == 0);

    // A second phone with the same footage: the server has it after the first upload.
    let mut other = DiskPhone::enroll(&server, "g1").await;
    let copy = other.dir.path().join("copy.mp4");
    std::fs::copy(
        phone.media.original_path(&big_ref.hash).expect("original"),
        &copy,
    )
    .expect("copy");
    other.capture_and_sync(&server, &copy).await;
    let endpoint = listen(&server).await;
    let (token, other_token) = (phone.token.clone(), other.token.clone());
    let (first, second) = tokio::task::spawn_blocking(move || {
        let first = uploader(&endpoint, &token, 8 << 20)
            .run(
                &mut phone.store,
                &phone.media,
                Network::Unmetered,
                &AtomicBool::new(false),
                &mut |_| {},
            )
            .expect("wifi run");
        let second = uploader(&endpoint, &other_token, 8 << 20)
            .run(
                &mut other.store,
                &other.media,
                Network::Unmetered,
                &AtomicBool::new(false),
                &mut |_| {},
            )
            .expect("second phone");
        (first, second)
    })
    .await
    .expect("runs");

    assert_eq!(first.completed, vec![big_ref.hash.clone()]);
    assert_eq!(first.bytes_sent, 60_000_000);
    assert_eq!(second.completed, vec![big_ref.hash.clone()]);
    assert_eq!(
        second.bytes_sent, 0,
        "the server already held it: nothing sent"
    );
}

/// A proxy that counts the `423` answers the server sends back through it.
async fn counting_423s(upstream: std::net::SocketAddr) -> (String, Arc<AtomicU64>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let locked = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&locked);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let count = Arc::clone(&count);
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    let _ = sw.shutdown().await;
                };
                let down = async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n) = sr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        if buf[..n].starts_with(b"HTTP/1.1 423 ") {
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = cw.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (format!("http://{addr}/v1/uploads"), locked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_locked_by_a_stalled_request_is_retried_with_backoff_and_completes() {
    use tokio::io::AsyncWriteExt;
    let media = siteproof_server::tus::MediaConfig {
        lock_wait: std::time::Duration::from_millis(300),
        ..Default::default()
    };
    let server = TestServer::with_config(siteproof_server::ServerConfig {
        media,
        ..Default::default()
    })
    .await;
    let mut phone = DiskPhone::enroll(&server, "g1").await;
    let file = phone.dir.path().join("clip.mp4");
    let hash = write_pseudo_random_file(&file, 3_000_000, 23);
    let (visit, media_ref) = phone.capture_and_sync(&server, &file).await;
    let endpoint = listen(&server).await;
    let addr: std::net::SocketAddr = endpoint
        .trim_start_matches("http://")
        .trim_end_matches("/v1/uploads")
        .parse()
        .expect("addr");

    // Another request (a client that stalled mid-body) holds the upload.
    let created =
        media_fixture::create(&server, &phone.token, visit.as_str(), &hash, 3_000_000).await;
    let location = created.header("location").expect("location").to_owned();
    let mut holder = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\n\
         Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: 0\r\nContent-Length: 3000000\r\n\r\n",
        phone.token
    );
    holder.write_all(head.as_bytes()).await.expect("head");
    holder
        .write_all(&std::fs::read(&file).expect("file")[..1000])
        .await
        .expect("first bytes");
    // The server takes the upload once it reads the stalled request's head: until then a
    // HEAD finds it free (200); from then on it answers 423.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let probe = media_fixture::tus("HEAD", &location, &phone.token)
            .body(axum::body::Body::empty())
            .expect("request");
        let status = media_fixture::send(&server, probe).await.status.as_u16();
        if status == 423 {
            break;
        }
        assert!(
            status == 200 && std::time::Instant::now() < deadline,
            "the stalled request never held the upload: {status}"
        );
        tokio::task::yield_now().await;
    }
    phone
        .store
        .set_upload_url(&media_ref.hash, Some(&location))
        .expect("queue knows the upload");

    let (through, locked) = counting_423s(addr).await;
    let token = phone.token.clone();
    let run = tokio::task::spawn_blocking(move || {
        let mut config = UploaderConfig::new(through, token);
        config.chunk_size = 1 << 20;
        config.retry_backoff = std::time::Duration::from_millis(50);
        let run = phone.upload_queue(config, &mut |_| {});
        (run, phone)
    });
    // Once the uploader has met the lock, the stalled client goes away.
    let waited = std::time::Instant::now();
    while locked.load(Ordering::SeqCst) == 0 {
        assert!(
            waited.elapsed().as_secs() < 30,
            "the uploader never met the lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(holder);
    let (run, _phone) = run.await.expect("uploader task");

    assert_eq!(run.completed, vec![media_ref.hash.clone()], "{run:?}");
    assert!(run.deferred.is_empty() && run.failed.is_empty(), "{run:?}");
    assert!(
        run.resumed_from.contains(&(media_ref.hash.clone(), 1000)),
        "it went on from the bytes the stalled request delivered: {run:?}"
    );
    assert!(locked.load(Ordering::SeqCst) >= 1);
    let blob = server.dir.path().join("blobs").join("blobs").join(&hash);
    assert_eq!(media_fixture::processes::sha256_file(&blob), hash);
}
