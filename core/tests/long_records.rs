//! Long-lived records cost a write what fresh ones do, guarded by counts rather than times
//! (the machine running the tests is shared): the SQLite pages a capture writes (WAL frames),
//! and how often a document's whole history is read back from disk.

mod common;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue};
use common::*;
use siteproof_core::*;

/// The pages the store committed since the last call, read from a second connection: the
/// frames the WAL holds (a passive checkpoint counts them), then the WAL emptied.
fn pages_written(conn: &rusqlite::Connection) -> i64 {
    let frames = |mode: &str| {
        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            let (busy, log): (i64, i64) = (r.get(0)?, r.get(1)?);
            assert_eq!(busy, 0, "nothing else holds the database");
            Ok(log)
        })
        .expect("checkpoint")
    };
    let written = frames("PASSIVE");
    frames("TRUNCATE");
    written
}

/// `changes` answers written to `visit` by three devices, merging one another's work every
/// 50 changes as peers syncing in turn would, then merged into `store`.
fn three_device_history(store: &mut Store, visit: &RecordId, items: usize, changes: usize) {
    let saved = store.export_document(visit).expect("export");
    let mut devices: Vec<AutoCommit> = (1..=3u8)
        .map(|n| {
            AutoCommit::load(&saved)
                .expect("load")
                .with_actor(ActorId::from(vec![n; 16]))
        })
        .collect();
    for n in 0..changes {
        let device = &mut devices[(n / 50) % 3];
        let answers = match device.get(ROOT, "answers").expect("get") {
            Some((_, id)) => id,
            None => panic!("a visit has answers"),
        };
        let answer = serde_json::json!({
            "value": if n % 2 == 0 { "pass" } else { "fail" }, "note": format!("第{n}次"),
            "media": [], "by": "张三", "device": DeviceId::random().to_string(), "at": n,
        });
        device
            .put(
                &answers,
                format!("i{}", (n * 7) % items),
                answer.to_string(),
            )
            .expect("put");
        device.commit();
        if n % 50 == 49 {
            let from = devices[(n / 50) % 3].save();
            for other in devices.iter_mut() {
                other.load_incremental(&from).expect("merge");
            }
        }
    }
    for device in &mut devices {
        store
            .merge(Some(visit), &device.save(), MergeOrigin::Peer)
            .expect("merge");
    }
}

#[test]
fn a_capture_on_a_visit_with_2000_changes_from_three_devices_writes_what_one_on_a_fresh_visit_does()
{
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("long.db");
    let mut store = store_at(&path, "张三");
    let t = template_with_items(60);
    store.put_template(&t).expect("template");
    let long = store.create_visit(new_visit(&t, "老厂")).expect("visit");
    three_device_history(&mut store, &long, 60, 2_000);
    let fresh = store.create_visit(new_visit(&t, "新厂")).expect("visit");
    let conn = rusqlite::Connection::open(&path).expect("second connection");
    pages_written(&conn);
    let loads = store.document_loads();

    let (mut on_long, mut on_fresh) = (0, 0);
    for n in 0..100 {
        let at = item(&format!("i{}", n % 60));
        store.answer_item(&long, &at, pass()).expect("answer");
        on_long += pages_written(&conn);
        store.answer_item(&fresh, &at, pass()).expect("answer");
        on_fresh += pages_written(&conn);
    }
    println!(
        "pages written by 100 captures: {on_long} on the long visit, {on_fresh} on a fresh one"
    );
    assert_eq!(
        store.document_loads(),
        loads,
        "a capture never reads a record's history back from disk"
    );
    assert!(
        on_fresh >= 100,
        "every capture commits pages ({on_fresh} for 100)"
    );
    assert!(
        on_long * 2 <= on_fresh * 3,
        "100 captures on the long visit wrote {on_long} pages, on a fresh one {on_fresh}"
    );
}

/// A case the office opened, with `events` events, as the server sends it whole.
fn case_with_events(visit: &RecordId, events: usize) -> AutoCommit {
    let finding = FindingId::random();
    let id = RecordId::for_finding_case(visit, &finding);
    let case = Case {
        id: id.clone(),
        visit: visit.clone(),
        finding,
        site_name: "化工厂".into(),
        sector: Sector::Gas,
        severity: Severity::Major,
        description: "报警器失效".into(),
        events: vec![],
        fixed_on_spot: false,
    };
    let header = RecordHeader {
        kind: RecordKind::Case,
        id,
        scope: Scope::group("hebei", "g1"),
    };
    let mut doc = header
        .create_with(ActorId::from(vec![0x0f_u8; 16]), "case", &case)
        .expect("case");
    for n in 0..events {
        append_event(&mut doc, n);
    }
    doc
}

/// Appends one event at the end of the case's events, as one change; returns the change.
fn append_event(doc: &mut AutoCommit, n: usize) -> Vec<u8> {
    let heads = doc.get_heads();
    let case = doc.get(ROOT, "case").expect("get").expect("case").1;
    let events = doc.get(&case, "events").expect("get").expect("events").1;
    let e = doc
        .insert_object(&events, doc.length(&events), ObjType::Map)
        .expect("insert");
    doc.put(
        &e,
        "kind",
        if n == 0 { "opened" } else { "interim_measures" },
    )
    .expect("put");
    doc.put(&e, "by", "reviewer").expect("put");
    doc.put(&e, "at", 1_700_000_000_000 + n as i64)
        .expect("put");
    doc.put(&e, "note", format!("第{n}次防控措施"))
        .expect("put");
    for k in ["unit", "deadline"] {
        doc.put(&e, k, ScalarValue::Null).expect("put");
    }
    doc.put_object(&e, "media", ObjType::List).expect("put");
    doc.commit();
    doc.save_after(&heads)
}

#[test]
fn an_event_received_on_a_case_with_500_events_writes_what_one_on_a_fresh_case_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("case.db");
    let mut store = store_at(&path, "张三");
    let visit = RecordId::random();
    let (mut long, mut fresh) = (case_with_events(&visit, 500), case_with_events(&visit, 1));
    let mut ids = Vec::new();
    for doc in [&mut long, &mut fresh] {
        ids.push(
            store
                .merge(None, &doc.save(), MergeOrigin::Server)
                .expect("case")
                .id,
        );
    }
    let conn = rusqlite::Connection::open(&path).expect("second connection");
    pages_written(&conn);
    let loads = store.document_loads();

    let (mut on_long, mut on_fresh) = (0, 0);
    for n in 0..50 {
        for (doc, id, pages) in [
            (&mut long, &ids[0], &mut on_long),
            (&mut fresh, &ids[1], &mut on_fresh),
        ] {
            let change = append_event(doc, n + 1);
            store
                .merge(Some(id), &change, MergeOrigin::Server)
                .expect("event");
            *pages += pages_written(&conn);
        }
    }
    assert_eq!(store.case(&ids[0]).expect("case").events.len(), 550);
    println!(
        "pages written by 50 received events: {on_long} on the long case, {on_fresh} on a fresh one"
    );
    assert_eq!(
        store.document_loads(),
        loads,
        "no case was read back from disk"
    );
    assert!(
        on_fresh >= 50,
        "every event commits pages ({on_fresh} for 50)"
    );
    // The two cases' chunks share B-tree pages, the one whose random id sorts first paying a
    // few more (about 1.4x, either way round); a whole case written per event is 4x and more.
    assert!(
        on_long <= on_fresh * 2,
        "50 events on the long case wrote {on_long} pages, on a fresh one {on_fresh}"
    );
}

/// A record pulled whole from the server is stored as the bytes that came, as its one
/// snapshot: taking it in costs one load of its history, not also a save of it (a second pass
/// over the whole history, a sixth of a fresh device's CPU when it pulled 3,000 visits).
#[test]
fn a_visit_with_600_changes_pulled_whole_is_stored_as_it_came() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = template_with_items(60);
    let mut phone = store_at(&dir.path().join("phone.db"), "张三");
    phone.put_template(&t).expect("template");
    let visit = phone.create_visit(new_visit(&t, "老厂")).expect("visit");
    three_device_history(&mut phone, &visit, 60, 600);
    let whole = phone.export_document(&visit).expect("export");

    let path = dir.path().join("fresh.db");
    let mut fresh = store_at(&path, "李四");
    let outcome = fresh
        .merge(Some(&visit), &whole, MergeOrigin::Server)
        .expect("pulled whole");
    assert!(outcome.created);
    assert_eq!(
        outcome.new_changes,
        AutoCommit::load(&whole)
            .expect("load")
            .get_changes(&[])
            .len(),
        "every change of the record counted as new"
    );
    assert_eq!(
        fresh.outbox_len().expect("outbox"),
        0,
        "nothing to send back"
    );
    let conn = rusqlite::Connection::open(&path).expect("second connection");
    let chunks: Vec<(bool, Vec<u8>)> = conn
        .prepare("SELECT snapshot, data FROM doc_chunks WHERE doc_id = ?1")
        .expect("prepare")
        .query_map([visit.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(chunks.len(), 1, "one chunk");
    assert!(chunks[0].0, "a snapshot");
    assert!(chunks[0].1 == whole, "the bytes as they came");

    // Read back from disk, it is the same visit.
    fresh.clear_cache();
    assert_eq!(
        fresh.visit(&visit).expect("visit").answers,
        phone.visit(&visit).expect("visit").answers
    );
    assert_eq!(fresh.document_loads(), 1);
}
