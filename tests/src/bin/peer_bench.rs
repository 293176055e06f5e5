//! Peer sync benchmark: two devices of one group, each with 200 visits the other lacks and 50
//! shared visits edited on both sides, converge (1) directly over TCP loopback and (2) through
//! the server (A syncs, B syncs, A syncs), from the same starting state. Prints time and
//! bytes for both.
//!
//! Run: `cargo run --release -p siteproof-tests --bin peer-bench`

use std::path::Path;
use std::time::Instant;

use siteproof_core::{AnswerValue, RecordId, Store};
use siteproof_tests::answer;
use siteproof_tests::peer::{Damage, exchange};
use siteproof_tests::server::TestServer;

const OWN: usize = 200;
const SHARED: usize = 50;
const ANSWERS: usize = 10;

fn copy_store(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("copy store");
    let wal = from.with_extension("db-wal");
    if wal.exists() {
        std::fs::copy(&wal, to.with_extension("db-wal")).expect("copy wal");
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let group = server.create_group("基准组");
    let template = siteproof_tests::template(ANSWERS);
    server.publish_template(&template);
    let (pa, pb) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let mut a = server.enroll_store(&group, &pa, "甲");
    let mut b = server.enroll_store(&group, &pb, "乙");
    let shared: Vec<RecordId> = (0..SHARED)
        .map(|i| {
            a.create_visit(siteproof_tests::new_visit(&template, &format!("共同{i}")))
                .expect("visit")
        })
        .collect();
    a.sync().expect("sync");
    b.sync().expect("sync");
    for (store, name) in [(&mut a, "甲"), (&mut b, "乙")] {
        for i in 0..OWN {
            let v = store
                .create_visit(siteproof_tests::new_visit(&template, &format!("{name}{i}")))
                .expect("visit");
            for item in 0..ANSWERS {
                answer(store, &v, &format!("i{item}"), AnswerValue::Pass, "");
            }
        }
    }
    for v in &shared {
        answer(&mut a, v, "i0", AnswerValue::Pass, "甲");
        answer(&mut b, v, "i0", AnswerValue::Fail, "乙");
    }
    drop((a, b));
    let (qa, qb) = (dir.path().join("a2.db"), dir.path().join("b2.db"));
    copy_store(&pa, &qa);
    copy_store(&pb, &qb);

    let (mut a, mut b) = (Store::open(&pa).expect("a"), Store::open(&pb).expect("b"));
    let started = Instant::now();
    let (x, y) = exchange(&mut a, &mut b, Damage::None);
    let peer_time = started.elapsed();
    x.result.expect("initiator");
    y.result.expect("responder");
    let peer_bytes = x.summary.bytes_sent + y.summary.bytes_sent;
    assert_eq!(a.list_visits().expect("a").len(), 2 * OWN + SHARED);
    assert_eq!(b.list_visits().expect("b").len(), 2 * OWN + SHARED);

    let (mut a, mut b) = (Store::open(&qa).expect("a2"), Store::open(&qb).expect("b2"));
    let started = Instant::now();
    let mut server_bytes = 0;
    for store in [&mut a, &mut b] {
        let s = store.sync().expect("sync");
        server_bytes += s.bytes_up + s.bytes_down;
    }
    let s = a.sync().expect("sync");
    server_bytes += s.bytes_up + s.bytes_down;
    let server_time = started.elapsed();
    assert_eq!(a.list_visits().expect("a").len(), 2 * OWN + SHARED);
    assert_eq!(b.list_visits().expect("b").len(), 2 * OWN + SHARED);

    println!(
        "peer over loopback: {:.0} ms, {} bytes (records {} + {})",
        peer_time.as_secs_f64() * 1e3,
        peer_bytes,
        x.summary.records_sent,
        y.summary.records_sent
    );
    println!(
        "through the server: {:.0} ms, {} bytes (3 syncs)",
        server_time.as_secs_f64() * 1e3,
        server_bytes
    );
}
