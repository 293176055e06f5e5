//! Rough checks of the performance targets (run in release: `cargo test --release -p
//! siteproof-server --test perf -- --ignored --nocapture`). The real benchmark lives in `tests/`.

mod common;

use std::time::{Duration, Instant};

use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc, transaction::Transactable};
use common::*;
use serde_bytes::ByteBuf;
use siteproof_core::sync::wire::{self, PushRecord, SyncRequest};
use siteproof_core::*;

/// A visit-shaped document: header, then `answers` changes of one answer each.
fn visit_doc(scope: &Scope, answers: usize) -> (RecordId, AutoCommit) {
    let id = RecordId::random();
    let header = RecordHeader {
        kind: RecordKind::Visit,
        id: id.clone(),
        scope: scope.clone(),
    };
    let mut doc = header.create(ActorId::random()).expect("create");
    let map = doc
        .put_object(ROOT, "answers", ObjType::Map)
        .expect("answers");
    doc.commit();
    for i in 0..answers {
        let a = doc
            .put_object(&map, format!("item-{i:03}"), ObjType::Map)
            .expect("answer");
        doc.put(&a, "value", "fail").expect("v");
        doc.put(&a, "note", "二号出口堵塞，货物占用疏散通道")
            .expect("n");
        doc.put(&a, "by", "张三").expect("b");
        doc.put(&a, "at", 1_700_000_000_000_i64 + i as i64)
            .expect("t");
        doc.commit();
    }
    (id, doc)
}

fn push_of(id: &RecordId, doc: &mut AutoCommit, heads: &[automerge::ChangeHash]) -> PushRecord {
    PushRecord {
        id: id.clone(),
        changes: doc
            .get_changes(heads)
            .into_iter()
            .map(|mut c| ByteBuf::from(c.bytes().into_owned()))
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "performance check; run in release"]
async fn a_thousand_visits_pull_at_saved_size_and_one_edit_is_small_and_fast() {
    let server = TestServer::new().await;
    let writer = server.enroll("g1").await;
    let scope = Scope::group("hebei", "g1");
    let mut saved = 0usize;
    let mut docs = Vec::new();
    let t = Instant::now();
    for chunk in 0..20 {
        let mut push = Vec::new();
        for _ in 0..50 {
            let (id, mut doc) = visit_doc(&scope, 60);
            saved += doc.save().len();
            push.push(push_of(&id, &mut doc, &[]));
            docs.push((id, doc));
        }
        let req = SyncRequest {
            cursor: None,
            push,
            need_full: vec![],
            max_bytes: 1,
        };
        server.sync(&writer.token, &req).await;
        let _ = chunk;
    }
    println!("pushed 1000 visits x 61 changes in {:?}", t.elapsed());

    let reader = server.enroll("g1").await;
    let t = Instant::now();
    let (mut cursor, mut wire_bytes, mut records, mut rounds) = (None, 0usize, 0usize, 0);
    loop {
        let req = SyncRequest {
            cursor: cursor.clone(),
            push: vec![],
            need_full: vec![],
            max_bytes: 8 << 20,
        };
        let body = wire::encode(&req);
        let (status, _, resp) = server.sync_raw(Some(&reader.token), body.clone()).await;
        assert_eq!(status, 200);
        wire_bytes += body.len() + resp.len();
        let resp: wire::SyncResponse = wire::decode(&resp).expect("decode");
        records += resp.records.len();
        rounds += 1;
        cursor = Some(resp.cursor);
        if !resp.more {
            break;
        }
    }
    let elapsed = t.elapsed();
    println!(
        "fresh pull: {records} records in {rounds} rounds, {wire_bytes} wire bytes vs {saved} saved ({:.3}x), {elapsed:?}",
        wire_bytes as f64 / saved as f64
    );
    assert_eq!(records, 1000);

    // One changed answer.
    let (id, doc) = &mut docs[500];
    let heads = doc.get_heads();
    let answers = match doc.get(ROOT, "answers").expect("get") {
        Some((_, obj)) => obj,
        None => panic!("no answers"),
    };
    let a = doc
        .put_object(&answers, "item-007", ObjType::Map)
        .expect("answer");
    doc.put(&a, "value", "pass").expect("v");
    doc.commit();
    let req = SyncRequest {
        cursor: None,
        push: vec![push_of(id, doc, &heads)],
        need_full: vec![],
        max_bytes: 1,
    };
    let (status, _, _) = server
        .sync_raw(Some(&writer.token), wire::encode(&req))
        .await;
    assert_eq!(status, 200);
    let req = SyncRequest {
        cursor,
        push: vec![],
        need_full: vec![],
        max_bytes: 8 << 20,
    };
    let body = wire::encode(&req);
    let t = Instant::now();
    let (status, _, resp) = server.sync_raw(Some(&reader.token), body.clone()).await;
    let elapsed = t.elapsed();
    assert_eq!(status, 200);
    println!(
        "one edit: {} wire bytes, {elapsed:?}",
        body.len() + resp.len()
    );
    assert!(body.len() + resp.len() < 2048);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "performance check; run in release"]
async fn a_hundred_devices_pushing_at_once() {
    let server = TestServer::new().await;
    let mut tasks = Vec::new();
    let mut devices = Vec::new();
    for d in 0..100 {
        devices.push(server.enroll(if d % 2 == 0 { "g1" } else { "g2" }).await);
    }
    let start = Instant::now();
    let deadline = Duration::from_secs(10);
    for enrolled in devices {
        let app = server.app();
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let scope = Scope::group(enrolled.region.clone(), enrolled.group.clone());
            let (id, mut doc) = visit_doc(&scope, 0);
            let mut heads = vec![];
            let mut cursor = None;
            let mut latencies = Vec::new();
            let mut changes = 0usize;
            let answers = match doc.get(ROOT, "answers").expect("get") {
                Some((_, obj)) => obj,
                None => panic!("no answers"),
            };
            for round in 0..30 {
                if start.elapsed() > deadline {
                    break;
                }
                for i in 0..5 {
                    let a = doc
                        .put_object(&answers, format!("item-{round}-{i}"), ObjType::Map)
                        .expect("a");
                    doc.put(&a, "value", "pass").expect("v");
                    doc.commit();
                }
                let push = push_of(&id, &mut doc, &heads);
                changes += push.changes.len();
                heads = doc.get_heads();
                let req = SyncRequest {
                    cursor: cursor.clone(),
                    push: vec![push],
                    need_full: vec![],
                    max_bytes: 1 << 20,
                };
                let http = axum::http::Request::post("/v1/sync")
                    .header("authorization", format!("Bearer {}", enrolled.token))
                    .header("content-type", wire::CONTENT_TYPE)
                    .body(axum::body::Body::from(wire::encode(&req)))
                    .expect("req");
                let t = Instant::now();
                let resp = app.clone().oneshot(http).await.expect("resp");
                assert_eq!(resp.status(), 200);
                let body = http_body_util::BodyExt::collect(resp.into_body())
                    .await
                    .expect("body")
                    .to_bytes();
                latencies.push((round, t.elapsed()));
                let resp: wire::SyncResponse = wire::decode(&body).expect("decode");
                cursor = Some(resp.cursor);
            }
            (changes, latencies)
        }));
    }
    let mut total = 0;
    let mut lat = Vec::new();
    let mut steady = Vec::new();
    let mut all_rounds = Vec::new();
    for t in tasks {
        let (c, l) = t.await.expect("task");
        total += c;
        steady.extend(l.iter().filter(|(r, _)| *r >= 3).map(|(_, d)| *d));
        all_rounds.extend(l.iter().copied());
        lat.extend(l.into_iter().map(|(_, d)| d));
    }
    steady.sort();
    for r in 0..4 {
        let mut per: Vec<Duration> = all_rounds
            .iter()
            .filter(|(x, _)| *x == r)
            .map(|(_, d)| *d)
            .collect();
        per.sort();
        if let (Some(mid), Some(max)) = (per.get(per.len() / 2), per.last()) {
            println!("round {r}: p50 {mid:?} max {max:?}");
        }
    }
    println!(
        "after 3 rounds: p50 {:?} p99 {:?}",
        steady[steady.len() / 2],
        steady[steady.len() * 99 / 100]
    );
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    let p99 = lat[lat.len() * 99 / 100];
    println!(
        "{total} changes in {secs:.2}s = {:.0}/s over {} requests; p50 {:?} p99 {:?}",
        total as f64 / secs,
        lat.len(),
        lat[lat.len() / 2],
        p99
    );
}
