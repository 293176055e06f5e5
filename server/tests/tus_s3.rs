//! tus uploads into S3-compatible object storage, against a real Garage node, with PATCHes
//! written by hand: a wrong hash that stores nothing, serving with ranges and thumbnails,
//! expiry, an upload continued on another process. (Uploads by the core's uploader and
//! tuspy in 1 MiB, 8 MiB and whole-file chunks are in `tus_s3_clients.rs`.)

mod common;
mod media_fixture;
mod s3_fixture;

use axum::body::Body;
use axum::http::StatusCode;
use common::{RealServer, TestServer};
use media_fixture::*;
use object_store::ObjectStoreExt;
use s3_fixture::{
    Garage, assert_no_staging_object_is_left, assert_staged_parts_of_at_least_5_mib,
    assert_stored_in_parts, chunk_ends, expected_parts, keys,
};
use siteproof_core::MediaRef;
use siteproof_server::ServerConfig;
use siteproof_server::blob::{BlobLocation, MultipartState, S3BlobStore};
use siteproof_server::evidence::EvidenceStatus;

const MIB: usize = 1 << 20;

/// A server whose blobs are under `prefix` in a Garage node of its own, and a phone.
struct Bucketed {
    server: TestServer,
    store: S3BlobStore,
    phone: MediaPhone,
    token: String,
    // Last: stopped after the server.
    _garage: Garage,
}

impl Bucketed {
    async fn start(prefix: &str) -> Self {
        let garage = Garage::start();
        let config = ServerConfig {
            blobs: BlobLocation::S3(garage.location(prefix)),
            ..ServerConfig::default()
        };
        let server = TestServer::with_config(config).await;
        let phone = MediaPhone::enroll(&server, "g1").await;
        Self {
            store: garage.store(prefix),
            token: phone.phone.token.clone(),
            phone,
            server,
            _garage: garage,
        }
    }

    /// A synced visit referencing `data`, and an upload of it created: the file's reference
    /// and the upload's URL.
    async fn begin(&mut self, data: &[u8]) -> (MediaRef, String) {
        let (visit, media_ref) = self.phone.visit_with_evidence(&self.server, data).await;
        let created = create(
            &self.server,
            &self.token,
            visit.as_str(),
            media_ref.hash.as_str(),
            data.len() as u64,
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let location = created.header("location").expect("location").to_string();
        (media_ref, location)
    }
}

fn upload_id(location: &str) -> &str {
    location.rsplit('/').next().expect("id")
}

/// Upload `id`'s row in the server's database.
async fn upload_row(server: &TestServer, id: &str) -> siteproof_server::storage::UploadRow {
    server
        .state
        .storage
        .upload_store()
        .upload(id)
        .await
        .expect("read")
        .expect("an upload's row")
}

/// Upload `id`'s multipart state, as saved with its offset in the database.
async fn staging_state(server: &TestServer, id: &str) -> MultipartState {
    MultipartState::from_staging(&upload_row(server, id).await.progress.staging)
        .expect("an incomplete upload has a multipart state")
}

/// Uploads `data` in `chunk`-byte PATCHes; after each one but the last, every part sent is
/// at least 5 MiB and the parts and tail hold every byte.
async fn upload_in_chunks(
    server: &TestServer,
    token: &str,
    location: &str,
    data: &[u8],
    chunk: usize,
) {
    let mut offset = 0;
    while offset < data.len() {
        let end = (offset + chunk).min(data.len());
        let answer = patch(server, token, location, offset as u64, &data[offset..end]).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{:?}", answer.body);
        assert_eq!(answer.header("upload-offset"), Some(&*end.to_string()));
        offset = end;
        if end < data.len() {
            assert_staged_parts_of_at_least_5_mib(server.state.storage.as_ref()).await;
            let state = staging_state(server, upload_id(location)).await;
            assert_eq!(state.staged(), end as u64, "parts and tail hold every byte");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_hash_aborts_the_multipart_upload_and_stores_nothing() {
    let mut b = Bucketed::start("wrong").await;
    let len = 6 * MIB + 1;
    let data = pseudo_random(len, 42);
    let (media_ref, location) = b.begin(&data).await;
    let (server, store, token) = (&b.server, &b.store, &b.token);
    let mut forged = data.clone();
    forged[len - 1] ^= 1;
    let id = upload_id(&location).to_string();
    let first = patch(server, token, &location, 0, &forged[..5 * MIB + 7]).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    let state = staging_state(server, &id).await;
    let multipart = state.upload_id.clone().expect("begun with the upload");
    let last = patch(
        server,
        token,
        &location,
        5 * MIB as u64 + 7,
        &forged[5 * MIB + 7..],
    )
    .await;
    assert_eq!(
        last.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        last.body
    );
    assert_eq!(last.error_code(), "hash_mismatch");

    assert_eq!(keys(store, "wrong/blobs").await, Vec::<String>::new());
    assert_eq!(keys(store, "wrong/meta").await, Vec::<String>::new());
    assert_eq!(keys(store, "wrong/staging").await, Vec::<String>::new());
    // The multipart upload is gone: completing it now fails.
    let s3 = store.object_store();
    let completed = object_store::multipart::MultipartStore::complete_multipart(
        s3.as_ref(),
        &store.blob_key(&media_ref.hash),
        &multipart,
        vec![object_store::multipart::PartId {
            content_id: state.parts[0].etag.clone(),
        }],
    )
    .await;
    assert!(completed.is_err(), "the multipart upload was not aborted");
    assert_eq!(keys(store, "wrong/blobs").await, Vec::<String>::new());
    // The server is still up and answers.
    let head = send(
        server,
        tus("HEAD", &location, token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_is_served_from_the_bucket_with_ranges_etags_and_thumbnails() {
    let mut b = Bucketed::start("serve").await;
    let len = 7 * MIB + 3;
    let data = pseudo_random(len, 50);
    let (media_ref, location) = b.begin(&data).await;
    let photo_ref = upload_photo(&b.server, &mut b.phone).await;
    let (server, store, token) = (&b.server, &b.store, &b.token);
    upload_in_chunks(server, token, &location, &data, 2 * MIB).await;
    let ends = chunk_ends(len as u64, 2 * MIB as u64);
    assert_stored_in_parts(store, &media_ref.hash, &data, &ends).await;

    let uri = format!("/v1/media/{}", media_ref.hash);
    let whole = send(
        server,
        tus("GET", &uri, token).body(Body::empty()).expect("req"),
    )
    .await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(&whole.body[..], &data[..]);
    // A range across the first part's end.
    let (start, end) = (5 * MIB - 10, 5 * MIB + 20);
    let ranged = send(
        server,
        tus("GET", &uri, token)
            .header("range", format!("bytes={start}-{}", end - 1))
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(ranged.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&ranged.body[..], &data[start..end]);
    assert_eq!(
        ranged.header("content-range"),
        Some(&*format!("bytes {start}-{}/{len}", end - 1))
    );
    let suffix = send(
        server,
        tus("GET", &uri, token)
            .header("range", "bytes=-100")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(&suffix.body[..], &data[len - 100..]);
    let cached = send(
        server,
        tus("GET", &uri, token)
            .header("if-none-match", format!("\"{}\"", media_ref.hash))
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert!(cached.body.is_empty());

    // A photo: its thumbnail is made from the bucket's copy and stored there.
    assert_photo_thumbnail(server, token, &photo_ref.hash).await;
    assert_eq!(
        keys(store, "serve/thumbnails").await,
        vec![format!("serve/thumbnails/{}.jpg", photo_ref.hash)]
    );

    // `admin evidence verify` re-hashes what is in the bucket: a byte flipped there is caught.
    let status_of = |checks: &[siteproof_server::evidence::EvidenceCheck]| {
        checks
            .iter()
            .find(|c| c.hash == media_ref.hash)
            .map(|c| c.status)
            .expect("the video is checked")
    };
    let evidence = &server.state.evidence;
    let checks = evidence.reverify_all("admin").await.expect("verify");
    // This phone signs nothing: intact bytes read "unverified" (not signed), not rejected.
    assert_eq!(status_of(&checks), EvidenceStatus::Unverified, "{checks:?}");
    let mut flipped = data.clone();
    flipped[len / 2] ^= 0x40;
    let s3 = store.object_store();
    s3.put(&store.blob_key(&media_ref.hash), flipped.into())
        .await
        .expect("damage the object");
    let checks = evidence.reverify_all("admin").await.expect("verify");
    assert_eq!(status_of(&checks), EvidenceStatus::Rejected, "{checks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_upload_is_aborted_and_swept_from_the_bucket() {
    let mut b = Bucketed::start("expiry").await;
    let len = 6 * MIB;
    let data = pseudo_random(len, 60);
    let (_, location) = b.begin(&data).await;
    let (server, store, token) = (&b.server, &b.store, &b.token);
    let id = upload_id(&location).to_string();
    let first = patch(server, token, &location, 0, &data[..5 * MIB + 1]).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    let state = staging_state(server, &id).await;
    assert_eq!(state.parts.len(), 1, "{state:?}");
    let multipart = state.upload_id.clone().expect("begun with the upload");

    // Its expiry passes (written into its row, as time would).
    common::set_upload_expiry(server.state.storage.as_ref(), 0).await;
    let swept = server.state.media.sweep_expired().await.expect("sweep");
    assert_eq!(swept, 1);
    assert_eq!(keys(store, "expiry/staging").await, Vec::<String>::new());
    assert_eq!(keys(store, "expiry/blobs").await, Vec::<String>::new());
    let row = server.state.storage.upload_store().upload(&id).await;
    assert_eq!(row.expect("read"), None, "the row goes after the bytes");
    // The multipart upload is gone: completing it now fails.
    let completed = object_store::multipart::MultipartStore::complete_multipart(
        store.object_store().as_ref(),
        &store.blob_key(&state.hash),
        &multipart,
        vec![object_store::multipart::PartId {
            content_id: state.parts[0].etag.clone(),
        }],
    )
    .await;
    assert!(completed.is_err(), "the multipart upload was not aborted");
    let head = send(
        server,
        tus("HEAD", &location, token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
}

/// Two server processes on one data directory (and PostgreSQL database, when the suite runs
/// there) and one bucket: a `PATCH` on A, the next on B, A killed in the middle of a chunk,
/// the rest on B. The upload completes with the hash
/// continued from the saved state (staged parts cannot be read back from the bucket).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_begun_on_one_process_continues_on_another_after_the_first_is_killed() {
    use media_fixture::processes::{Data, DiskPhone, tus_over_http};
    use tokio::io::AsyncWriteExt;

    let garage = Garage::start();
    let setup = TestServer::new().await;
    let mut phone = DiskPhone::enroll(&setup, "g1").await;
    let len = 26 * MIB + 99;
    let file = phone.dir.path().join("footage.mp4");
    let hash = media_fixture::write_pseudo_random_file(&file, len as u64, 7);
    let data = std::fs::read(&file).expect("read");
    let (visit, media_ref) = phone.capture_and_sync(&setup, &file).await;
    assert_eq!(media_ref.hash.as_str(), hash);
    let shared = Data::closing(setup).await;

    let mut env = garage.env.clone();
    env.push(("SITEPROOF_BLOBS".into(), "s3://siteproof/ab".into()));
    // A's lease on the upload lapses 2 s after A is killed (not 30), and B takes it then.
    env.push(("SITEPROOF_UPLOAD_LEASE_MS".into(), "2000".into()));
    let a = shared.start(&env);
    let b = shared.start(&env);
    let store = garage.store("ab");
    let client = reqwest::Client::new();
    let tus = |method, url| tus_over_http(&client, &phone.token, method, url);
    let created = tus(
        reqwest::Method::POST,
        format!("http://{}/v1/uploads", a.addr),
    )
    .header("upload-length", len.to_string())
    .header("upload-metadata", metadata(visit.as_str(), &hash))
    .send()
    .await
    .expect("create");
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let path = created.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let id = upload_id(&path).to_string();
    let patch_on = |addr: std::net::SocketAddr, offset: usize, end: usize| {
        tus(reqwest::Method::PATCH, format!("http://{addr}{path}"))
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", offset.to_string())
            .header("upload-checksum", checksum(&data[offset..end]))
            .body(data[offset..end].to_vec())
            .send()
    };
    let first = patch_on(a.addr, 0, 8 * MIB).await.expect("patch on A");
    assert_eq!(first.status(), reqwest::StatusCode::NO_CONTENT);
    let second = patch_on(b.addr, 8 * MIB, 16 * MIB)
        .await
        .expect("patch on B");
    assert_eq!(second.status(), reqwest::StatusCode::NO_CONTENT);
    assert_eq!(second.headers()["upload-offset"], &*(16 * MIB).to_string());

    // The rest to A, cut by killing A after 6 of its 10 MiB (A may have sent a part).
    let mut raw = tokio::net::TcpStream::connect(a.addr)
        .await
        .expect("connect A");
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\ntus-resumable: 1.0.0\r\n\
         content-type: application/offset+octet-stream\r\nupload-offset: {}\r\n\
         upload-checksum: {}\r\ncontent-length: {}\r\n\r\n",
        a.addr,
        phone.token,
        16 * MIB,
        checksum(&data[16 * MIB..len]),
        len - 16 * MIB
    );
    raw.write_all(head.as_bytes()).await.expect("head");
    raw.write_all(&data[16 * MIB..22 * MIB])
        .await
        .expect("part of the body");
    raw.flush().await.expect("flush");
    a.kill();
    drop(raw);

    let saved = shared
        .storage()
        .await
        .upload_store()
        .upload(&id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        saved.progress.offset,
        16 * MIB as u64,
        "the offset acknowledged last is the row's"
    );
    assert!(
        saved.progress.hash_state.is_some(),
        "the hash state of every accepted byte is saved with the upload"
    );
    let status = tus(reqwest::Method::HEAD, format!("http://{}{path}", b.addr))
        .send()
        .await
        .expect("head on B");
    assert_eq!(status.headers()["upload-offset"], &*(16 * MIB).to_string());
    let last = patch_on(b.addr, 16 * MIB, len)
        .await
        .expect("last patch on B");
    assert_eq!(last.status(), reqwest::StatusCode::NO_CONTENT);
    assert_eq!(last.headers()["upload-offset"], &*len.to_string());

    let ends = [8 * MIB as u64, 16 * MIB as u64, len as u64];
    assert_stored_in_parts(&store, &media_ref.hash, &data, &ends).await;
    assert_no_staging_object_is_left(&store, "ab", &id).await;
    drop(b);
}

/// One `PATCH` without a checksum for most of a file, its connection cut after 27 MiB: the
/// parts sent at once while it streamed (three of 8 MiB) are stored in order, the 3 MiB
/// after them are the tail, the offset and the saved hash state are at their end, and a
/// `PATCH` from there completes the upload with the whole file's hash verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_patch_across_several_parts_keeps_the_parts_stored_in_order_and_resumes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut b = Bucketed::start("cut").await;
    let len = 40 * MIB + 5;
    let data = pseudo_random(len, 70);
    let (media_ref, location) = b.begin(&data).await;
    let listening = RealServer::start(&b.server).await;
    let (server, store, token) = (&b.server, &b.store, &b.token);
    let id = upload_id(&location).to_string();

    let cut = 27 * MIB;
    let mut raw = tokio::net::TcpStream::connect(listening.addr)
        .await
        .expect("connect");
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\n\
         tus-resumable: 1.0.0\r\ncontent-type: application/offset+octet-stream\r\n\
         upload-offset: 0\r\ncontent-length: {len}\r\n\r\n",
        listening.addr
    );
    raw.write_all(head.as_bytes()).await.expect("head");
    raw.write_all(&data[..cut]).await.expect("part of the body");
    // The connection ends 27 MiB into the body; the answer comes once the server is done.
    raw.shutdown().await.expect("shut down the sending side");
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).await.expect("the answer");
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.starts_with("HTTP/1.1 204"), "{answer}");

    let state = staging_state(server, &id).await;
    let sizes: Vec<u64> = state.parts.iter().map(|p| p.size).collect();
    assert_eq!(sizes, vec![8 * MIB as u64; 3], "{state:?}");
    assert_eq!(state.tail, 3 * MIB as u64);
    assert_staged_parts_of_at_least_5_mib(server.state.storage.as_ref()).await;
    let saved = upload_row(server, &id).await;
    assert_eq!(saved.progress.offset, cut as u64);
    assert!(saved.progress.hash_state.is_some());
    let offset = send(
        server,
        tus("HEAD", &location, token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(offset.header("upload-offset"), Some(&*cut.to_string()));

    let rest = patch(server, token, &location, cut as u64, &data[cut..]).await;
    assert_eq!(rest.status, StatusCode::NO_CONTENT, "{:?}", rest.body);
    assert_eq!(rest.header("upload-offset"), Some(&*len.to_string()));
    let ends = [cut as u64, len as u64];
    assert_eq!(
        expected_parts(len as u64, &ends),
        [vec![8 * MIB as u64; 5], vec![5]].concat(),
        "the resumed PATCH begins with the 3 MiB tail: two more 8 MiB parts and the last 5 bytes"
    );
    assert_stored_in_parts(store, &media_ref.hash, &data, &ends).await;
    assert_no_staging_object_is_left(store, "cut", &id).await;
    drop(listening);
}
