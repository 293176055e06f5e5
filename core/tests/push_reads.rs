//! A sync's push is read from the store a few records per step and each record's changes are
//! taken out of it away from the store (`Store::prepare_sync`, and the HTTP client's steps on a
//! shared store): the store loads none of the pushed records itself, so a capture never waits
//! for Automerge loading them, and the push still holds exactly the outbox's changes, from
//! which each record is whole again.

mod common;

use std::collections::HashSet;

use automerge::AutoCommit;
use common::{fail, item, new_visit, pass, store_at, template};

#[test]
fn a_push_is_made_ready_without_the_store_loading_its_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store_at(&dir.path().join("phone.db"), "张三");
    let t = template();
    let mut visits = Vec::new();
    for n in 0..12 {
        let v = store
            .create_visit(new_visit(&t, &format!("企业{n}")))
            .expect("visit");
        for k in 0..3 {
            store
                .answer_item(&v, &item("exits"), fail(&format!("{n}-{k}")))
                .expect("answer");
        }
        visits.push(v);
    }
    // One visit in use (loaded again by this capture), the others only on disk.
    store.clear_cache();
    store
        .answer_item(&visits[0], &item("exits"), pass())
        .expect("answer");
    let loads = store.document_loads();
    assert_eq!(loads, 1, "the capture loaded its visit");

    let request = store.prepare_sync().expect("prepare");
    assert_eq!(
        store.document_loads(),
        loads,
        "the store loaded none of the pushed records itself"
    );

    let pushed: usize = request.push.iter().map(|p| p.changes.len()).sum();
    assert_eq!(pushed as u64, store.outbox_len().expect("outbox"));
    let ids: HashSet<_> = request.push.iter().map(|p| p.id.clone()).collect();
    for v in &visits {
        assert!(ids.contains(v), "visit {v} is pushed");
    }
    for record in &request.push {
        // In causal order, each change applies as it comes; together they make the record.
        let mut doc = AutoCommit::new();
        for change in &record.changes {
            doc.load_incremental(change).expect("change loads");
            assert!(
                doc.get_missing_deps(&[]).is_empty(),
                "record {}: a change came before one it depends on",
                record.id
            );
        }
        let mut stored = AutoCommit::load(&store.export_document(&record.id).expect("export"))
            .expect("stored record");
        assert_eq!(
            doc.get_heads(),
            stored.get_heads(),
            "record {} is whole from its pushed changes",
            record.id
        );
    }
}
