//! Regression guards that count instead of timing, so they cannot flake on a shared machine:
//! one changed answer with many visits in scope costs one round trip and under 2 KB on the
//! wire; a sync of a store shared with captures takes it one bounded step at a time.

use serde_bytes::ByteBuf;
use siteproof_core::sync::wire::{self, PushRecord, SyncRequest, SyncResponse};
use siteproof_core::{AnswerValue, RecordId};
use siteproof_server::GroupId;
use siteproof_tests::answer;
use siteproof_tests::server::TestServer;

const VISITS: usize = 100;
const ANSWERS: usize = 10;

#[test]
fn one_changed_answer_with_many_visits_in_scope_stays_within_its_byte_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, group, template) = group_server(TestServer::start(&dir.path().join("server")));
    let mut seeder = server.enroll_store(&group, &dir.path().join("seeder.db"), "甲");
    let visits = seed(&mut seeder, &template);

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

/// `server` with one supervision group and the `ANSWERS`-item template published.
fn group_server(server: TestServer) -> (TestServer, GroupId, siteproof_core::Template) {
    let group = server.create_group("第一督导组");
    let template = siteproof_tests::template(ANSWERS);
    server.publish_template(&template);
    (server, group, template)
}

/// `VISITS` visits of `ANSWERS` answers each, pushed.
fn seed(seeder: &mut siteproof_core::Store, template: &siteproof_core::Template) -> Vec<RecordId> {
    let visits = (0..VISITS)
        .map(|n| {
            let v = seeder
                .create_visit(siteproof_tests::new_visit(template, &format!("企业{n}")))
                .expect("visit");
            for i in 0..ANSWERS {
                answer(
                    seeder,
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
    visits
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
    let (server, group, template) = group_server(TestServer::start(&dir.path().join("server")));
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

/// The store behind a lock, as the app shares it, counting the steps a sync takes it for;
/// `before` runs with each step's number and the store first, and its error stops the sync.
struct CountingSteps<'a, F> {
    store: &'a parking_lot::Mutex<siteproof_core::Store>,
    steps: usize,
    before: F,
}

impl<'a> CountingSteps<'a, ()> {
    /// Counting steps; the sync stops (fails) instead of taking step `stop_at`.
    fn stopping_at(
        store: &'a parking_lot::Mutex<siteproof_core::Store>,
        stop_at: usize,
    ) -> CountingSteps<
        'a,
        impl FnMut(usize, &mut siteproof_core::Store) -> siteproof_core::Result<()>,
    > {
        CountingSteps {
            store,
            steps: 0,
            before: move |step, _: &mut siteproof_core::Store| {
                if step == stop_at {
                    return Err(siteproof_core::Error::Network("stopped".into()));
                }
                Ok(())
            },
        }
    }
}

use siteproof_core::sync::SyncAccess;

impl<F> SyncAccess for &mut CountingSteps<'_, F>
where
    F: FnMut(usize, &mut siteproof_core::Store) -> siteproof_core::Result<()>,
{
    fn with<R>(
        &mut self,
        step: impl FnOnce(&mut siteproof_core::Store) -> siteproof_core::Result<R>,
    ) -> siteproof_core::Result<R> {
        self.steps += 1;
        (self.before)(self.steps, &mut self.store.lock())?;
        (&mut &*self.store).with(step)
    }

    fn part(&self) -> Option<usize> {
        Some(siteproof_core::sync::SHARED_PART)
    }
}

/// A fresh device whose store is shared with captures pulls 100 visits with the store taken
/// for one step at a time: a request, then at most `SHARED_PART` records merged per step,
/// then the round's end; captures made on another thread meanwhile all stay and go up with
/// the next sync, and the device ends with what a device syncing on its own store holds. The
/// records pulled whole are loaded and checked before the store is taken, never while held.
#[test]
fn a_shared_store_is_synced_one_bounded_step_at_a_time_while_captures_go_on() {
    use siteproof_core::sync::{SHARED_PART, SyncClient};

    let dir = tempfile::tempdir().expect("tempdir");
    let (server, group, template) = group_server(TestServer::start(&dir.path().join("server")));
    // Enrolled (and synced once) before the seeder pushes: its next sync pulls every visit.
    let mut fresh = server.enroll_store(&group, &dir.path().join("fresh.db"), "乙");
    let mut seeder = server.enroll_store(&group, &dir.path().join("seeder.db"), "甲");
    for n in 0..VISITS {
        let v = seeder
            .create_visit(siteproof_tests::new_visit(&template, &format!("企业{n}")))
            .expect("visit");
        answer(&mut seeder, &v, "i0", AnswerValue::Pass, &format!("{n}"));
    }
    seeder.sync().expect("push");

    let own = fresh
        .create_visit(siteproof_tests::new_visit(&template, "现场"))
        .expect("own visit");
    let loads = fresh.received_loads();
    let shared = parking_lot::Mutex::new(fresh);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut counting = CountingSteps::stopping_at(&shared, usize::MAX);
    let (summary, captured) = std::thread::scope(|scope| {
        let capturing = scope.spawn(|| {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || n < 3 {
                {
                    let mut store = shared.lock();
                    let item = format!("i{}", n % ANSWERS);
                    answer(&mut store, &own, &item, AnswerValue::Pass, &format!("c{n}"));
                }
                n += 1;
                // An inspector's pace, not a loop holding the lock back to back.
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            n
        });
        let client = SyncClient::new(&server.url()).expect("client");
        let summary = client.sync_with(&mut counting).expect("shared sync");
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        (summary, capturing.join().expect("captures"))
    });
    assert!(summary.pulled as usize >= VISITS, "{summary:?}");
    let rounds = summary.round_trips as usize;
    // The token, then per round a request and its end, and the pulled records in parts.
    let least = 1 + 2 * rounds + (summary.pulled as usize).div_ceil(SHARED_PART);
    assert!(
        counting.steps >= least,
        "{} steps for {} records in {rounds} rounds (at least {least})",
        counting.steps,
        summary.pulled
    );
    drop(counting);
    let mut fresh = shared.into_inner();
    assert_eq!(fresh.list_visits().expect("list").len(), VISITS + 1);
    // Each visit arrived whole and was loaded and checked before the store was taken: the
    // store itself loaded none of them (a store synced on its own loads each, below).
    assert_eq!(
        fresh.received_loads() - loads,
        0,
        "records pulled whole that a shared store loaded while held"
    );
    assert!(captured >= 3);
    fresh.sync().expect("the captures go up");
    assert_eq!(
        fresh.outbox_len().expect("outbox"),
        0,
        "every capture acknowledged"
    );
    // Enrolling syncs the store on its own: it loads every visit while held.
    let mut other = server.enroll_store(&group, &dir.path().join("other.db"), "丙");
    other.sync().expect("pull");
    assert_eq!(other.list_visits().expect("list").len(), VISITS + 1);
    assert!(other.received_loads() > VISITS as u64);
}

/// A pull of many pages asks for each next page while it merges the one before, and the
/// store moves its cursor only once a page is merged. Stopped just after its first page ended
/// (the second asked for ahead), or in the middle of a later one, and reopened, the store
/// holds whole pages and the cursor they end on; its next sync pulls the rest, from there:
/// every visit once, none lost, none pulled again but those of a page cut off. The requests
/// after the first are made without the store (asked for ahead): counted in steps.
#[test]
fn a_pull_stopped_between_or_inside_pages_resumes_from_the_last_merged_page() {
    use siteproof_core::sync::SyncClient;

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = siteproof_server::ServerConfig::default();
    config.sync.max_page_bytes = 16 << 10;
    let (server, group, template) =
        group_server(TestServer::start_with(&dir.path().join("server"), config));
    let path = dir.path().join("fresh.db");
    drop(server.enroll_store(&group, &path, "乙"));
    let mut seeder = server.enroll_store(&group, &dir.path().join("seeder.db"), "甲");
    seed(&mut seeder, &template);
    let client = SyncClient::new(&server.url()).expect("client");
    let sync = |stop_at: usize| {
        let shared = parking_lot::Mutex::new(siteproof_tests::open_store(&path, "乙"));
        let mut counting = CountingSteps::stopping_at(&shared, stop_at);
        let summary = client.sync_with(&mut counting);
        (summary, counting.steps)
    };
    let held = || {
        let store = siteproof_tests::open_store(&path, "乙");
        (
            store.list_visits().expect("list").len(),
            store.sync_cursor().expect("cursor").map(|c| c.seq),
        )
    };

    // Steps: the token, the outbox, the first request, the first page's part and its end;
    // the sixth would merge the page asked for ahead.
    let (stopped, steps) = sync(6);
    assert!(stopped.is_err(), "stopped");
    assert_eq!(steps, 6);
    let (first, cursor) = held();
    assert!(
        first > 0 && first < VISITS,
        "the first page: {first} visits"
    );
    assert!(cursor.is_some(), "its cursor");

    // Stopped inside the third page: the second page merged and ended, the third's part
    // merged, its end not taken.
    let (stopped, _) = sync(7);
    assert!(stopped.is_err(), "stopped again");
    let (second, cursor_after) = held();
    assert!(
        second > first,
        "the next page and the part merged: {second}"
    );
    assert!(cursor_after > cursor, "the next page's cursor");

    let (summary, steps) = sync(usize::MAX);
    let summary = summary.expect("the rest");
    let (all, _) = held();
    assert_eq!(all, VISITS, "every visit held once");
    assert!(
        summary.pulled as usize >= VISITS - second && (summary.pulled as usize) < VISITS - first,
        "pulled from the last merged page on: {} of {VISITS} ({first} then {second} held before)",
        summary.pulled
    );
    let rounds = summary.round_trips as usize;
    assert!(rounds > 2, "{rounds} pages");
    assert_eq!(
        steps,
        3 + 2 * rounds,
        "the token, the outbox, one request made on the store; a part and an end per page"
    );
    let store = siteproof_tests::open_store(&path, "乙");
    for v in store.list_visits().expect("list") {
        assert_eq!(v.answered as usize, ANSWERS, "{} whole", v.id);
    }
}

/// A shared store's request is built a few steps at a time: a record listed to push whose
/// changes were acknowledged before its step read it is left out (an empty record would be
/// refused by the server and fail the sync), and the others go up.
#[test]
fn a_record_acknowledged_between_a_requests_steps_is_left_out_of_it() {
    use siteproof_core::sync::SyncClient;

    let dir = tempfile::tempdir().expect("tempdir");
    let (server, group, template) = group_server(TestServer::start(&dir.path().join("server")));
    let mut store = server.enroll_store(&group, &dir.path().join("phone.db"), "甲");
    let visits: Vec<RecordId> = (0..3)
        .map(|n| {
            let v = store
                .create_visit(siteproof_tests::new_visit(&template, &format!("企业{n}")))
                .expect("visit");
            answer(&mut store, &v, "i0", AnswerValue::Pass, "ok");
            v
        })
        .collect();
    let waiting = store.outbox_len().expect("outbox");
    let gone = store
        .pending_changes(usize::MAX)
        .expect("pending")
        .into_iter()
        .find(|p| p.id == visits[1])
        .expect("the second visit waits")
        .hashes
        .len() as u64;
    let shared = parking_lot::Mutex::new(store);
    // After the token, the outbox and the records to push were read, the second visit's
    // changes are acknowledged, as another sync's round on the same store would.
    let mut access = CountingSteps {
        store: &shared,
        steps: 0,
        before: |step, store: &mut siteproof_core::Store| {
            if step == 4 {
                let mine: Vec<_> = store
                    .pending_changes(usize::MAX)?
                    .into_iter()
                    .filter(|p| p.id == visits[1])
                    .flat_map(|p| p.hashes.into_iter().map(move |h| (p.id.clone(), h)))
                    .collect();
                assert!(!mine.is_empty(), "the visit had changes to push");
                store.acknowledge(&mine)?;
            }
            Ok(())
        },
    };
    let summary = SyncClient::new(&server.url())
        .expect("client")
        .sync_with(&mut access)
        .expect("the sync goes on without the acknowledged record");
    assert_eq!(summary.pushed, waiting - gone, "the other records went up");
    assert_eq!(shared.lock().outbox_len().expect("outbox"), 0);
}
