//! Store benchmarks, each measured side by side with its baseline in the same run:
//! - durable capture of one answer vs a raw rusqlite insert of the same bytes with the same
//!   durability settings (WAL, synchronous=FULL), target ≤ 3x;
//! - listing 5,000 visits, target < 50 ms;
//! - loading a visit with 200 answers (cold, from disk; and warm), target < 10 ms;
//! - encryption at rest: durable capture and media import (and the decrypting read the
//!   uploader does) in an encrypted store vs an unencrypted one, target: under 30 % more;
//! - long-lived records: a capture on a visit with 2,000 changes from three devices, and a
//!   received event on a case with 500 events, each vs the same on a fresh record, target ≤ 2x;
//! - what the server's push costs at least: Automerge applying ten pushed answers to a visit
//!   whose history holds 250 changes, and to a fresh one (the server's budget is 0.08 ms of
//!   CPU per synced change, everything included).
//!
//! Run: `cargo bench -p siteproof-core --bench store` (`-- encrypted`, `-- long` or `-- apply`
//! for one group).

use criterion::{Criterion, criterion_group, criterion_main};
use std::io::Read;
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use siteproof_core::media::MediaStore;
use siteproof_core::{
    ActorId, AnswerInput, AnswerValue, Case, CaseEvent, CaseEventKind, FindingId, ItemId,
    MergeOrigin, NewVisit, Profile, RecordHeader, RecordKind, Scope, Sector, Severity, Site, Store,
    StoreKey, Template, TemplateRef, VisitMode,
};

fn template(items: usize) -> Template {
    let items: Vec<serde_json::Value> = (0..items)
        .map(|i| {
            serde_json::json!({
                "id": format!("i{i}"),
                "text": {"zh": "检查项", "en": "Item"},
                "criterion": {"document": "判定标准", "clause": "第一条"},
                "severity": "general", "answer": {"kind": "pass_fail"}, "evidence_required": false
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "id": "bench", "version": 1, "sector": "gas",
        "title": {"zh": "基准", "en": "Bench"},
        "source": {"document": "判定标准", "reference": "bench"}, "items": items
    }))
    .expect("template")
}

fn new_visit(t: &Template, n: usize) -> NewVisit {
    NewVisit {
        site: Site {
            name: format!("企业 {n}"),
            credit_code: None,
            address: "石家庄".into(),
            sector: t.sector,
        },
        mode: VisitMode::Covert,
        team: vec!["张三".into()],
        template: TemplateRef {
            id: t.id.clone(),
            version: 1,
        },
        assignment: None,
        location: None,
    }
}

fn store(dir: &std::path::Path, t: &Template) -> Store {
    store_keyed(dir, t, None)
}

fn store_keyed(dir: &std::path::Path, t: &Template, key: Option<&StoreKey>) -> Store {
    let path = dir.join("bench.db");
    let mut store = match key {
        Some(key) => Store::open_encrypted(path, key).expect("open encrypted"),
        None => Store::open(path).expect("open"),
    };
    store
        .set_profile(&Profile {
            inspector: "张三".into(),
            scope: Scope::group("hebei", "g1"),
        })
        .expect("profile");
    store.put_template(t).expect("template");
    store
}

fn answer(n: usize) -> AnswerInput {
    AnswerInput {
        value: if n.is_multiple_of(2) {
            AnswerValue::Pass
        } else {
            AnswerValue::Fail
        },
        note: Some(format!("第{n}次检查记录")),
        media: vec![],
    }
}

fn capture(c: &mut Criterion) {
    if !wanted("durable capture") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let t = template(60);
    let mut s = store(dir.path(), &t);
    // Captures go round 50 visits, item by item, as an inspector's would: each visit sees each
    // item answered a few times over the run, not thousands (an ever-growing single history
    // would measure Automerge's cost per op on a document no inspector makes).
    let visits: Vec<_> = (0..50)
        .map(|n| s.create_visit(new_visit(&t, n)).expect("visit"))
        .collect();
    let visit = visits[0].clone();
    let items: Vec<ItemId> = t.items.iter().map(|i| i.id.clone()).collect();

    // The bytes one capture adds: its change as Automerge encodes it.
    s.answer_item(&visit, &items[0], answer(0)).expect("answer");
    let pending = s.pending_changes(10).expect("pending");
    let change_len = pending[0].changes.last().expect("change").len();
    let payload = vec![7u8; change_len];

    let raw = rusqlite::Connection::open(dir.path().join("raw.db")).expect("raw");
    raw.pragma_update(None, "journal_mode", "WAL").expect("wal");
    raw.pragma_update(None, "synchronous", "FULL")
        .expect("full");
    raw.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
        .expect("t");

    interleaved_ratio(&mut s, &visits, &items, &raw, &payload);

    let mut g = c.benchmark_group("durable capture");
    let mut n = 1;
    g.bench_function("store.answer_item", |b| {
        b.iter(|| {
            n += 1;
            let (v, i) = target(n, &visits, &items);
            s.answer_item(v, i, answer(n)).expect("answer");
        })
    });
    g.bench_function(format!("raw rusqlite insert of {change_len} bytes"), |b| {
        b.iter(|| {
            raw.execute("INSERT INTO t (data) VALUES (?1)", [&payload])
                .expect("insert");
        })
    });
    g.finish();
}

/// The machine is shared and its disk latency drifts over seconds, so the ratio is also
/// measured with the two alternating, one capture then one raw insert, and printed.
fn interleaved_ratio(
    s: &mut Store,
    visits: &[siteproof_core::RecordId],
    items: &[ItemId],
    raw: &rusqlite::Connection,
    payload: &[u8],
) {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for n in 0..2_000 {
        let t = std::time::Instant::now();
        let (v, i) = target(n, visits, items);
        s.answer_item(v, i, answer(n)).expect("answer");
        ours.push(t.elapsed());
        let t = std::time::Instant::now();
        raw.execute("INSERT INTO t (data) VALUES (?1)", [payload])
            .expect("insert");
        theirs.push(t.elapsed());
    }
    ours.sort();
    theirs.sort();
    let (a, b) = (ours[ours.len() / 2], theirs[theirs.len() / 2]);
    println!(
        "durable capture, interleaved x2000: median {a:?} vs raw insert {b:?}: ratio {:.2}",
        a.as_secs_f64() / b.as_secs_f64()
    );
}

/// The n-th capture's visit and item: items in order, then the next visit.
fn target<'a>(
    n: usize,
    visits: &'a [siteproof_core::RecordId],
    items: &'a [ItemId],
) -> (&'a siteproof_core::RecordId, &'a ItemId) {
    (
        &visits[(n / items.len()) % visits.len()],
        &items[n % items.len()],
    )
}

fn list_and_load(c: &mut Criterion) {
    if !wanted("list 5,000 visits, load a visit with 200 answers") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let t = template(200);
    let mut s = store(dir.path(), &t);
    let mut first = None;
    for n in 0..5_000 {
        let v = s.create_visit(new_visit(&t, n)).expect("visit");
        first.get_or_insert(v);
    }
    let big = first.expect("a visit");
    for (n, item) in t.items.iter().enumerate() {
        s.answer_item(&big, &item.id, answer(n)).expect("answer");
    }
    c.bench_function("list 5,000 visits", |b| {
        b.iter(|| assert_eq!(s.list_visits().expect("list").len(), 5_000))
    });
    c.bench_function("load a visit with 200 answers (cold, from disk)", |b| {
        b.iter(|| {
            s.clear_cache();
            assert_eq!(s.visit(&big).expect("visit").answers.len(), 200);
        })
    });
    c.bench_function("load a visit with 200 answers (warm)", |b| {
        b.iter(|| assert_eq!(s.visit(&big).expect("visit").answers.len(), 200))
    });
    // What the office reads beside each visit it indexes or shows.
    c.bench_function("conflicts of a visit with 200 answers (warm)", |b| {
        b.iter(|| assert!(s.conflicts(&big).expect("conflicts").is_empty()))
    });
}

/// Encrypted vs unencrypted, each pair measured alternately in the same run.
fn encrypted(c: &mut Criterion) {
    if !wanted("encrypted") {
        return;
    }
    let t = template(60);
    let (plain_dir, enc_dir) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let key = StoreKey::random();
    let mut plain = store_keyed(plain_dir.path(), &t, None);
    let mut enc = store_keyed(enc_dir.path(), &t, Some(&key));
    let visits = |s: &mut Store| -> Vec<_> {
        (0..50)
            .map(|n| s.create_visit(new_visit(&t, n)).expect("visit"))
            .collect()
    };
    let (plain_visits, enc_visits) = (visits(&mut plain), visits(&mut enc));
    let items: Vec<ItemId> = t.items.iter().map(|i| i.id.clone()).collect();

    let (mut a, mut b) = (Vec::new(), Vec::new());
    for n in 0..2_000 {
        let (pv, pi) = target(n, &plain_visits, &items);
        let (ev, ei) = target(n, &enc_visits, &items);
        let mut plain_capture = || {
            a.push(timed(|| {
                plain.answer_item(pv, pi, answer(n)).expect("answer")
            }))
        };
        let mut enc_capture = || {
            b.push(timed(|| {
                enc.answer_item(ev, ei, answer(n)).expect("answer")
            }))
        };
        // Each goes first in half the rounds.
        if n % 2 == 0 {
            plain_capture();
            enc_capture();
        } else {
            enc_capture();
            plain_capture();
        }
    }
    let (a, b) = (median(a), median(b));
    println!(
        "durable capture, interleaved x2000: median {a:?} unencrypted vs {b:?} encrypted: +{:.0} %",
        (b.as_secs_f64() / a.as_secs_f64() - 1.0) * 100.0
    );

    // Media: a 32 MiB file imported (read, hashed, encrypted or not, written, synced) and read
    // back whole through `open_original`, as the uploader reads it.
    let source = plain_dir.path().join("footage.bin");
    let bytes: Vec<u8> = (0..32u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&source, &bytes).expect("source");
    let plain_media = plain
        .media_store(plain_dir.path().join("media"))
        .expect("media");
    let enc_media = enc
        .media_store(enc_dir.path().join("media"))
        .expect("media");
    let (mut ia, mut ib, mut ra, mut rb) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..8 {
        let mut pair = [
            (&plain_media, &mut ia, &mut ra),
            (&enc_media, &mut ib, &mut rb),
        ];
        // Each goes first in half the rounds: the disk's state after one does not favour either.
        if round % 2 == 1 {
            pair.reverse();
        }
        for (media, imports, reads) in pair {
            let mut hash = None;
            imports.push(timed(|| {
                hash = Some(media.import_file(&source).expect("import").hash)
            }));
            let hash = hash.expect("imported");
            reads.push(timed(|| read_whole(media, &hash)));
            media.evict_original(&hash).expect("evict");
        }
    }
    let mb = bytes.len() as f64 / (1 << 20) as f64;
    for (what, a, b) in [
        ("import", median(ia), median(ib)),
        ("read back", median(ra), median(rb)),
    ] {
        println!(
            "media {what} of 32 MiB, interleaved x8: {:.0} MiB/s unencrypted vs {:.0} MiB/s encrypted: +{:.0} % time",
            mb / a.as_secs_f64(),
            mb / b.as_secs_f64(),
            (b.as_secs_f64() / a.as_secs_f64() - 1.0) * 100.0
        );
    }

    let mut g = c.benchmark_group("encrypted");
    let mut n = 2_000;
    g.bench_function("answer_item, unencrypted", |bench| {
        bench.iter(|| {
            n += 1;
            let (v, i) = target(n, &plain_visits, &items);
            plain.answer_item(v, i, answer(n)).expect("answer");
        })
    });
    g.bench_function("answer_item, encrypted", |bench| {
        bench.iter(|| {
            n += 1;
            let (v, i) = target(n, &enc_visits, &items);
            enc.answer_item(v, i, answer(n)).expect("answer");
        })
    });
    g.finish();
}

/// Long-lived records against fresh ones, alternately in one run: a capture on a visit whose
/// 2,000 changes came from three devices (merged back and forth as peers would), and a case
/// event received on a case with 500 events (each its own change, as the office writes them).
fn long_history(c: &mut Criterion) {
    if !wanted("long history") {
        return;
    }
    let t = template(60);
    let items: Vec<ItemId> = t.items.iter().map(|i| i.id.clone()).collect();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();
    let mut devices: Vec<Store> = dirs.iter().map(|d| store(d.path(), &t)).collect();
    let long = devices[0].create_visit(new_visit(&t, 0)).expect("visit");
    exchange(&mut devices, &long);
    let mut n = 0;
    while n < 2_000 {
        for device in devices.iter_mut() {
            for _ in 0..50 {
                device
                    .answer_item(&long, &items[(n * 7) % items.len()], answer(n))
                    .expect("answer");
                n += 1;
            }
        }
        exchange(&mut devices, &long);
    }
    let mut s = devices.swap_remove(0);
    let mut fresh = s.create_visit(new_visit(&t, 1)).expect("visit");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for n in 0..600 {
        if n % 20 == 0 {
            fresh = s.create_visit(new_visit(&t, n)).expect("visit");
        }
        let item = &items[n % items.len()];
        a.push(timed(|| {
            s.answer_item(&long, item, answer(n)).expect("answer")
        }));
        b.push(timed(|| {
            s.answer_item(&fresh, item, answer(n)).expect("answer")
        }));
    }
    let (a, b) = (median(a), median(b));
    println!(
        "capture, interleaved x600: median {a:?} on a visit with 2,000 changes from 3 devices vs {b:?} on a fresh one: {:.2}x",
        a.as_secs_f64() / b.as_secs_f64()
    );

    let (mut long_case, long_id) = office_case(500);
    s.merge(None, &long_case.save(), MergeOrigin::Server)
        .expect("case");
    let (mut fresh_case, mut fresh_id) = office_case(1);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for n in 0..300 {
        if n % 20 == 0 {
            (fresh_case, fresh_id) = office_case(1);
            s.merge(None, &fresh_case.save(), MergeOrigin::Server)
                .expect("case");
        }
        for (doc, id, times) in [
            (&mut long_case, &long_id, &mut a),
            (&mut fresh_case, &fresh_id, &mut b),
        ] {
            let change = next_event(doc, n);
            times.push(timed(|| {
                s.merge(Some(id), &change, MergeOrigin::Server)
                    .expect("event");
            }));
        }
    }
    assert_eq!(s.case(&long_id).expect("case").events.len(), 800);
    let (a, b) = (median(a), median(b));
    println!(
        "case event received, interleaved x300: median {a:?} on a case with 500 events vs {b:?} on a fresh one: {:.2}x",
        a.as_secs_f64() / b.as_secs_f64()
    );

    let mut g = c.benchmark_group("long history");
    let mut n = 600;
    g.bench_function(
        "answer_item, visit with 2,000 changes from 3 devices",
        |bench| {
            bench.iter(|| {
                n += 1;
                s.answer_item(&long, &items[n % items.len()], answer(n))
                    .expect("answer")
            })
        },
    );
    g.bench_function("answer_item, fresh visit", |bench| {
        bench.iter(|| {
            n += 1;
            if n % 20 == 0 {
                fresh = s.create_visit(new_visit(&t, n)).expect("visit");
            }
            s.answer_item(&fresh, &items[n % items.len()], answer(n))
                .expect("answer")
        })
    });
    g.finish();
}

/// Automerge applying ten answers pushed by a device, one change each, to the server's copy of
/// a visit whose history holds `history` answers before them (the server's push does this,
/// then checks and stores them).
fn pushed_answers(history: usize) -> (AutoCommit, Vec<automerge::Change>) {
    let t = template(60);
    let items: Vec<ItemId> = t.items.iter().map(|i| i.id.clone()).collect();
    let dir = tempfile::tempdir().expect("dir");
    let mut s = store(dir.path(), &t);
    let visit = s.create_visit(new_visit(&t, 0)).expect("visit");
    let pending = |s: &mut Store| {
        let records = s.pending_changes(10).expect("pending");
        let acked: Vec<_> = records
            .iter()
            .flat_map(|p| p.hashes.iter().map(|h| (p.id.clone(), *h)))
            .collect();
        s.acknowledge(&acked).expect("ack");
        records
            .into_iter()
            .flat_map(|p| p.changes)
            .map(|bytes| automerge::Change::try_from(bytes.as_slice()).expect("change"))
            .collect::<Vec<_>>()
    };
    for n in 0..history {
        s.answer_item(&visit, &items[(n * 7) % items.len()], answer(n))
            .expect("answer");
    }
    pending(&mut s);
    let server = AutoCommit::load(&s.export_document(&visit).expect("export")).expect("load");
    for n in history..history + 10 {
        s.answer_item(&visit, &items[(n * 7) % items.len()], answer(n))
            .expect("answer");
    }
    let changes = pending(&mut s);
    assert_eq!(changes.len(), 10);
    (server, changes)
}

fn apply(c: &mut Criterion) {
    if !wanted("apply") {
        return;
    }
    let long = pushed_answers(250);
    let fresh = pushed_answers(0);
    let mut g = c.benchmark_group("apply");
    for (name, (doc, changes)) in [
        ("ten pushed answers applied, visit with 250 changes", &long),
        ("ten pushed answers applied, fresh visit", &fresh),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || (doc.clone(), changes.clone()),
                |(mut d, c)| d.apply_changes(c).expect("applies"),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// Every device merges the others' copies of `visit`, as peers syncing in turn would.
fn exchange(devices: &mut [Store], visit: &siteproof_core::RecordId) {
    for from in 0..devices.len() {
        let Ok(bytes) = devices[from].export_document(visit) else {
            continue;
        };
        for (to, device) in devices.iter_mut().enumerate() {
            if to != from {
                device
                    .merge(Some(visit), &bytes, MergeOrigin::Peer)
                    .expect("merge");
            }
        }
    }
}

/// A case record as the office writes it: opened, then `events - 1` more events appended,
/// one change each.
fn office_case(events: usize) -> (AutoCommit, siteproof_core::RecordId) {
    let visit = siteproof_core::RecordId::random();
    let finding = FindingId::random();
    let id = siteproof_core::RecordId::for_finding_case(&visit, &finding);
    let case = Case {
        id: id.clone(),
        visit,
        finding,
        site_name: "化工厂".into(),
        sector: Sector::Gas,
        severity: Severity::Major,
        description: "储罐区可燃气体报警器失效".into(),
        events: vec![case_event(0)],
        fixed_on_spot: false,
    };
    let header = RecordHeader {
        kind: RecordKind::Case,
        id: id.clone(),
        scope: Scope::group("hebei", "g1"),
    };
    let mut doc = header
        .create_with(ActorId::random(), "case", &case)
        .expect("case");
    for n in 1..events {
        next_event(&mut doc, n);
    }
    (doc, id)
}

/// Appends one event to an office case document, one change as the office's append makes
/// (a new element at the end of `case/events`); returns the change.
fn next_event(doc: &mut AutoCommit, n: usize) -> Vec<u8> {
    use automerge::ReadDoc;
    let heads = doc.get_heads();
    let case = doc
        .get(automerge::ROOT, "case")
        .expect("get")
        .expect("case")
        .1;
    let events = doc.get(&case, "events").expect("get").expect("events").1;
    let at = doc.length(&events);
    autosurgeon::reconcile_insert(doc, events, at, case_event(n)).expect("event");
    doc.commit();
    doc.save_after(&heads)
}

fn case_event(n: usize) -> CaseEvent {
    CaseEvent {
        kind: if n == 0 {
            CaseEventKind::Opened
        } else {
            CaseEventKind::InterimMeasures
        },
        by: "reviewer".into(),
        at: 1_700_000_000_000 + n as i64,
        note: Some(format!("第{n}次防控措施记录")),
        unit: None,
        deadline: None,
        media: vec![],
    }
}

fn read_whole(media: &MediaStore, hash: &siteproof_core::MediaHash) {
    let mut reader = media.open_original(hash).expect("open").expect("present");
    let mut buf = vec![0u8; 1 << 20];
    while reader.read(&mut buf).expect("read") > 0 {}
}

/// Whether the command line's filter (`-- encrypted`) can match one of `names`: each group's
/// setup (thousands of captures) runs only for the groups asked for.
fn wanted(names: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| names.contains(f.as_str()))
}

fn timed(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = capture, list_and_load, encrypted, long_history, apply
}
criterion_main!(benches);
