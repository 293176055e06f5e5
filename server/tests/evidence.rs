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
    let db = rusqlite::Connection::open(server.dir.path().join("siteproof.db")).expect("db");
    let status = db
        .query_row(
            "SELECT status, reason FROM evidence WHERE record_id = ?1 AND hash = ?2",
            [visit.as_str(), media_ref.hash.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("an evidence row");
    (visit, media_ref, status)
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
    let db = rusqlite::Connection::open(server.dir.path().join("siteproof.db")).expect("db");
    let actions: Vec<String> = db
        .prepare("SELECT action FROM custody_log ORDER BY seq")
        .expect("sql")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("actions");
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
