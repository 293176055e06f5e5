//! The tus upload and media endpoints through `app()`: the protocol, verification, dedup,
//! scope, expiry, serving, and clear 4xx for every malformed request.

mod common;
mod media_fixture;

use std::ops::Range;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestServer;
use media_fixture::*;
use siteproof_core::MediaHash;
use siteproof_server::AppState;
use siteproof_server::blob::{
    BlobMeta, BlobResult, BlobStore, ByteStream, HashProgress, LegacyStaged, StagedUpload,
    StagedWriter,
};
use siteproof_server::tus::MediaService;

fn blob_root(server: &TestServer) -> std::path::PathBuf {
    server.dir.path().join("blobs")
}

#[tokio::test]
async fn options_advertises_tus_1_0_0_with_its_extensions_and_checksums() {
    let server = TestServer::new().await;
    let answer = send(
        &server,
        Request::options("/v1/uploads")
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(answer.header("tus-version"), Some("1.0.0"));
    assert_eq!(answer.header("tus-resumable"), Some("1.0.0"));
    let extensions: Vec<&str> = answer
        .header("tus-extension")
        .expect("extensions")
        .split(',')
        .collect();
    for ext in [
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    ] {
        assert!(extensions.contains(&ext), "{ext} missing");
    }
    assert_eq!(
        answer.header("tus-checksum-algorithm"),
        Some("crc32c,sha256,sha1")
    );
}

#[tokio::test]
async fn a_chunked_upload_is_verified_stored_and_served_with_ranges_and_etag() {
    let server = TestServer::new().await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    let data = pseudo_random(300_000, 1);
    let (visit, media_ref) = phone.visit_with_evidence(&server, &data).await;
    let token = phone.phone.token.clone();

    let created = create(
        &server,
        &token,
        visit.as_str(),
        media_ref.hash.as_str(),
        data.len() as u64,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert!(created.header("upload-expires").is_some());
    let location = created.header("location").expect("location").to_string();
    let first = patch(&server, &token, &location, 0, &data[..100_000]).await;
    assert_eq!(
        (first.status, first.header("upload-offset")),
        (StatusCode::NO_CONTENT, Some("100000"))
    );
    let head = send(
        &server,
        tus("HEAD", &location, &token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(head.header("upload-offset"), Some("100000"));
    assert_eq!(head.header("upload-length"), Some("300000"));
    assert_eq!(head.header("cache-control"), Some("no-store"));
    let last = patch(&server, &token, &location, 100_000, &data[100_000..]).await;
    assert_eq!(
        (last.status, last.header("upload-offset")),
        (StatusCode::NO_CONTENT, Some("300000"))
    );

    let stored = std::fs::read(
        blob_root(&server)
            .join("blobs")
            .join(media_ref.hash.as_str()),
    )
    .expect("blob");
    assert_eq!(stored, data);
    let uri = format!("/v1/media/{}", media_ref.hash);
    let whole = send(
        &server,
        tus("GET", &uri, &token).body(Body::empty()).expect("req"),
    )
    .await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.header("content-type"), Some("video/mp4"));
    assert_eq!(
        whole.header("etag"),
        Some(format!("\"{}\"", media_ref.hash).as_str())
    );
    assert_eq!(&whole.body[..], &data[..]);
    let ranged = tus("GET", &uri, &token)
        .header("range", "bytes=1000-1999")
        .body(Body::empty())
        .expect("req");
    let part = send(&server, ranged).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.header("content-range"), Some("bytes 1000-1999/300000"));
    assert_eq!(&part.body[..], &data[1000..2000]);
    let etag = format!("\"{}\"", media_ref.hash);
    let cached = tus("GET", &uri, &token)
        .header("if-none-match", &etag)
        .body(Body::empty())
        .expect("req");
    assert_eq!(send(&server, cached).await.status, StatusCode::NOT_MODIFIED);
    let beyond = tus("GET", &uri, &token)
        .header("range", "bytes=400000-")
        .body(Body::empty())
        .expect("req");
    let beyond = send(&server, beyond).await;
    assert_eq!(
        (beyond.status, beyond.header("content-range")),
        (StatusCode::RANGE_NOT_SATISFIABLE, Some("bytes */300000"))
    );
}

#[tokio::test]
async fn creation_with_upload_completes_a_small_file_in_one_request() {
    let server = TestServer::new().await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    let data = pseudo_random(5000, 2);
    let (visit, media_ref) = phone.visit_with_evidence(&server, &data).await;
    let req = tus("POST", "/v1/uploads", &phone.phone.token)
        .header("upload-length", "5000")
        .header(
            "upload-metadata",
            metadata(visit.as_str(), media_ref.hash.as_str()),
        )
        .header("content-type", "application/offset+octet-stream")
        .header("upload-checksum", checksum(&data))
        .body(Body::from(data.clone()))
        .expect("req");
    let answer = send(&server, req).await;
    assert_eq!(
        (answer.status, answer.header("upload-offset")),
        (StatusCode::CREATED, Some("5000"))
    );
    assert!(
        blob_root(&server)
            .join("blobs")
            .join(media_ref.hash.as_str())
            .is_file()
    );
}

#[tokio::test]
async fn a_wrong_claimed_hash_is_rejected_and_nothing_is_stored() {
    let server = TestServer::new().await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    let data = pseudo_random(10_000, 3);
    let (visit, media_ref) = phone.visit_with_evidence(&server, &data).await;
    let token = phone.phone.token.clone();
    let created = create(
        &server,
        &token,
        visit.as_str(),
        media_ref.hash.as_str(),
        10_000,
    )
    .await;
    let location = created.header("location").expect("location").to_string();

    // Other bytes than the ones the record's hash names, each chunk consistent with its checksum.
    let forged = pseudo_random(10_000, 99);
    let answer = patch(&server, &token, &location, 0, &forged).await;

    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch")
    );
    assert_eq!(
        files_under(&blob_root(&server)),
        Vec::<String>::new(),
        "nothing stored, nothing staged"
    );
    let media = send(
        &server,
        tus("GET", &format!("/v1/media/{}", media_ref.hash), &token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(media.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_chunk_that_fails_its_checksum_is_discarded_with_460_and_can_be_resent() {
    let server = TestServer::new().await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    let data = pseudo_random(20_000, 4);
    let (visit, media_ref) = phone.visit_with_evidence(&server, &data).await;
    let token = phone.phone.token.clone();
    let location = create(
        &server,
        &token,
        visit.as_str(),
        media_ref.hash.as_str(),
        20_000,
    )
    .await;
    let location = location.header("location").expect("location").to_string();

    let mut damaged = data.clone();
    damaged[1234] ^= 0x40;
    let req = tus("PATCH", &location, &token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "0")
        .header("upload-checksum", checksum(&data))
        .body(Body::from(damaged))
        .expect("req");
    let refused = send(&server, req).await;
    assert_eq!(
        (refused.status.as_u16(), refused.error_code().as_str()),
        (460, "checksum_mismatch")
    );
    let head = send(
        &server,
        tus("HEAD", &location, &token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(head.header("upload-offset"), Some("0"));

    let resent = patch(&server, &token, &location, 0, &data).await;
    assert_eq!(resent.status, StatusCode::NO_CONTENT);
    let stored = std::fs::read(
        blob_root(&server)
            .join("blobs")
            .join(media_ref.hash.as_str()),
    )
    .expect("blob");
    assert_eq!(stored, data);
}

/// Each offered algorithm checks the chunk it comes with: a damaged body is refused with 460
/// and a sound one kept, one chunk after another of the same upload, and HEAD says which
/// algorithms there are (a resuming client reads them there).
#[tokio::test]
async fn every_offered_checksum_algorithm_checks_its_chunk() {
    use siteproof_core::media::checksum::{ChecksumAlgorithm, UploadChecksum};

    let server = TestServer::new().await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    let data = pseudo_random(30_000, 9);
    let (visit, media_ref) = phone.visit_with_evidence(&server, &data).await;
    let token = phone.phone.token.clone();
    let created = create(
        &server,
        &token,
        visit.as_str(),
        media_ref.hash.as_str(),
        30_000,
    )
    .await;
    let location = created.header("location").expect("location").to_string();
    for (n, algorithm) in ChecksumAlgorithm::ALL.into_iter().enumerate() {
        let (offset, chunk) = (n * 10_000, &data[n * 10_000..(n + 1) * 10_000]);
        let mut hasher = algorithm.hasher();
        hasher.update(chunk);
        let header = UploadChecksum::new(algorithm, hasher.finish()).to_string();
        let mut damaged = chunk.to_vec();
        damaged[4321] ^= 0x01;
        for (body, expected) in [(damaged, 460), (chunk.to_vec(), 204)] {
            let req = tus("PATCH", &location, &token)
                .header("content-type", "application/offset+octet-stream")
                .header("upload-offset", offset.to_string())
                .header("upload-checksum", &header)
                .body(Body::from(body))
                .expect("req");
            let answer = send(&server, req).await;
            assert_eq!(answer.status.as_u16(), expected, "{header}");
        }
        let head = send(
            &server,
            tus("HEAD", &location, &token)
                .body(Body::empty())
                .expect("req"),
        )
        .await;
        let stored = (n + 1) * 10_000;
        assert_eq!(
            head.header("upload-offset"),
            Some(stored.to_string().as_str())
        );
        assert_eq!(
            head.header("tus-checksum-algorithm"),
            Some("crc32c,sha256,sha1")
        );
    }
    let stored = std::fs::read(
        blob_root(&server)
            .join("blobs")
            .join(media_ref.hash.as_str()),
    )
    .expect("blob");
    assert_eq!(stored, data);
}

#[tokio::test]
async fn a_cut_body_without_checksum_keeps_the_bytes_that_arrived_and_one_with_a_checksum_keeps_none()
 {
    let server = TestServer::new().await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    let data = pseudo_random(20_000, 9);
    let (visit, media_ref) = phone.visit_with_evidence(&server, &data).await;
    let token = phone.phone.token.clone();
    let location = create(
        &server,
        &token,
        visit.as_str(),
        media_ref.hash.as_str(),
        20_000,
    )
    .await;
    let location = location.header("location").expect("location").to_string();
    let offset = || async {
        let req = tus("HEAD", &location, &token)
            .body(Body::empty())
            .expect("req");
        send(&server, req)
            .await
            .header("upload-offset")
            .map(str::to_owned)
    };
    // A connection that breaks after `len` bytes of the body.
    let cut_after = |from: usize, len: usize| {
        let part = bytes::Bytes::copy_from_slice(&data[from..from + len]);
        Body::from_stream(futures_util::stream::iter(vec![
            Ok(part),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "cut",
            )),
        ]))
    };

    // With a checksum: the chunk cannot be checked, so nothing of it stays.
    let req = tus("PATCH", &location, &token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "0")
        .header("upload-checksum", checksum(&data[..10_000]))
        .body(cut_after(0, 7_000))
        .expect("req");
    assert_eq!(send(&server, req).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(offset().await.as_deref(), Some("0"));

    // Without one (a whole file in one PATCH, as standard clients send it): the bytes that
    // arrived stay, and the resume sends only the rest.
    let req = tus("PATCH", &location, &token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "0")
        .body(cut_after(0, 7_000))
        .expect("req");
    assert_eq!(send(&server, req).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(offset().await.as_deref(), Some("7000"));
    let rest = patch(&server, &token, &location, 7_000, &data[7_000..]).await;
    assert_eq!(rest.status, StatusCode::NO_CONTENT);
    let stored = std::fs::read(
        blob_root(&server)
            .join("blobs")
            .join(media_ref.hash.as_str()),
    )
    .expect("blob");
    assert_eq!(stored, data, "the whole file, verified against its hash");
}

#[tokio::test]
async fn the_same_file_from_two_devices_is_stored_once() {
    let server = TestServer::new().await;
    let mut a = MediaPhone::enroll(&server, "g1").await;
    let mut b = MediaPhone::enroll(&server, "g1").await;
    let data = pseudo_random(50_000, 5);
    let (visit_a, media_ref) = a.visit_with_evidence(&server, &data).await;
    let (visit_b, _) = b.visit_with_evidence(&server, &data).await;

    // Both start before either finishes.
    let loc_a = create(
        &server,
        &a.phone.token,
        visit_a.as_str(),
        media_ref.hash.as_str(),
        50_000,
    )
    .await;
    let loc_b = create(
        &server,
        &b.phone.token,
        visit_b.as_str(),
        media_ref.hash.as_str(),
        50_000,
    )
    .await;
    let (loc_a, loc_b) = (
        loc_a.header("location").expect("a").to_string(),
        loc_b.header("location").expect("b").to_string(),
    );
    assert_eq!(
        patch(&server, &a.phone.token, &loc_a, 0, &data)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        patch(&server, &b.phone.token, &loc_b, 0, &data)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // A third upload of the same file completes at creation.
    let again = create(
        &server,
        &a.phone.token,
        visit_a.as_str(),
        media_ref.hash.as_str(),
        50_000,
    )
    .await;
    assert_eq!(
        (again.status, again.header("upload-offset")),
        (StatusCode::CREATED, Some("50000"))
    );

    let blobs = files_under(&blob_root(&server).join("blobs"));
    assert_eq!(blobs, vec![media_ref.hash.to_string()]);
    let parts: Vec<String> = files_under(&blob_root(&server).join("staging"))
        .into_iter()
        .filter(|f| f.ends_with(".part"))
        .collect();
    assert!(parts.is_empty(), "staged bytes left: {parts:?}");
    let meta = server
        .state
        .media
        .blobs()
        .blob_meta(&media_ref.hash)
        .await
        .expect("meta")
        .expect("stored");
    assert_eq!(
        meta.records.len(),
        2,
        "both visits recorded as referencing it"
    );
}

#[tokio::test]
async fn a_device_may_upload_only_media_its_records_reference() {
    let server = TestServer::new().await;
    let mut inside = MediaPhone::enroll(&server, "g1").await;
    let outsider = MediaPhone::enroll(&server, "g2").await;
    let data = pseudo_random(1000, 6);
    let (visit, media_ref) = inside.visit_with_evidence(&server, &data).await;
    let other_hash = "ab".repeat(32);

    let foreign = create(
        &server,
        &outsider.phone.token,
        visit.as_str(),
        media_ref.hash.as_str(),
        1000,
    )
    .await;
    assert_eq!(
        (foreign.status, foreign.error_code().as_str()),
        (StatusCode::FORBIDDEN, "not_referenced")
    );
    let unreferenced = create(
        &server,
        &inside.phone.token,
        visit.as_str(),
        &other_hash,
        1000,
    )
    .await;
    assert_eq!(unreferenced.status, StatusCode::FORBIDDEN);
    let unknown_record = create(
        &server,
        &inside.phone.token,
        "no-such-visit",
        media_ref.hash.as_str(),
        1000,
    )
    .await;
    assert_eq!(unknown_record.status, StatusCode::FORBIDDEN);
    let anonymous = Request::post("/v1/uploads")
        .header("tus-resumable", "1.0.0")
        .body(Body::empty())
        .expect("req");
    assert_eq!(
        send(&server, anonymous).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(files_under(&blob_root(&server).join("staging")).is_empty());
}

#[tokio::test]
async fn media_is_served_only_to_devices_that_may_read_a_referencing_record() {
    let server = TestServer::new().await;
    let mut owner = MediaPhone::enroll(&server, "g1").await;
    let outsider = MediaPhone::enroll(&server, "g2").await;
    let data = pseudo_random(2000, 7);
    let (visit, media_ref) = owner.visit_with_evidence(&server, &data).await;
    let location = create(
        &server,
        &owner.phone.token,
        visit.as_str(),
        media_ref.hash.as_str(),
        2000,
    )
    .await;
    patch(
        &server,
        &owner.phone.token,
        location.header("location").expect("loc"),
        0,
        &data,
    )
    .await;

    let uri = format!("/v1/media/{}?record={visit}", media_ref.hash);
    let denied = send(
        &server,
        tus("GET", &uri, &outsider.phone.token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(
        (denied.status, denied.error_code().as_str()),
        (StatusCode::NOT_FOUND, "media_not_found")
    );
    let thumb = send(
        &server,
        tus(
            "GET",
            &format!("/v1/media/{}/thumbnail", media_ref.hash),
            &outsider.phone.token,
        )
        .body(Body::empty())
        .expect("req"),
    )
    .await;
    assert_eq!(thumb.status, StatusCode::NOT_FOUND);
    let allowed = send(
        &server,
        tus("GET", &uri, &owner.phone.token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK);
}

#[tokio::test]
async fn a_photo_gets_a_server_made_thumbnail() {
    let server = TestServer::new().await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    let media_ref = upload_photo(&server, &mut phone).await;
    assert_photo_thumbnail(&server, &phone.phone.token, &media_ref.hash).await;
}

#[tokio::test]
async fn an_expired_incomplete_upload_answers_gone_and_is_swept() {
    let server = TestServer::new().await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    let data = pseudo_random(4000, 8);
    let (visit, media_ref) = phone.visit_with_evidence(&server, &data).await;
    let token = phone.phone.token.clone();
    let first = create(
        &server,
        &token,
        visit.as_str(),
        media_ref.hash.as_str(),
        4000,
    )
    .await;
    let first = first.header("location").expect("loc").to_string();
    patch(&server, &token, &first, 0, &data[..1000]).await;
    let second = create(
        &server,
        &token,
        visit.as_str(),
        media_ref.hash.as_str(),
        4000,
    )
    .await;
    assert!(!files_under(&blob_root(&server).join("staging")).is_empty());
    // A day passes: both uploads' expiry moves into the past (as the clock would move it; the
    // test must not depend on how fast a loaded machine runs the steps above).
    common::set_upload_expiry(server.state.storage.as_ref(), 1).await;

    let gone = send(
        &server,
        tus("HEAD", &first, &token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(gone.status, StatusCode::GONE);
    // While another process holds the second upload's lease (it is appending to it), the
    // sweep leaves it alone, however expired it reads.
    let second_id = second
        .header("location")
        .expect("loc")
        .rsplit('/')
        .next()
        .expect("id")
        .to_string();
    let leases = server.state.storage.upload_lease_store();
    let at = siteproof_core::model::now();
    assert!(
        leases
            .take_lease(&second_id, "another process", at, at + 60_000)
            .await
            .expect("lease")
    );
    let swept = server.state.media.sweep_expired().await.expect("sweep");
    assert_eq!(swept, 0, "the leased upload is spared");
    leases
        .release_lease(&second_id, "another process")
        .await
        .expect("release");
    let swept = server.state.media.sweep_expired().await.expect("sweep");
    assert_eq!(swept, 1, "the second upload, never touched again");
    assert!(files_under(&blob_root(&server).join("staging")).is_empty());
    let late = patch(
        &server,
        &token,
        second.header("location").expect("loc"),
        0,
        &data,
    )
    .await;
    assert_eq!(late.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn requests_on_unknown_completed_and_terminated_uploads_leave_no_lock_behind() {
    let server = TestServer::new().await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    let token = phone.phone.token.clone();
    let data = pseudo_random(5000, 9);
    let (visit, media_ref) = phone.visit_with_evidence(&server, &data).await;
    let hash = media_ref.hash.as_str();
    let done = create(&server, &token, visit.as_str(), hash, 5000).await;
    let done = done.header("location").expect("loc").to_string();
    patch(&server, &token, &done, 0, &data[..2000]).await;
    let last = patch(&server, &token, &done, 2000, &data[2000..]).await;
    assert_eq!(last.status, StatusCode::NO_CONTENT);
    let other = pseudo_random(3000, 10);
    let (visit2, media_ref2) = phone.visit_with_evidence(&server, &other).await;
    let dropped = create(
        &server,
        &token,
        visit2.as_str(),
        media_ref2.hash.as_str(),
        3000,
    )
    .await;
    let dropped = dropped.header("location").expect("loc").to_string();
    let gone = send(
        &server,
        tus("DELETE", &dropped, &token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);

    for i in 0..200 {
        let unknown = format!("/v1/uploads/{i:032x}");
        let head = send(
            &server,
            tus("HEAD", &unknown, &token)
                .body(Body::empty())
                .expect("req"),
        )
        .await;
        assert_eq!(head.status, StatusCode::NOT_FOUND);
        let patched = patch(&server, &token, &unknown, 0, b"x").await;
        assert_eq!(patched.status, StatusCode::NOT_FOUND);
        let again = patch(&server, &token, &done, 0, &data).await;
        assert_eq!(again.header("upload-offset"), Some("5000"));
        let head = send(
            &server,
            tus("HEAD", &done, &token).body(Body::empty()).expect("req"),
        )
        .await;
        assert_eq!(head.header("upload-offset"), Some("5000"));
    }
    assert_eq!(
        server.state.media.upload_slots(),
        0,
        "a lock entry outlived its requests"
    );
}

#[tokio::test]
async fn malformed_requests_get_clear_4xx_and_write_nothing_outside_the_blob_store() {
    let server = TestServer::new().await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    let data = pseudo_random(1000, 9);
    let (visit, media_ref) = phone.visit_with_evidence(&server, &data).await;
    let token = phone.phone.token.clone();
    let before = files_under(server.dir.path());
    let (record, hash) = (visit.as_str(), media_ref.hash.as_str());
    let post = |headers: Vec<(&'static str, String)>| {
        let mut req =
            Request::post("/v1/uploads").header("authorization", format!("Bearer {token}"));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.body(Body::empty()).expect("req")
    };
    let v = || ("tus-resumable", "1.0.0".to_string());
    let len = |n: &str| ("upload-length", n.to_string());
    let meta = || ("upload-metadata", metadata(record, hash));
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post(vec![len("1000"), meta()]),
            StatusCode::BAD_REQUEST,
            "missing_header",
        ),
        (
            post(vec![("tus-resumable", "0.2.2".into()), len("1000"), meta()]),
            StatusCode::PRECONDITION_FAILED,
            "unsupported_version",
        ),
        (
            post(vec![v(), meta()]),
            StatusCode::BAD_REQUEST,
            "missing_header",
        ),
        (
            post(vec![v(), len("-5"), meta()]),
            StatusCode::BAD_REQUEST,
            "invalid_header",
        ),
        (
            post(vec![v(), len("1000")]),
            StatusCode::BAD_REQUEST,
            "missing_header",
        ),
        (
            post(vec![
                v(),
                len("1000"),
                ("upload-metadata", "record !!!".into()),
            ]),
            StatusCode::BAD_REQUEST,
            "invalid_header",
        ),
        (
            post(vec![
                v(),
                len("1000"),
                ("upload-metadata", metadata("../../etc", hash)),
            ]),
            StatusCode::BAD_REQUEST,
            "invalid_header",
        ),
        (
            post(vec![
                v(),
                len("1000"),
                ("upload-metadata", metadata(record, "../../../etc/passwd")),
            ]),
            StatusCode::BAD_REQUEST,
            "invalid_header",
        ),
        (
            post(vec![v(), len(&(1u64 << 40).to_string()), meta()]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload_too_large",
        ),
        (
            tus("HEAD", "/v1/uploads/..%2F..%2Fsiteproof.db", &token)
                .body(Body::empty())
                .expect("req"),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            tus("PATCH", "/v1/uploads/..%2Fmeta%2Fx", &token)
                .header("content-type", "application/offset+octet-stream")
                .header("upload-offset", "0")
                .body(Body::from("x"))
                .expect("req"),
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            tus("GET", "/v1/media/..%2F..%2Fsiteproof.db", &token)
                .body(Body::empty())
                .expect("req"),
            StatusCode::BAD_REQUEST,
            "invalid_id",
        ),
        (
            tus("DELETE", &format!("/v1/uploads/{}", "0".repeat(32)), &token)
                .body(Body::empty())
                .expect("req"),
            StatusCode::NOT_FOUND,
            "unknown_upload",
        ),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let answer = send(&server, req).await;
        assert_eq!(
            answer.status,
            status,
            "case {i}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        if !code.is_empty() {
            assert_eq!(answer.error_code(), code, "case {i}");
        }
    }

    let location = create(&server, &token, record, hash, 1000)
        .await
        .header("location")
        .expect("loc")
        .to_string();
    let bad_offset = patch(&server, &token, &location, 10, &data[10..]).await;
    assert_eq!(
        (bad_offset.status, bad_offset.header("upload-offset")),
        (StatusCode::CONFLICT, Some("0"))
    );
    let no_offset = tus("PATCH", &location, &token)
        .header("content-type", "application/offset+octet-stream")
        .body(Body::from("x"))
        .expect("req");
    assert_eq!(
        send(&server, no_offset).await.error_code(),
        "missing_header"
    );
    let wrong_type = tus("PATCH", &location, &token)
        .header("upload-offset", "0")
        .body(Body::from("x"))
        .expect("req");
    assert_eq!(
        send(&server, wrong_type).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let md5 = tus("PATCH", &location, &token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "0")
        .header("upload-checksum", "md5 AAAA")
        .body(Body::from("x"))
        .expect("req");
    assert_eq!(
        send(&server, md5).await.error_code(),
        "checksum_algorithm_unsupported"
    );
    let too_long = [data.clone(), data.clone()].concat();
    let oversize = patch(&server, &token, &location, 0, &too_long).await;
    assert_eq!(
        (oversize.status, oversize.error_code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "upload_too_large")
    );
    let head = send(
        &server,
        tus("HEAD", &location, &token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(
        head.header("upload-offset"),
        Some("0"),
        "nothing of the refused bodies kept"
    );
    let terminated = send(
        &server,
        tus("DELETE", &location, &token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(terminated.status, StatusCode::NO_CONTENT);

    let after: Vec<String> = files_under(server.dir.path())
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    assert!(
        after.iter().all(|f| f.starts_with("blobs/")),
        "written outside the blob store: {after:?}"
    );
    assert!(
        files_under(&blob_root(&server).join("staging")).is_empty(),
        "termination left files"
    );
}

/// A blob store counting the staged bytes read back (a process continuing an upload from its
/// row reads none).
struct CountingReads {
    inner: std::sync::Arc<dyn BlobStore>,
    reads: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl BlobStore for CountingReads {
    async fn blob_meta(&self, hash: &MediaHash) -> BlobResult<Option<BlobMeta>> {
        self.inner.blob_meta(hash).await
    }
    async fn put_blob_meta(&self, hash: &MediaHash, meta: &BlobMeta) -> BlobResult<()> {
        self.inner.put_blob_meta(hash, meta).await
    }
    async fn read_blob(&self, hash: &MediaHash, range: Range<u64>) -> BlobResult<ByteStream> {
        self.inner.read_blob(hash, range).await
    }
    async fn thumbnail(&self, hash: &MediaHash) -> BlobResult<Option<bytes::Bytes>> {
        self.inner.thumbnail(hash).await
    }
    async fn put_thumbnail(&self, hash: &MediaHash, jpeg: bytes::Bytes) -> BlobResult<()> {
        self.inner.put_thumbnail(hash, jpeg).await
    }
    async fn begin_staged(&self, id: &str, length: u64, hash: &MediaHash) -> BlobResult<String> {
        self.inner.begin_staged(id, length, hash).await
    }
    async fn append_staged(
        &self,
        id: &str,
        offset: u64,
        staging: &str,
    ) -> BlobResult<Box<dyn StagedWriter>> {
        self.inner.append_staged(id, offset, staging).await
    }
    async fn read_staged(&self, id: &str) -> BlobResult<ByteStream> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.read_staged(id).await
    }
    async fn commit_staged(
        &self,
        id: &str,
        staging: &str,
        hash: &MediaHash,
        meta: &BlobMeta,
    ) -> BlobResult<()> {
        self.inner.commit_staged(id, staging, hash, meta).await
    }
    async fn delete_staged(&self, id: &str, staging: &str) -> BlobResult<()> {
        self.inner.delete_staged(id, staging).await
    }
    async fn legacy_staged(&self) -> BlobResult<Vec<LegacyStaged>> {
        self.inner.legacy_staged().await
    }
    async fn forget_legacy_staged(&self, id: &str) -> BlobResult<()> {
        self.inner.forget_legacy_staged(id).await
    }
    async fn list_blobs(&self) -> BlobResult<Vec<MediaHash>> {
        self.inner.list_blobs().await
    }
    async fn put_blob(&self, hash: &MediaHash, data: ByteStream) -> BlobResult<u64> {
        self.inner.put_blob(hash, data).await
    }
    async fn check_ready(&self) -> BlobResult<()> {
        self.inner.check_ready().await
    }
}

/// A phone's synced visit referencing `len` pseudo-random bytes, and an upload of them
/// created: the phone's token, the bytes, their reference and the upload's URL.
async fn begun(
    server: &TestServer,
    len: usize,
    seed: u64,
) -> (String, Vec<u8>, siteproof_core::MediaRef, String) {
    let mut phone = MediaPhone::enroll(server, "g1").await;
    let token = phone.phone.token.clone();
    let data = pseudo_random(len, seed);
    let (visit, media_ref) = phone.visit_with_evidence(server, &data).await;
    let created = create(
        server,
        &token,
        visit.as_str(),
        media_ref.hash.as_str(),
        len as u64,
    )
    .await;
    let location = created.header("location").expect("location").to_string();
    (token, data, media_ref, location)
}

fn head(location: &str, token: &str) -> Request<Body> {
    tus("HEAD", location, token)
        .body(Body::empty())
        .expect("request")
}

fn patch_request(location: &str, token: &str, offset: usize, data: &[u8]) -> Request<Body> {
    tus("PATCH", location, token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .header("upload-checksum", checksum(data))
        .body(Body::from(data.to_vec()))
        .expect("request")
}

/// Two processes on one database and one blob folder take turns at one upload's `PATCH`es:
/// the second continues from the offset and hash state in the upload's row and completes the
/// file without reading a staged byte back.
#[tokio::test]
async fn patches_alternating_between_two_processes_never_read_staged_bytes_back() {
    let server = TestServer::new().await;
    let (token, data, media_ref, location) = begun(&server, 300_000, 17).await;

    let mut other = AppState::open(server.dir.path(), server.config_of_another_process())
        .await
        .expect("the second process");
    let counting = std::sync::Arc::new(CountingReads {
        inner: std::sync::Arc::clone(&other.blobs),
        reads: std::sync::atomic::AtomicUsize::new(0),
    });
    other.media = std::sync::Arc::new(MediaService::new(
        counting.clone(),
        std::sync::Arc::clone(&other.storage),
        std::sync::Arc::clone(&other.evidence),
        other.config.media.clone(),
    ));
    let second = || siteproof_server::app(other.clone());

    let ends = [0, 100_000, 180_000, 250_000, 300_000];
    for (turn, pair) in ends.windows(2).enumerate() {
        let (from, to) = (pair[0], pair[1]);
        let app = if turn % 2 == 0 {
            server.app()
        } else {
            second()
        };
        let before = send_to(app.clone(), head(&location, &token)).await;
        assert_eq!(
            before.header("upload-offset"),
            Some(&*from.to_string()),
            "turn {turn}: the offset the other process saved"
        );
        let answer = send_to(app, patch_request(&location, &token, from, &data[from..to])).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "turn {turn}");
        assert_eq!(answer.header("upload-offset"), Some(&*to.to_string()));
    }
    assert_eq!(
        counting.reads.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the second process read staged bytes back"
    );
    let meta = server
        .state
        .blobs
        .blob_meta(&media_ref.hash)
        .await
        .expect("meta")
        .expect("the file is stored, completed by the second process");
    assert_eq!(meta.size, 300_000);
    let done = send(&server, head(&location, &token)).await;
    assert_eq!(done.header("upload-offset"), Some("300000"));
    other.shutdown().await.expect("shutdown");
}

/// Uploads an older version staged, each described in a file beside its bytes, are imported
/// into the database when this version starts on the folder: one continues from the hash
/// state it saved, one described by a still older version without one from its staged bytes
/// read back. Both complete, and their descriptions are gone.
#[tokio::test]
async fn uploads_an_older_version_described_beside_their_bytes_continue_after_an_upgrade() {
    let server = TestServer::new().await;
    let uploads = server.state.storage.upload_store();
    let staging = blob_root(&server).join("staging");
    let mut begun_before = Vec::new();
    for (seed, len, acked, with_hash) in [(21, 200_000, 80_000, true), (22, 150_000, 50_000, false)]
    {
        let (token, data, media_ref, location) = begun(&server, len, seed).await;
        let first = patch(&server, &token, &location, 0, &data[..acked]).await;
        assert_eq!(first.status, StatusCode::NO_CONTENT);
        // What the older version left: the description beside the bytes, no row.
        let id = location.rsplit('/').next().expect("id").to_string();
        let row = uploads.upload(&id).await.expect("read").expect("row");
        let described = StagedUpload {
            id: id.clone(),
            length: row.length,
            sha256: row.sha256.parse().expect("hash"),
            record: row.record.parse().expect("record"),
            device: row.device.clone(),
            mime: row.mime.clone(),
            created_at: row.created_at,
            expires_at: row.expires_at,
            completed: false,
            hashed: with_hash.then(|| HashProgress {
                bytes: row.progress.offset,
                state: row.progress.hash_state.clone().expect("state"),
            }),
        };
        std::fs::write(
            staging.join(format!("{id}.json")),
            serde_json::to_vec(&described).expect("json"),
        )
        .expect("describe");
        uploads.delete_upload(&id).await.expect("delete the row");
        let unknown = send(&server, head(&location, &token)).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        begun_before.push((token, location, data, acked, media_ref));
    }

    let upgraded = AppState::open(server.dir.path(), server.config_of_another_process())
        .await
        .expect("this version starts on the folder");
    for (token, location, data, acked, media_ref) in &begun_before {
        let app = || siteproof_server::app(upgraded.clone());
        let status = send_to(app(), head(location, token)).await;
        assert_eq!(status.status, StatusCode::OK);
        assert_eq!(status.header("upload-offset"), Some(&*acked.to_string()));
        let rest = send_to(
            app(),
            patch_request(location, token, *acked, &data[*acked..]),
        )
        .await;
        assert_eq!(rest.status, StatusCode::NO_CONTENT, "{:?}", rest.body);
        let meta = upgraded
            .blobs
            .blob_meta(&media_ref.hash)
            .await
            .expect("meta")
            .expect("stored");
        assert_eq!(meta.size, data.len() as u64);
    }
    assert!(
        files_under(&staging).iter().all(|f| !f.ends_with(".json")),
        "{:?}",
        files_under(&staging)
    );
    upgraded.shutdown().await.expect("shutdown");
}

/// Bytes acknowledged but lost before the disk had them (chunks are not fsynced one by one;
/// a power cut): the upload cannot continue from its saved hash state, so the next `PATCH`
/// is answered `404` and the upload is dropped, for the client to begin again; nothing is
/// stored.
#[tokio::test]
async fn an_upload_whose_acknowledged_bytes_were_lost_is_dropped() {
    let server = TestServer::new().await;
    let (token, data, media_ref, location) = begun(&server, 4000, 33).await;
    assert_eq!(
        patch(&server, &token, &location, 0, &data[..1000])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let id = location.rsplit('/').next().expect("id");
    let part = blob_root(&server)
        .join("staging")
        .join(format!("{id}.part"));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&part)
        .expect("part")
        .set_len(600)
        .expect("what the disk kept");
    let lost = patch(&server, &token, &location, 1000, &data[1000..]).await;
    assert_eq!(lost.status, StatusCode::NOT_FOUND);
    assert_eq!(lost.error_code(), "unknown_upload");
    let uploads = server.state.storage.upload_store();
    assert_eq!(uploads.upload(id).await.expect("read"), None);
    assert!(!part.exists());
    assert!(
        server
            .state
            .blobs
            .blob_meta(&media_ref.hash)
            .await
            .expect("meta")
            .is_none()
    );
}
