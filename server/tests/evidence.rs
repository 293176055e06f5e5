//! Checking evidence on upload: a statement signed with the key the signing device registered
//! is verified; one signed with another device's key is rejected; an unsigned one stays
//! unverified; views are logged in the custody chain.

mod common;
mod media_fixture;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestServer;
use media_fixture::*;
use siteproof_core::evidence::EvidenceKey;
use siteproof_core::{DeviceId, MediaRef, RecordId};
use siteproof_server::GroupId;

/// Enrolls a device of `group` that registers `key`; returns its id.
async fn enroll_with_key(server: &TestServer, group: &str, key: &EvidenceKey) -> DeviceId {
    let group: GroupId = group.parse().expect("group");
    let code = server
        .state
        .admin
        .issue_enrollment_code(&group, std::time::Duration::from_secs(60))
        .await
        .expect("code");
    let body = serde_json::json!({
        "code": code.code,
        "device_name": "signing phone",
        "public_key": hex::encode(key.public_key()),
    });
    let (status, _, body) = server
        .send(
            Request::post("/v1/enroll")
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    v["device_id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("device id")
}

/// Captures a file on `phone`, syncs, uploads it in one request; returns the server's
/// status for it.
async fn capture_and_upload(
    server: &TestServer,
    phone: &mut MediaPhone,
    seed: u64,
) -> (RecordId, MediaRef, (String, Option<String>)) {
    let data = pseudo_random(4000, seed);
    let (visit, media_ref) = phone.visit_with_evidence(server, &data).await;
    let req = tus("POST", "/v1/uploads", &phone.phone.token)
        .header("upload-length", data.len().to_string())
        .header(
            "upload-metadata",
            metadata(visit.as_str(), media_ref.hash.as_str()),
        )
        .header("content-type", "application/offset+octet-stream")
        .body(Body::from(data))
        .expect("request");
    assert_eq!(send(server, req).await.status, StatusCode::CREATED);
    // Ids and hashes are hex and base32: nothing to quote.
    let rows = server
        .rows(&format!(
            "SELECT status, reason FROM evidence WHERE record_id = '{}' AND hash = '{}'",
            visit.as_str(),
            media_ref.hash.as_str()
        ))
        .await;
    let row = rows.first().expect("an evidence row");
    let reason = Some(row[1].clone()).filter(|r| !r.is_empty());
    (visit, media_ref, (row[0].clone(), reason))
}

#[tokio::test]
async fn a_capture_signed_with_the_registered_key_is_verified() {
    let server = TestServer::new().await;
    let key = EvidenceKey::generate();
    let signer = enroll_with_key(&server, "g1", &key).await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    phone
        .phone
        .store
        .set_evidence_identity(&key, &signer)
        .expect("identity");
    let (visit, media_ref, status) = capture_and_upload(&server, &mut phone, 1).await;
    assert!(media_ref.signature.is_some(), "signed at capture");
    assert_eq!(status, ("verified".into(), None));

    // Viewing it is logged, and the chain holds.
    let req = Request::get(format!("/v1/media/{}?record={visit}", media_ref.hash))
        .header("authorization", format!("Bearer {}", phone.phone.token))
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&server, req).await.status, StatusCode::OK);
    let evidence = &server.state.evidence;
    assert_eq!(evidence.verify_chain().await.expect("chain"), Ok(3));
    let actions: Vec<String> = server
        .rows("SELECT action FROM custody_log ORDER BY seq")
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(actions, ["upload", "verify", "view"]);
}

#[tokio::test]
async fn a_statement_signed_with_another_devices_key_is_rejected() {
    let server = TestServer::new().await;
    let (key_a, key_b) = (EvidenceKey::generate(), EvidenceKey::generate());
    let device_a = enroll_with_key(&server, "g1", &key_a).await;
    enroll_with_key(&server, "g1", &key_b).await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    // Device B's key, claiming to be device A.
    phone
        .phone
        .store
        .set_evidence_identity(&key_b, &device_a)
        .expect("identity");
    let (_, _, (status, reason)) = capture_and_upload(&server, &mut phone, 2).await;
    assert_eq!(status, "rejected");
    assert!(
        reason.as_deref().is_some_and(|r| r.contains("signature")),
        "{reason:?}"
    );
}

#[tokio::test]
async fn an_unsigned_capture_is_kept_but_unverified_and_enrollment_signs_it_later() {
    let server = TestServer::new().await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    let (visit, media_ref, (status, _)) = capture_and_upload(&server, &mut phone, 3).await;
    assert_eq!(status, "unverified");
    assert!(media_ref.signature.is_none());

    let key = EvidenceKey::generate();
    let signer = enroll_with_key(&server, "g1", &key).await;
    let signed = phone
        .phone
        .store
        .set_evidence_identity(&key, &signer)
        .expect("identity");
    assert_eq!(signed, 1, "the capture made before the key is signed now");
    phone.phone.sync_all(&server, 1 << 20).await;
    let evidence = &server.state.evidence;
    let check = evidence
        .check(&visit, &media_ref.hash, true, "admin")
        .await
        .expect("check");
    assert_eq!(check.status.code(), "verified", "{:?}", check.reason);
}

#[tokio::test]
async fn a_malformed_public_key_is_refused_at_enrollment() {
    let server = TestServer::new().await;
    let code = server
        .state
        .admin
        .issue_enrollment_code(
            &"g1".parse().expect("group"),
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("code");
    let body = serde_json::json!({
        "code": code.code, "device_name": "x", "public_key": "00".repeat(31),
    });
    let (status, _, _) = server
        .send(
            Request::post("/v1/enroll")
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A phone with a synced visit referencing `len` pseudo-random bytes, and a created upload for
/// them: the phone, the bytes, the visit, the file's reference and the upload's location.
async fn started_upload(
    server: &TestServer,
    len: usize,
    seed: u64,
) -> (MediaPhone, Vec<u8>, RecordId, MediaRef, String) {
    let mut phone = MediaPhone::enroll(server, "g1").await;
    let data = pseudo_random(len, seed);
    let (visit, media_ref) = phone.visit_with_evidence(server, &data).await;
    let created = create(
        server,
        &phone.phone.token,
        visit.as_str(),
        media_ref.hash.as_str(),
        data.len() as u64,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let location = created.header("location").expect("location").to_owned();
    (phone, data, visit, media_ref, location)
}

/// The client goes away the moment its last byte is in (the server drops the request's
/// future then): the file is still committed, checked and logged, and the upload reads as
/// complete. Before, the check could be cut off, leaving a stored file no evidence row names
/// while the client's rerun found the upload complete and sent nothing more.
#[tokio::test]
async fn an_upload_whose_client_leaves_after_the_last_byte_is_still_recorded() {
    use futures_util::StreamExt;
    use tower::ServiceExt;

    let server = TestServer::new().await;
    let (phone, data, visit, media_ref, location) = started_upload(&server, 300_000, 9).await;
    let token = phone.phone.token.clone();

    let sent = std::sync::Arc::new(tokio::sync::Notify::new());
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = data
        .chunks(64 << 10)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let signal = std::sync::Arc::clone(&sent);
    let body = futures_util::stream::iter(chunks).chain(futures_util::stream::poll_fn(move |_| {
        signal.notify_one();
        std::task::Poll::Ready(None)
    }));
    let req = tus("PATCH", &location, &token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", "0")
        .body(Body::from_stream(body))
        .expect("request");
    let request = server.app().oneshot(req);
    tokio::select! {
        biased;
        _ = sent.notified() => {}
        answer = request => panic!("the request finished before it could be dropped: {answer:?}"),
    }

    assert_whole_and_checked(&server, &token, &location, data.len(), &visit, &media_ref).await;
}

/// The process stopped after the last byte was written and acknowledged (saved in the
/// upload's row) and before the upload was completed (a crash): the next `HEAD` completes it,
/// so the offset it reports (the whole length, which a client reads as done) is true: the
/// file is stored and checked.
#[tokio::test]
async fn an_upload_holding_every_byte_is_completed_when_asked_where_it_stands() {
    let server = TestServer::new().await;
    let (phone, data, visit, media_ref, location) = started_upload(&server, 200_000, 10).await;
    let token = phone.phone.token.clone();
    let id = location.rsplit('/').next().expect("id");
    // What a process killed between writing and completing leaves: every byte staged.
    let blobs = server.state.media.blobs();
    let uploads = server.state.storage.upload_store();
    let row = uploads.upload(id).await.expect("read").expect("row");
    let mut writer = blobs
        .append_staged(id, 0, &row.progress.staging)
        .await
        .expect("writer");
    writer
        .write(bytes::Bytes::from(data.clone()))
        .await
        .expect("write");
    let staged = writer.finish().await.expect("finish");
    assert_eq!(staged.end, data.len() as u64);
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    sha2::Digest::update(&mut hasher, &data);
    let state = sha2::digest::common::hazmat::SerializableState::serialize(&hasher);
    let leases = server.state.storage.upload_lease_store();
    let at = siteproof_core::model::now();
    assert!(
        leases
            .take_lease(id, "killed", at, at + 60_000)
            .await
            .expect("lease")
    );
    let acknowledged = siteproof_server::storage::UploadProgress {
        offset: staged.end,
        hash_state: Some(hex::encode(state)),
        staging: staged.staging,
        completed: false,
    };
    assert!(
        uploads
            .save_upload(id, "killed", at, 0, &acknowledged, at + 60_000)
            .await
            .expect("save")
    );
    // The process died holding the lease: it lapses (given back here, as time would).
    leases.release_lease(id, "killed").await.expect("release");
    assert!(
        blobs
            .blob_meta(&media_ref.hash)
            .await
            .expect("meta")
            .is_none()
    );

    assert_whole_and_checked(&server, &token, &location, data.len(), &visit, &media_ref).await;
    let meta = blobs.blob_meta(&media_ref.hash).await.expect("meta");
    assert_eq!(meta.map(|m| m.size), Some(data.len() as u64));
}

/// `HEAD` reports the upload whole and the file is recorded as (unsigned, so unverified)
/// evidence of `visit`.
async fn assert_whole_and_checked(
    server: &TestServer,
    token: &str,
    location: &str,
    len: usize,
    visit: &RecordId,
    media_ref: &MediaRef,
) {
    let head = tus("HEAD", location, token)
        .body(Body::empty())
        .expect("request");
    let status = send(server, head).await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(
        status.header("upload-offset"),
        Some(len.to_string().as_str())
    );
    let statuses = server
        .state
        .evidence
        .statuses(visit.as_str())
        .await
        .expect("statuses");
    assert_eq!(
        statuses.get(media_ref.hash.as_str()).map(String::as_str),
        Some("unverified"),
        "the file is checked and recorded as evidence"
    );
}
