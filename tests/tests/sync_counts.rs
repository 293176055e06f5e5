//! Regression guards that count instead of timing, so they cannot flake on a shared machine:
//! one changed answer with many visits in scope costs one round trip and under 2 KB on the
//! wire.

use serde_bytes::ByteBuf;
use siteproof_core::sync::wire::{self, PushRecord, SyncRequest, SyncResponse};
use siteproof_core::{AnswerValue, RecordId};
use siteproof_tests::answer;
use siteproof_tests::server::TestServer;

const VISITS: usize = 100;
const ANSWERS: usize = 10;

#[test]
fn one_changed_answer_with_many_visits_in_scope_stays_within_its_byte_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let group = server.create_group("第一督导组");
    let template = siteproof_tests::template(ANSWERS);
    server.publish_template(&template);
    let mut seeder = server.enroll_store(&group, &dir.path().join("seeder.db"), "甲");
    let visits: Vec<RecordId> = (0..VISITS)
        .map(|n| {
            let v = seeder
                .create_visit(siteproof_tests::new_visit(&template, &format!("企业{n}")))
                .expect("visit");
            for i in 0..ANSWERS {
                answer(
                    &mut seeder,
                    &v,
                    &format!("i{i}"),
                    AnswerValue::Pass,
                    &format!("{n}-{i}"),
                );
            }
            v
        })
        .collect();
    seeder.sync().expect("push");

    let mut fresh = server.enroll_store(&group, &dir.path().join("fresh.db"), "乙");
    fresh.sync().expect("settled");
    assert_eq!(fresh.list_visits().expect("list").len(), VISITS);

    answer(&mut fresh, &visits[7], "i3", AnswerValue::Fail, "changed");
    let s = fresh.sync().expect("sync one change");
    assert_eq!(s.round_trips, 1, "one round trip");
    let wire = s.bytes_up + s.bytes_down;
    assert!(
        wire < 2_000,
        "one changed answer costs {wire} B on the wire (budget 2,000)"
    );
}

/// Posts one sync request to the server; the status and the body.
fn post(server: &TestServer, token: &str, req: &SyncRequest) -> (u16, Vec<u8>) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/v1/sync", server.url()))
        .bearer_auth(token)
        .header("content-type", wire::CONTENT_TYPE)
        .body(wire::encode(req))
        .send()
        .expect("send");
    (resp.status().as_u16(), resp.bytes().expect("body").to_vec())
}

/// A seeding device's first push goes in bounded pages (at most 100 records and about
/// 512 KiB of changes each, one record always), all of them accepted; a push of more records
/// than the server's documented 500 is refused (`413 payload_too_large`, nothing stored) with
/// a message that says the limit.
#[test]
fn a_seeding_push_goes_in_bounded_pages_and_the_server_refuses_oversized_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let group = server.create_group("第一督导组");
    let template = siteproof_tests::template(ANSWERS);
    server.publish_template(&template);
    let mut seeder = server.enroll_store(&group, &dir.path().join("seeder.db"), "甲");
    seeder.sync().expect("template");
    let token = seeder.server_token().expect("token").expect("enrolled");
    const SEEDED: usize = 501;
    for n in 0..SEEDED {
        let v = seeder
            .create_visit(siteproof_tests::new_visit(&template, &format!("企业{n}")))
            .expect("visit");
        answer(&mut seeder, &v, "i0", AnswerValue::Pass, &"长".repeat(400));
    }

    // 501 records in one push: refused, and nothing stored.
    let all = seeder.pending_changes(SEEDED).expect("pending");
    assert_eq!(all.len(), SEEDED);
    let oversized = SyncRequest {
        cursor: None,
        push: all
            .into_iter()
            .map(|p| PushRecord {
                id: p.id,
                changes: p.changes.into_iter().map(ByteBuf::from).collect(),
            })
            .collect(),
        need_full: vec![],
        max_bytes: 1 << 20,
        reads: Vec::new(),
    };
    let (status, body) = post(&server, &token, &oversized);
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 413, "{text}");
    assert!(
        text.contains("\"payload_too_large\"")
            && text.contains("the push holds 501 records; at most 500"),
        "{text}"
    );

    // The client's own pages: bounded, each accepted, until the outbox is empty.
    let mut pages = 0;
    let mut acked = 0;
    loop {
        let req = seeder.prepare_sync().expect("prepare");
        if req.push.is_empty() {
            break;
        }
        let bytes: usize = req
            .push
            .iter()
            .flat_map(|p| p.changes.iter().map(|c| c.len()))
            .sum();
        let first: usize = req.push[0].changes.iter().map(|c| c.len()).sum();
        assert!(req.push.len() <= 100, "page of {} records", req.push.len());
        assert!(
            bytes <= (512 << 10).max(first),
            "page of {bytes} B of changes"
        );
        let (status, body) = post(&server, &token, &req);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let resp: SyncResponse = wire::decode(&body).expect("decode");
        acked += seeder.apply_sync_response(resp).expect("apply").pushed;
        pages += 1;
        assert!(pages <= SEEDED, "the outbox drains");
    }
    assert!(
        pages >= 6,
        "501 records in pages of at most 100: {pages} pages"
    );
    assert!(
        acked >= SEEDED as u64,
        "every change acknowledged ({acked})"
    );
    let mut fresh = server.enroll_store(&group, &dir.path().join("fresh.db"), "乙");
    fresh.sync().expect("pull");
    assert_eq!(fresh.list_visits().expect("list").len(), SEEDED);
}
