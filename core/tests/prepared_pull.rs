//! Records pulled whole and prepared away from the store (`PreparedRecord`: loaded, checked and
//! their index rows read on any thread) end up stored exactly as records merged one by one
//! from their bytes: the same list rows (answers, conflicts, findings of each severity), the
//! same unreadable entries, the same documents; a record the store already holds is merged,
//! not replaced; and the store loads none of the prepared records itself.

mod common;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use common::{fail, item, new_visit, pass, store_at, template};
use serde_bytes::ByteBuf;
use siteproof_core::sync::wire::{Cursor, PulledRecord, SyncResponse};
use siteproof_core::{
    MergeOrigin, NewFinding, PreparedRecord, PulledPage, RecordId, Severity, Store,
};

fn finding(severity: Severity) -> NewFinding {
    NewFinding {
        description: "安全出口堵塞".into(),
        severity,
        item: Some(item("exits")),
        location: None,
        media: vec![],
        fixed_on_spot: false,
        interim_measures: None,
    }
}

fn whole(id: &RecordId, data: Vec<u8>) -> PulledRecord {
    PulledRecord {
        id: id.clone(),
        kind: "visit".into(),
        full: true,
        data: ByteBuf::from(data),
    }
}

fn response(records: Vec<PulledRecord>) -> SyncResponse {
    SyncResponse {
        acked: vec![],
        records,
        cursor: Cursor {
            epoch: "e".into(),
            seq: 7,
            check: ByteBuf::from(vec![1; 32]),
            reads: vec![],
        },
        more: false,
        reset: false,
        revoked: None,
        certificate: None,
    }
}

/// The stored state a pull decides: list rows, unreadable entries (without their time), and
/// each record's document.
fn state(store: &mut Store, ids: &[RecordId]) -> String {
    let unreadable: Vec<_> = store
        .unreadable_records()
        .expect("unreadable")
        .into_iter()
        .map(|u| (u.id, u.kind, u.path, u.reason))
        .collect();
    let docs: Vec<_> = ids
        .iter()
        .map(|id| {
            let mut doc =
                AutoCommit::load(&store.export_document(id).expect("export")).expect("loads");
            doc.get_heads()
        })
        .collect();
    format!(
        "{:?}\n{unreadable:?}\n{docs:?}",
        store.list_visits().expect("list")
    )
}

#[test]
fn records_prepared_off_the_store_are_stored_as_records_merged_from_their_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = template();
    let mut a = store_at(&dir.path().join("a.db"), "张三");
    let mut b = store_at(&dir.path().join("b.db"), "李四");

    // A visit with a conflicting answer, a major and two general findings, finished.
    let conflicted = a.create_visit(new_visit(&t, "仓库")).expect("visit");
    b.merge(
        Some(&conflicted),
        &a.export_document(&conflicted).expect("export"),
        MergeOrigin::Peer,
    )
    .expect("b gets it");
    a.answer_item(&conflicted, &item("exits"), pass())
        .expect("a answers");
    b.answer_item(&conflicted, &item("exits"), fail("堵塞"))
        .expect("b answers");
    a.merge(
        Some(&conflicted),
        &b.export_document(&conflicted).expect("export b"),
        MergeOrigin::Peer,
    )
    .expect("a merges b");
    a.add_finding(&conflicted, finding(Severity::Major))
        .expect("major");
    for _ in 0..2 {
        a.add_finding(&conflicted, finding(Severity::General))
            .expect("general");
    }
    a.finish_visit(&conflicted).expect("finish");

    // A visit the receivers hold an older copy of before the pull.
    let held = a.create_visit(new_visit(&t, "车间")).expect("visit");
    let older = a.export_document(&held).expect("older copy");
    a.answer_item(&held, &item("exits"), fail("锁闭"))
        .expect("answer");

    // A visit whose mode is not one the model knows: kept aside as unreadable.
    let odd = a.create_visit(new_visit(&t, "食堂")).expect("visit");
    let mut doc = AutoCommit::load(&a.export_document(&odd).expect("export")).expect("loads");
    doc.put(ROOT, "mode", 42_i64).expect("put");
    let odd_bytes = doc.save();

    let ids = [conflicted.clone(), held.clone(), odd.clone()];
    let records = vec![
        whole(&conflicted, a.export_document(&conflicted).expect("export")),
        whole(&held, a.export_document(&held).expect("export")),
        whole(&odd, odd_bytes),
    ];

    // One receiver merges each record from its bytes, the other takes them prepared.
    let mut merged = store_at(&dir.path().join("merged.db"), "王五");
    let mut prepared = store_at(&dir.path().join("prepared.db"), "王五");
    for store in [&mut merged, &mut prepared] {
        store
            .merge(Some(&held), &older, MergeOrigin::Server)
            .expect("the older copy");
        store.clear_cache();
    }
    let loads_before = merged.received_loads();
    for r in &records {
        merged
            .merge(Some(&r.id), &r.data, MergeOrigin::Server)
            .expect("merge");
    }
    assert_eq!(
        merged.received_loads() - loads_before,
        2,
        "merging from bytes loads each record new to the store while holding it"
    );

    let loads_before = prepared.received_loads();
    let mut page = PulledPage::new(response(records));
    let taken = page.take_records();
    let actor = prepared.actor_id().clone();
    let mut ready: Vec<PreparedRecord> = taken
        .into_iter()
        .map(|r| PreparedRecord::new(r, &actor))
        .collect();
    let rest = ready.split_off(1);
    prepared
        .merge_prepared_part(&mut page, ready)
        .expect("first part");
    prepared
        .merge_prepared_part(&mut page, rest)
        .expect("second part");
    let round = prepared.finish_pulled_page(page).expect("finish");
    assert_eq!(round.pulled, 3);
    assert_eq!(round.updated, 3);
    assert_eq!(
        prepared.received_loads(),
        loads_before,
        "the store loads none of the prepared records"
    );

    let list = prepared.list_visits().expect("list");
    let row = list.iter().find(|v| v.id == conflicted).expect("listed");
    assert_eq!(
        (row.conflicts, row.major_findings, row.general_findings),
        (1, 1, 2)
    );
    assert!(row.ended_at.is_some());
    assert!(list.iter().all(|v| v.id != odd), "unreadable: not listed");
    assert_eq!(
        prepared.unreadable_records().expect("unreadable")[0].path,
        "mode"
    );
    assert_eq!(prepared.conflicts(&conflicted).expect("conflicts").len(), 1);
    assert_eq!(state(&mut merged, &ids), state(&mut prepared, &ids));
}

/// A page whose records were taken out ends only once every one of them is merged.
#[test]
fn a_page_whose_records_were_taken_out_finishes_only_when_all_are_merged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = template();
    let mut a = store_at(&dir.path().join("a.db"), "张三");
    let visit = a.create_visit(new_visit(&t, "仓库")).expect("visit");
    let mut store = store_at(&dir.path().join("b.db"), "李四");
    let mut page = PulledPage::new(response(vec![whole(
        &visit,
        a.export_document(&visit).expect("export"),
    )]));
    let taken = page.take_records();
    assert!(
        store.finish_pulled_page(page).is_err(),
        "nothing merged yet"
    );
    assert!(store.sync_cursor().expect("cursor").is_none());

    let mut page = PulledPage::new(response(taken.clone()));
    let again = page.take_records();
    let actor = store.actor_id().clone();
    let ready: Vec<PreparedRecord> = again
        .into_iter()
        .chain(taken)
        .map(|r| PreparedRecord::new(r, &actor))
        .collect();
    assert!(
        store.merge_prepared_part(&mut page, ready).is_err(),
        "more records than the page took out"
    );
}
