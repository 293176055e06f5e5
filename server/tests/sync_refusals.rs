//! Every way a sync request can be refused: each gets its status and a JSON error that says
//! what was wrong, nothing of the request is stored, and the server keeps answering.

mod common;

use automerge::{ActorId, ROOT, transaction::Transactable};
use axum::http::StatusCode;
use common::*;
use serde_bytes::ByteBuf;
use siteproof_core::sync::wire::{self, PushRecord, SyncRequest};
use siteproof_core::*;
use siteproof_server::ServerConfig;

fn push_request(push: Vec<PushRecord>) -> Vec<u8> {
    wire::encode(&SyncRequest {
        cursor: None,
        push,
        need_full: vec![],
        max_bytes: 1 << 20,
        reads: Vec::new(),
    })
}

/// A record of `kind` in `scope`, made outside any store: its id and creating change.
fn foreign_record(kind: RecordKind, scope: Scope) -> (RecordId, Vec<u8>) {
    let id = RecordId::random();
    let header = RecordHeader {
        kind,
        id: id.clone(),
        scope,
    };
    let mut doc = header.create(ActorId::random()).expect("create");
    doc.commit();
    let mut changes = doc.get_changes(&[]);
    (id, changes[0].bytes().into_owned())
}

#[tokio::test]
async fn garbage_body_is_malformed_and_nothing_is_stored() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let (status, ct, body) = server
        .sync_raw(Some(&a.token), b"\xff\x00 this is not CBOR".to_vec())
        .await;
    assert_error(status, &ct, &body, StatusCode::BAD_REQUEST, "malformed");
    let (status, ct, body) = server
        .sync_raw(Some(&a.token), br#"{"push": []}"#.to_vec())
        .await;
    assert_error(status, &ct, &body, StatusCode::BAD_REQUEST, "malformed");
    assert_eq!(server.total_changes().await, 0);
    server.assert_still_serves(&mut a).await;
}

#[tokio::test]
async fn a_body_that_is_not_cbor_by_content_type_is_415() {
    let server = TestServer::new().await;
    let a = Phone::enroll(&server, "g1").await;
    let req = axum::http::Request::post("/v1/sync")
        .header("authorization", format!("Bearer {}", a.token))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{}"))
        .expect("req");
    let (status, ct, body) = server.send(req).await;
    assert_error(
        status,
        &ct,
        &body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

#[tokio::test]
async fn truncated_changes_are_malformed_and_nothing_is_stored() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    a.capture_visit("化工厂");
    let mut push = a.outbox();
    let last = push[0].changes.len() - 1;
    let cut = push[0].changes[last].len() - 5;
    push[0].changes[last] = ByteBuf::from(push[0].changes[last][..cut].to_vec());
    let (status, ct, body) = server.sync_raw(Some(&a.token), push_request(push)).await;
    assert_error(status, &ct, &body, StatusCode::BAD_REQUEST, "malformed");
    assert_eq!(server.total_changes().await, 0);
    server.assert_still_serves(&mut a).await;
}

#[tokio::test]
async fn a_change_whose_dependencies_are_missing_is_refused_with_422() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let visit = a.capture_visit("仓库");
    a.sync_all(&server, 1 << 20).await;
    let stored = server.stored_changes(&visit).await;
    a.store
        .answer_item(
            &visit,
            &item("remarks"),
            AnswerInput {
                value: AnswerValue::Text("一".into()),
                note: None,
                media: vec![],
            },
        )
        .expect("answer");
    a.store
        .answer_item(&visit, &item("exits"), pass())
        .expect("answer");
    let mut push = a.outbox();
    assert_eq!(push[0].changes.len(), 2);
    push[0].changes.remove(0); // the second change without the first it depends on
    let (status, ct, body) = server.sync_raw(Some(&a.token), push_request(push)).await;
    assert_error(
        status,
        &ct,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_dependencies",
    );
    assert_eq!(server.stored_changes(&visit).await, stored);
    // The whole outbox goes through afterwards: the refusal left no half-applied state behind.
    a.sync_all(&server, 1 << 20).await;
    assert_eq!(server.stored_changes(&visit).await, stored + 2);
}

#[tokio::test]
async fn a_new_record_without_its_first_changes_is_refused_with_422() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let visit = a.capture_visit("码头");
    let mut push = a.outbox();
    push[0].changes.remove(0);
    let (status, ct, body) = server.sync_raw(Some(&a.token), push_request(push)).await;
    assert_error(
        status,
        &ct,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_dependencies",
    );
    assert_eq!(server.stored_changes(&visit).await, 0);
    server.assert_still_serves(&mut a).await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_in_json() {
    let config = ServerConfig {
        sync_body_limit: 64 * 1024,
        ..ServerConfig::default()
    };
    let server = TestServer::with_config(config).await;
    let mut a = Phone::enroll(&server, "g1").await;
    let (status, ct, body) = server.sync_raw(Some(&a.token), vec![0u8; 100 * 1024]).await;
    assert_error(
        status,
        &ct,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    assert_eq!(server.total_changes().await, 0);
    server.assert_still_serves(&mut a).await;
}

#[tokio::test]
async fn unknown_or_invisible_records_in_need_full_are_404() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let mut other = Phone::enroll(&server, "g2").await;
    let theirs = other.capture_visit("别组的现场");
    other.sync_all(&server, 1 << 20).await;
    for id in [RecordId::random(), theirs] {
        let req = SyncRequest {
            cursor: None,
            push: vec![],
            need_full: vec![id.clone()],
            max_bytes: 1 << 20,
            reads: Vec::new(),
        };
        let (status, ct, body) = server.sync_raw(Some(&a.token), wire::encode(&req)).await;
        assert_error(status, &ct, &body, StatusCode::NOT_FOUND, "unknown_record");
        assert!(
            String::from_utf8_lossy(&body).contains(id.as_str()),
            "the message names the record"
        );
    }
    server.assert_still_serves(&mut a).await;
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_401() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    a.capture_visit("工地");
    let body = push_request(a.outbox());
    for token in [None, Some("0".repeat(64).as_str()), Some("")] {
        let (status, ct, resp) = server.sync_raw(token, body.clone()).await;
        assert_error(status, &ct, &resp, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    assert_eq!(server.total_changes().await, 0);
    server.assert_still_serves(&mut a).await;
}

#[tokio::test]
async fn a_revoked_device_is_401_at_once() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    server.assert_still_serves(&mut a).await;
    server
        .state
        .admin
        .revoke_device(&a.device_id.parse().expect("id"))
        .await
        .expect("revoke");
    a.capture_visit("工地");
    let body = push_request(a.outbox());
    let (status, ct, body) = server.sync_raw(Some(&a.token), body).await;
    assert_error(status, &ct, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(server.total_changes().await, 0);
    let mut b = Phone::enroll(&server, "g1").await;
    server.assert_still_serves(&mut b).await;
}

#[tokio::test]
async fn a_push_outside_the_devices_group_is_403_forbidden_scope() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    a.store
        .set_profile(&Profile {
            inspector: "张三".into(),
            scope: Scope::group("hebei", "g2"),
        })
        .expect("profile");
    let visit = a.capture_visit("越界");
    let body = push_request(a.outbox());
    let (status, ct, body) = server.sync_raw(Some(&a.token), body).await;
    assert_error(status, &ct, &body, StatusCode::FORBIDDEN, "forbidden_scope");
    assert_eq!(server.stored_changes(&visit).await, 0);
    server.assert_still_serves(&mut a).await;
}

#[tokio::test]
async fn a_push_of_a_kind_devices_may_not_write_is_403_forbidden_kind() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    for kind in [
        RecordKind::Case,
        RecordKind::Template,
        RecordKind::Assignment,
    ] {
        let (id, change) = foreign_record(kind, Scope::group("hebei", "g1"));
        let push = vec![PushRecord {
            id: id.clone(),
            changes: vec![ByteBuf::from(change)],
        }];
        let (status, ct, body) = server.sync_raw(Some(&a.token), push_request(push)).await;
        assert_error(status, &ct, &body, StatusCode::FORBIDDEN, "forbidden_kind");
        assert_eq!(server.stored_changes(&id).await, 0);
    }
    server.assert_still_serves(&mut a).await;
}

#[tokio::test]
async fn a_change_that_alters_a_records_scope_is_refused_with_422() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let visit = a.capture_visit("改头换面");
    a.sync_all(&server, 1 << 20).await;
    let mut doc = automerge::AutoCommit::load(&a.store.export_document(&visit).expect("export"))
        .expect("load");
    let heads = doc.get_heads();
    doc.put(ROOT, "kind", "case").expect("put");
    doc.commit();
    let mut changes = doc.get_changes(&heads);
    let push = vec![PushRecord {
        id: visit.clone(),
        changes: vec![ByteBuf::from(changes[0].bytes().into_owned())],
    }];
    let before = server.stored_changes(&visit).await;
    let (status, ct, body) = server.sync_raw(Some(&a.token), push_request(push)).await;
    assert_error(
        status,
        &ct,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "header_changed",
    );
    assert_eq!(server.stored_changes(&visit).await, before);
    server.assert_still_serves(&mut a).await;
}

#[tokio::test]
async fn changes_pushed_under_another_records_id_are_malformed() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    a.capture_visit("张冠李戴");
    let mut push = a.outbox();
    let claimed = RecordId::random();
    push[0].id = claimed.clone();
    let (status, ct, body) = server.sync_raw(Some(&a.token), push_request(push)).await;
    assert_error(status, &ct, &body, StatusCode::BAD_REQUEST, "malformed");
    assert_eq!(server.total_changes().await, 0);
    server.assert_still_serves(&mut a).await;
}

#[tokio::test]
async fn one_bad_record_among_good_ones_stores_none_of_them() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let good = a.capture_visit("好记录");
    let (bad, change) = foreign_record(RecordKind::Case, Scope::group("hebei", "g1"));
    let mut push = a.outbox();
    push.push(PushRecord {
        id: bad,
        changes: vec![ByteBuf::from(change)],
    });
    let (status, ct, body) = server.sync_raw(Some(&a.token), push_request(push)).await;
    assert_error(status, &ct, &body, StatusCode::FORBIDDEN, "forbidden_kind");
    assert_eq!(server.stored_changes(&good).await, 0);
    assert_eq!(server.total_changes().await, 0);
    // Without the bad record, the good one goes through.
    a.sync_all(&server, 1 << 20).await;
    assert!(server.stored_changes(&good).await > 0);
}
