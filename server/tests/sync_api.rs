//! The sync protocol through `app()`: enrollment, push and pull between phones, scope, cursors
//! and paging.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_bytes::ByteBuf;
use siteproof_core::sync::wire::{Cursor, SyncRequest};
use siteproof_core::*;
use siteproof_server::ServerConfig;

#[tokio::test]
async fn health_answers_ok() {
    let server = TestServer::new().await;
    let (status, _, body) = server
        .send(Request::get("/v1/health").body(Body::empty()).expect("req"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], br#"{"status":"ok"}"#);
}

#[tokio::test]
async fn an_enrollment_code_works_once_and_then_is_refused() {
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
    let (status, _, body) = server
        .enroll_with(&code.code.to_lowercase(), "phone A")
        .await;
    assert_eq!(status, StatusCode::OK);
    let enrolled: siteproof_server::EnrollResponse = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        (enrolled.region.as_str(), enrolled.group.as_str()),
        ("hebei", "g1")
    );
    assert_eq!(enrolled.token.len(), 64);
    assert_eq!(
        enrolled.epoch,
        server.state.storage.epoch().await.expect("epoch")
    );

    let (status, ct, body) = server.enroll_with(&code.code, "phone B").await;
    assert_error(
        status,
        &ct,
        &body,
        StatusCode::FORBIDDEN,
        "enrollment_refused",
    );
    assert_eq!(
        server
            .state
            .admin
            .list_devices()
            .await
            .expect("devices")
            .len(),
        1,
        "one device only"
    );
}

#[tokio::test]
async fn an_expired_or_unknown_enrollment_code_is_refused() {
    let server = TestServer::new().await;
    let expired = server
        .state
        .admin
        .issue_enrollment_code(&"g1".parse().expect("group"), std::time::Duration::ZERO)
        .await
        .expect("code");
    let (status, ct, body) = server.enroll_with(&expired.code, "phone").await;
    assert_error(
        status,
        &ct,
        &body,
        StatusCode::FORBIDDEN,
        "enrollment_refused",
    );
    let (status, ct, body) = server.enroll_with("AAAA-BBBB-CCCC-DDD", "phone").await;
    assert_error(
        status,
        &ct,
        &body,
        StatusCode::FORBIDDEN,
        "enrollment_refused",
    );
    let (status, ct, body) = server
        .send(
            Request::post("/v1/enroll")
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .expect("req"),
        )
        .await;
    assert_error(status, &ct, &body, StatusCode::BAD_REQUEST, "malformed");
    assert!(
        server
            .state
            .admin
            .list_devices()
            .await
            .expect("devices")
            .is_empty()
    );
}

#[tokio::test]
async fn a_visit_pushed_by_one_phone_reaches_another_phone_of_the_same_group() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let mut b = Phone::enroll(&server, "g1").await;
    a.sync_all(&server, 1 << 20).await; // a cursor, even on an empty server
    let visit = a.capture_visit("华北化工厂");

    let req = a.request(1 << 20);
    let pushed: usize = req.push.iter().map(|p| p.changes.len()).sum();
    let resp = server.sync(&a.token, &req).await;
    assert_eq!(resp.acked.len(), 1);
    assert_eq!(
        resp.acked[0].hashes.len(),
        pushed,
        "every pushed change is acknowledged"
    );
    assert!(
        resp.records.is_empty(),
        "a phone with a cursor does not get its own record back: {:?}",
        resp.records
    );
    a.apply(&resp);
    assert_eq!(a.store.outbox_len().expect("outbox"), 0);
    assert_eq!(server.stored_changes(&visit).await, pushed);

    let resp = b.round(&server, 1 << 20).await;
    assert_eq!(resp.records.len(), 1);
    assert!(
        resp.records[0].full,
        "a record new to the phone arrives whole"
    );
    assert_eq!(resp.records[0].kind, "visit");
    b.apply(&resp);
    let v = b.store.visit(&visit).expect("b has the visit");
    assert_eq!(v.site.name, "华北化工厂");
    assert_eq!(v.answers["exits"].value, AnswerValue::Fail);
}

#[tokio::test]
async fn a_phone_of_another_group_does_not_receive_the_visit() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let mut other = Phone::enroll(&server, "g2").await;
    a.capture_visit("仓库");
    a.sync_all(&server, 1 << 20).await;
    let resp = other.round(&server, 1 << 20).await;
    assert!(
        resp.records.is_empty(),
        "g2 got {:?}",
        resp.records.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
    assert!(!resp.more);
}

#[tokio::test]
async fn templates_published_by_the_office_reach_every_group() {
    let server = TestServer::new().await;
    let mut t = template();
    t.id = "office".parse().expect("template id");
    let id = server
        .state
        .admin
        .publish_template(&t)
        .await
        .expect("publish");
    for group in ["g1", "g2"] {
        let mut phone = Phone::enroll(&server, group).await;
        let resp = phone.round(&server, 1 << 20).await;
        assert_eq!(resp.records.len(), 1);
        assert_eq!(
            (resp.records[0].id.clone(), resp.records[0].kind.as_str()),
            (id.clone(), "template")
        );
        phone.apply(&resp);
        assert_eq!(
            phone
                .store
                .template(&t.id, 1)
                .expect("template arrived")
                .items
                .len(),
            4
        );
    }
}

#[tokio::test]
async fn an_edit_reaches_the_other_phone_as_a_small_change_in_one_round_trip() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let mut b = Phone::enroll(&server, "g1").await;
    let visit = a.capture_visit("加油站");
    a.sync_all(&server, 1 << 20).await;
    b.sync_all(&server, 1 << 20).await;

    a.store
        .answer_item(
            &visit,
            &item("remarks"),
            AnswerInput {
                value: AnswerValue::Text("夜间无人值守".into()),
                note: None,
                media: vec![],
            },
        )
        .expect("answer");
    a.sync_all(&server, 1 << 20).await;
    let req = b.request(8 << 20);
    let wire_len = siteproof_core::sync::wire::encode(&req).len();
    let resp = server.sync(&b.token, &req).await;
    let resp_len = siteproof_core::sync::wire::encode(&resp).len();
    assert_eq!(resp.records.len(), 1);
    assert!(
        !resp.records[0].full,
        "a known record gets changes, not a whole document"
    );
    assert!(!resp.more);
    assert!(
        wire_len + resp_len < 2048,
        "round trip is {} bytes",
        wire_len + resp_len
    );
    b.apply(&resp);
    let v = b.store.visit(&visit).expect("visit");
    assert_eq!(
        v.answers["remarks"].value,
        AnswerValue::Text("夜间无人值守".into())
    );
}

#[tokio::test]
async fn pushing_the_same_changes_twice_is_acknowledged_again_and_stored_once() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let visit = a.capture_visit("码头");
    let req = a.request(1 << 20);
    let first = server.sync(&a.token, &req).await;
    // The response was lost: the phone sends the same request again.
    let again = server.sync(&a.token, &req).await;
    assert_eq!(first.acked, again.acked);
    assert_eq!(
        server.stored_changes(&visit).await,
        req.push[0].changes.len()
    );
}

#[tokio::test]
async fn need_full_sends_a_known_record_whole() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let visit = a.capture_visit("矿井");
    a.sync_all(&server, 1 << 20).await;
    let req = SyncRequest {
        cursor: a.cursor.clone(),
        push: vec![],
        need_full: vec![visit.clone()],
        max_bytes: 1 << 20,
        reads: Vec::new(),
    };
    let resp = server.sync(&a.token, &req).await;
    assert_eq!(resp.records.len(), 1);
    assert!(resp.records[0].full);
    assert_eq!(resp.records[0].id, visit);
    assert_eq!(
        Some(&resp.cursor),
        a.cursor.as_ref(),
        "nothing new: the cursor stays"
    );
}

#[tokio::test]
async fn stale_cursor_from_other_epoch_triggers_full_resync() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let visit = a.capture_visit("化工园区");
    a.sync_all(&server, 1 << 20).await;
    let mut stale = a.cursor.clone().expect("cursor");
    stale.epoch = "another-server".into();
    let resp = server
        .sync(
            &a.token,
            &SyncRequest {
                cursor: Some(stale),
                push: vec![],
                need_full: vec![],
                max_bytes: 1 << 20,
                reads: Vec::new(),
            },
        )
        .await;
    assert!(resp.reset);
    assert_eq!(
        resp.records.len(),
        1,
        "from scratch, its own record included"
    );
    assert!(resp.records[0].full);
    assert_eq!(resp.records[0].id, visit);
    assert_eq!(
        resp.cursor.epoch,
        server.state.storage.epoch().await.expect("epoch")
    );
    // The cursor returned is valid: the next round is quiet and not a reset.
    let next = server
        .sync(
            &a.token,
            &SyncRequest {
                cursor: Some(resp.cursor),
                push: vec![],
                need_full: vec![],
                max_bytes: 1 << 20,
                reads: Vec::new(),
            },
        )
        .await;
    assert!(!next.reset);
    assert!(next.records.is_empty());
}

#[tokio::test]
async fn a_cursor_beyond_a_server_restored_from_an_older_backup_triggers_full_resync() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let first = a.capture_visit("一号站");
    a.sync_all(&server, 1 << 20).await;
    // A backup as the office takes it while the server runs: SQLite's `VACUUM INTO`, or
    // PostgreSQL's `pg_dump` (docs/deploy.md, "Restoring").
    let backup = server.dir.path().join("backup");
    match &server.database {
        None => {
            let conn =
                rusqlite::Connection::open(server.dir.path().join("siteproof.db")).expect("raw");
            conn.execute("VACUUM INTO ?1", [backup.to_str().expect("utf-8 path")])
                .expect("backup");
        }
        Some(db) => run_tool(
            std::process::Command::new("pg_dump")
                .args(["--format=custom", "--file"])
                .arg(&backup)
                .arg(db.url()),
        ),
    }
    a.capture_visit("二号站");
    a.sync_all(&server, 1 << 20).await;

    // The office restores the backup: same epoch, but the phone's cursor points past its log.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::default();
    let database = match &server.database {
        None => {
            std::fs::copy(&backup, dir.path().join("siteproof.db")).expect("restore");
            None
        }
        Some(_) => {
            let restored = common::new_test_database().await;
            run_tool(
                std::process::Command::new("pg_restore")
                    .args(["--no-owner", "--exit-on-error", "--dbname"])
                    .arg(restored.url())
                    .arg(&backup),
            );
            config.database = siteproof_server::storage::Database::Postgres(restored.url());
            Some(restored)
        }
    };
    let state = siteproof_server::Services::open(dir.path(), config)
        .await
        .expect("open");
    let restored = TestServer {
        state,
        dir,
        database,
    };
    let resp = a.round(&restored, 1 << 20).await;
    assert!(resp.reset, "the restored server must not trust the cursor");
    assert_eq!(
        resp.records.iter().map(|r| &r.id).collect::<Vec<_>>(),
        vec![&first]
    );
    assert!(resp.records[0].full);
}

/// Runs a PostgreSQL client tool; it must succeed.
fn run_tool(command: &mut std::process::Command) {
    let out = command.output().expect("run the PostgreSQL tool");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_cursor_whose_check_hash_differs_triggers_full_resync() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    a.capture_visit("三号站");
    a.sync_all(&server, 1 << 20).await;
    let good = a.cursor.clone().expect("cursor");
    assert!(good.seq > 0);
    let forged = Cursor {
        check: ByteBuf::from(vec![7u8; 32]),
        ..good
    };
    let resp = server
        .sync(
            &a.token,
            &SyncRequest {
                cursor: Some(forged),
                push: vec![],
                need_full: vec![],
                max_bytes: 1 << 20,
                reads: Vec::new(),
            },
        )
        .await;
    assert!(resp.reset);
    assert_eq!(resp.records.len(), 1);
}

#[tokio::test]
async fn a_small_page_size_pages_with_more_until_everything_arrived() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let mut visits: Vec<RecordId> = (0..5)
        .map(|i| a.capture_visit(&format!("站点{i}")))
        .collect();
    a.sync_all(&server, 1 << 20).await;
    let mut b = Phone::enroll(&server, "g1").await;
    let responses = b.sync_all(&server, 1).await;
    assert!(
        responses.len() >= 5,
        "one record per page: {} pages",
        responses.len()
    );
    assert!(responses[..responses.len() - 1].iter().all(|r| r.more));
    assert!(!responses.last().expect("pages").more);
    let mut got: Vec<RecordId> = b
        .store
        .list_visits()
        .expect("list")
        .into_iter()
        .map(|v| v.id)
        .collect();
    got.sort();
    visits.sort();
    assert_eq!(got, visits);
}

#[tokio::test]
async fn a_record_whose_snapshot_fell_behind_is_compacted_before_it_is_sent_whole() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let visit = a.capture_visit("落后快照");
    a.sync_all(&server, 1 << 20).await;
    for (i, id) in ["exits", "extinguishers", "remarks", "alarm"]
        .iter()
        .enumerate()
    {
        a.store
            .answer_item(
                &visit,
                &item(id),
                AnswerInput {
                    value: if i == 1 {
                        AnswerValue::Number(3.0)
                    } else if i == 2 {
                        AnswerValue::Text("备注".into())
                    } else if i == 3 {
                        AnswerValue::Choice("故障".into())
                    } else {
                        AnswerValue::Pass
                    },
                    note: Some(format!("第{i}次修改")),
                    media: vec![],
                },
            )
            .expect("answer");
    }
    // Another server process stores these changes: this process's snapshot knows nothing.
    let pending = a.store.pending_changes(10).expect("pending");
    let meta = server
        .state
        .storage
        .documents(std::slice::from_ref(&visit))
        .await
        .expect("meta");
    let write = siteproof_server::storage::PushWrite {
        pushed_by: None,
        records: vec![siteproof_server::storage::RecordWrite {
            header: meta[0].header.clone(),
            changes: pending[0]
                .changes
                .iter()
                .zip(&pending[0].hashes)
                .map(|(c, h)| (h.0, c.clone()))
                .collect(),
            known_through: 0,
            snapshot: None,
        }],
    };
    server
        .state
        .storage
        .store_push(&write)
        .await
        .expect("store");
    let behind = server
        .state
        .storage
        .full_document(&visit)
        .await
        .expect("full")
        .expect("stored");
    assert_eq!(behind.trailing.len(), 4);

    let mut b = Phone::enroll(&server, "g1").await;
    let resp = b.round(&server, 1 << 20).await;
    assert_eq!(resp.records.len(), 1);
    let saved = a.store.export_document(&visit).expect("export").len();
    assert!(
        resp.records[0].data.len() * 10 <= saved * 11,
        "sent {} bytes for a {saved}-byte document",
        resp.records[0].data.len()
    );
    server.wait_for_snapshot(&visit).await;
    b.apply(&resp);
    assert_eq!(b.store.visit(&visit).expect("visit").answers.len(), 4);
}

#[tokio::test]
async fn edits_to_a_record_are_compacted_into_its_snapshot_in_the_background() {
    let server = TestServer::new().await;
    let mut a = Phone::enroll(&server, "g1").await;
    let visit = a.capture_visit("后台压缩");
    a.sync_all(&server, 1 << 20).await;
    for note in ["一", "二", "三"] {
        a.store
            .answer_item(&visit, &item("exits"), fail(note))
            .expect("answer");
    }
    a.sync_all(&server, 1 << 20).await;
    server.wait_for_snapshot(&visit).await;
}

/// A bulk push of stored records queues each of them for compaction once it is stored. With a
/// compaction queue of one job the push waits for room instead of the queue growing, and it
/// lets go of its records before it waits, so the worker compacting them is not locked out:
/// the push completes and every record is compacted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_push_through_a_one_job_compaction_queue_completes_and_compacts_every_record() {
    let mut config = ServerConfig::default();
    config.sync.compaction_queue = 1;
    let server = TestServer::with_config(config).await;
    let mut a = Phone::enroll(&server, "g1").await;
    let visits: Vec<RecordId> = (0..40)
        .map(|n| a.capture_visit(&format!("企业{n}")))
        .collect();
    a.sync_all(&server, 1 << 20).await;
    for visit in &visits {
        for note in ["一", "二", "三"] {
            a.store
                .answer_item(visit, &item("exits"), fail(note))
                .expect("answer");
        }
    }
    let req = a.request(1 << 20);
    assert_eq!(req.push.len(), visits.len(), "one push of every record");
    // A push that deadlocked against the worker would never answer.
    let resp = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        server.sync(&a.token, &req),
    )
    .await
    .expect("the push completes while the compaction queue is full");
    a.apply(&resp);
    assert_eq!(a.store.outbox_len().expect("outbox"), 0);
    for visit in &visits {
        server.wait_for_snapshot(visit).await;
    }
}
