//! Suite cases for the change log: storing pushes, snapshots, and scans.

use siteproof_core::{RecordId, RecordKind, Scope};

use super::{enrolled, group, push, record, scanned_ids, seqs_of};
use crate::storage::{PushWrite, RecordWrite, ScanQuery, StorageError, SyncStorage};

/// Storing a change twice keeps one; seqs grow and `change_hash_at` finds them.
pub async fn changes_are_stored_once_per_record_and_seq_only_grows(storage: &dyn SyncStorage) {
    let r = record(RecordKind::Visit, Scope::group("hebei", "g1"), 3);
    push(storage, None, vec![r.clone()]).await;
    push(storage, None, vec![r.clone()]).await;
    let stored = storage
        .changes_after(&r.header.id, 0)
        .await
        .expect("changes");
    assert_eq!(stored.len(), 3);
    assert!(stored.windows(2).all(|w| w[0].seq < w[1].seq));
    for (s, (hash, data)) in stored.iter().zip(&r.changes) {
        assert_eq!(
            (&s.hash, &s.data),
            (hash, data),
            "stored in the pushed (causal) order"
        );
        assert_eq!(
            storage.change_hash_at(s.seq).await.expect("at"),
            Some(*hash)
        );
    }
    assert_eq!(
        storage.change_hash_at(stored[2].seq + 1).await.expect("at"),
        None
    );
    assert_eq!(
        storage
            .changes_after(&r.header.id, stored[1].seq)
            .await
            .expect("after")
            .len(),
        1
    );
}

/// A push whose record exists under another header fails whole.
pub async fn a_push_meeting_a_record_with_another_header_stores_nothing(storage: &dyn SyncStorage) {
    let r = record(RecordKind::Visit, Scope::group("hebei", "g1"), 1);
    push(storage, None, vec![r.clone()]).await;
    let fresh = record(RecordKind::Visit, Scope::group("hebei", "g1"), 2);
    let mut clash = record(RecordKind::Visit, Scope::group("hebei", "g2"), 1);
    clash.header.id = r.header.id.clone();
    let result = storage
        .store_push(&PushWrite {
            pushed_by: None,
            records: vec![fresh.clone(), clash],
        })
        .await;
    assert!(
        matches!(result, Err(StorageError::Conflict(_))),
        "{result:?}"
    );
    assert!(
        storage
            .changes_after(&fresh.header.id, 0)
            .await
            .expect("changes")
            .is_empty()
    );
    assert!(
        storage
            .documents(std::slice::from_ref(&fresh.header.id))
            .await
            .expect("docs")
            .is_empty()
    );
    assert_eq!(
        storage
            .changes_after(&r.header.id, 0)
            .await
            .expect("changes")
            .len(),
        1
    );
}

/// `created_seq` is the first change's seq; `created_by` the pusher of that change.
pub async fn a_record_remembers_its_first_change_and_who_pushed_it(storage: &dyn SyncStorage) {
    storage
        .create_group(&group("g1", "hebei"))
        .await
        .expect("group");
    let (device, _) = enrolled(storage, "g1", 4).await;
    push(
        storage,
        None,
        vec![record(RecordKind::Template, Scope::global(), 1)],
    )
    .await;
    let r = record(RecordKind::Visit, Scope::group("hebei", "g1"), 2);
    push(storage, Some(&device), vec![r.clone()]).await;
    let meta = storage
        .documents(std::slice::from_ref(&r.header.id))
        .await
        .expect("docs");
    let first = storage
        .changes_after(&r.header.id, 0)
        .await
        .expect("changes")[0]
        .seq;
    assert_eq!(meta.len(), 1);
    assert_eq!(meta[0].header, r.header);
    assert_eq!(meta[0].created_seq, first);
    assert_eq!(meta[0].created_by, Some(device));
}

/// A snapshot is replaced only by a newer one; the full document is snapshot plus tail.
pub async fn snapshots_only_move_forward_and_full_documents_add_the_tail(
    storage: &dyn SyncStorage,
) {
    let r = record(RecordKind::Visit, Scope::group("hebei", "g1"), 4);
    push(storage, None, vec![r.clone()]).await;
    let seqs: Vec<u64> = storage
        .changes_after(&r.header.id, 0)
        .await
        .expect("c")
        .iter()
        .map(|c| c.seq)
        .collect();
    let full = storage
        .full_document(&r.header.id)
        .await
        .expect("full")
        .expect("exists");
    assert_eq!((full.snapshot.clone(), full.trailing.len()), (None, 4));
    storage
        .put_snapshot(&r.header.id, seqs[2], b"third")
        .await
        .expect("snapshot");
    storage
        .put_snapshot(&r.header.id, seqs[1], b"older")
        .await
        .expect("older snapshot");
    let full = storage
        .full_document(&r.header.id)
        .await
        .expect("full")
        .expect("exists");
    assert_eq!(full.snapshot.as_deref(), Some(&b"third"[..]));
    assert_eq!(full.snapshot_seq, seqs[2]);
    assert_eq!(
        full.trailing.iter().map(|c| c.seq).collect::<Vec<_>>(),
        vec![seqs[3]]
    );
    assert_eq!(full.max_seq(), seqs[3]);
    assert_eq!(
        storage
            .full_document(&RecordId::random())
            .await
            .expect("full"),
        None
    );
}

/// `RecordWrite::snapshot` is kept only when no unknown change was stored after
/// `known_through`; `covered_through` says so.
pub async fn a_push_stores_its_snapshot_only_if_its_copy_has_every_stored_change(
    storage: &dyn SyncStorage,
) {
    let r = record(RecordKind::Visit, Scope::group("hebei", "g1"), 4);
    let part =
        |range: std::ops::Range<usize>, known_through: u64, snapshot: Option<&[u8]>| PushWrite {
            pushed_by: None,
            records: vec![RecordWrite {
                changes: r.changes[range].to_vec(),
                known_through,
                snapshot: snapshot.map(<[u8]>::to_vec),
                ..r.clone()
            }],
        };
    let stored = storage
        .store_push(&part(0..2, 0, Some(b"two")))
        .await
        .expect("push");
    let s2 = seqs_of(storage, &r.header.id).await;
    assert_eq!(stored[0].covered_through, Some(s2[1]));
    // Another writer that knows nothing of the record's history adds the third change.
    let stored = storage
        .store_push(&part(2..3, 0, None))
        .await
        .expect("push");
    assert_eq!(stored[0].covered_through, None);
    // A writer whose copy lacks the third change may not make the snapshot.
    let stored = storage
        .store_push(&part(3..4, s2[1], Some(b"stale")))
        .await
        .expect("push");
    assert_eq!(stored[0].covered_through, None);
    let full = storage
        .full_document(&r.header.id)
        .await
        .expect("full")
        .expect("exists");
    assert_eq!(
        (full.snapshot.as_deref(), full.snapshot_seq),
        (Some(&b"two"[..]), s2[1])
    );
    // One that has it may, even re-pushing a change already stored.
    let all = seqs_of(storage, &r.header.id).await;
    let stored = storage
        .store_push(&part(3..4, all[2], Some(b"four")))
        .await
        .expect("push");
    assert_eq!(stored[0].covered_through, Some(all[3]));
    let full = storage
        .full_document(&r.header.id)
        .await
        .expect("full")
        .expect("exists");
    assert_eq!(
        (full.snapshot.as_deref(), full.snapshot_seq),
        (Some(&b"four"[..]), all[3])
    );
    assert!(full.trailing.is_empty());
}

/// A device's scan covers its group, its region's region-wide records and global ones.
pub async fn a_scan_sees_the_group_the_region_and_global_records_only(storage: &dyn SyncStorage) {
    let mine = record(RecordKind::Visit, Scope::group("hebei", "g1"), 1);
    let region = record(RecordKind::Assignment, Scope::group("hebei", ""), 1);
    let global = record(RecordKind::Template, Scope::global(), 1);
    let other_group = record(RecordKind::Visit, Scope::group("hebei", "g2"), 1);
    let other_region = record(RecordKind::Visit, Scope::group("shanxi", "g1"), 1);
    let other_region_wide = record(RecordKind::Assignment, Scope::group("shanxi", ""), 1);
    let all = vec![
        other_group,
        mine.clone(),
        other_region,
        region.clone(),
        other_region_wide,
        global.clone(),
    ];
    push(storage, None, all).await;
    let q = ScanQuery {
        scope: Scope::group("hebei", "g1"),
        after: 0,
        reader: None,
    };
    let seen = scanned_ids(storage, &q).await;
    assert_eq!(
        seen,
        vec![mine.header.id, region.header.id, global.header.id]
    );
}

/// Own changes and records new to the reader carry no data; the others do.
pub async fn a_scan_marks_the_readers_own_changes_and_new_records(storage: &dyn SyncStorage) {
    storage
        .create_group(&group("g1", "hebei"))
        .await
        .expect("group");
    let (me, _) = enrolled(storage, "g1", 5).await;
    let (other, _) = enrolled(storage, "g1", 6).await;
    let scope = Scope::group("hebei", "g1");
    let old = record(RecordKind::Visit, scope.clone(), 3);
    let (first, rest) = old.changes.split_at(1);
    push(
        storage,
        Some(&other),
        vec![RecordWrite {
            changes: first.to_vec(),
            ..old.clone()
        }],
    )
    .await;
    let after = storage.changes_after(&old.header.id, 0).await.expect("c")[0].seq;
    push(
        storage,
        Some(&me),
        vec![RecordWrite {
            changes: rest[..1].to_vec(),
            ..old.clone()
        }],
    )
    .await;
    push(
        storage,
        Some(&other),
        vec![RecordWrite {
            changes: rest[1..].to_vec(),
            ..old.clone()
        }],
    )
    .await;
    let mine_new = record(RecordKind::Visit, scope.clone(), 1);
    let theirs_new = record(RecordKind::Visit, scope.clone(), 1);
    push(storage, Some(&me), vec![mine_new.clone()]).await;
    push(storage, Some(&other), vec![theirs_new.clone()]).await;

    let q = ScanQuery {
        scope,
        after,
        reader: Some(me),
    };
    let rows = storage.scan(&q, 100).await.expect("scan");
    let view: Vec<(RecordId, bool, bool, bool)> = rows
        .iter()
        .map(|r| {
            (
                r.doc_id.clone(),
                r.pushed_by_reader,
                r.new_to_reader,
                r.data.is_some(),
            )
        })
        .collect();
    assert_eq!(
        view,
        vec![
            (old.header.id.clone(), true, false, false),
            (old.header.id.clone(), false, false, true),
            (mine_new.header.id.clone(), true, false, false),
            (theirs_new.header.id.clone(), false, true, false),
        ]
    );
    assert_eq!(rows[1].data.as_deref(), Some(&rest[1].1[..]));
    assert!(rows.iter().all(|r| r.kind == RecordKind::Visit));
}

/// `limit` and `after` page through the log in seq order.
pub async fn a_scan_pages_by_seq(storage: &dyn SyncStorage) {
    let scope = Scope::group("hebei", "g1");
    push(
        storage,
        None,
        (0..5)
            .map(|_| record(RecordKind::Visit, scope.clone(), 2))
            .collect(),
    )
    .await;
    let mut q = ScanQuery {
        scope,
        after: 0,
        reader: None,
    };
    let mut seqs = Vec::new();
    loop {
        let rows = storage.scan(&q, 3).await.expect("scan");
        assert!(rows.len() <= 3);
        let Some(last) = rows.last() else { break };
        q.after = last.seq;
        seqs.extend(rows.iter().map(|r| r.seq));
    }
    assert_eq!(seqs.len(), 10);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

/// A push that fails inside the database half way (a new record without a change cannot have
/// a first `seq`) stores nothing of the records before it, and the storage goes on working.
pub async fn a_push_failing_half_way_stores_nothing(storage: &dyn SyncStorage) {
    let scope = Scope::group("hebei", "g1");
    for _ in 0..3 {
        let before = record(RecordKind::Visit, scope.clone(), 2);
        let empty = RecordWrite {
            changes: Vec::new(),
            ..record(RecordKind::Visit, scope.clone(), 1)
        };
        let result = storage
            .store_push(&PushWrite {
                pushed_by: None,
                records: vec![before.clone(), empty.clone()],
            })
            .await;
        assert!(result.is_err(), "{result:?}");
        assert!(
            storage
                .documents(&[before.header.id.clone(), empty.header.id.clone()])
                .await
                .expect("docs")
                .is_empty(),
            "rolled back whole"
        );
    }
    let q = ScanQuery {
        scope: scope.clone(),
        after: 0,
        reader: None,
    };
    assert!(storage.scan(&q, 10).await.expect("scan").is_empty());
    // Every connection, including those that saw the failure, still takes pushes.
    let records: Vec<RecordWrite> = (0..20)
        .map(|_| record(RecordKind::Visit, scope.clone(), 1))
        .collect();
    for r in &records {
        push(storage, None, vec![r.clone()]).await;
    }
    let seen = scanned_ids(storage, &q).await;
    assert_eq!(
        seen,
        records
            .iter()
            .map(|r| r.header.id.clone())
            .collect::<Vec<_>>()
    );
}

/// Values of several MiB (a large change, a large snapshot) come back byte for byte.
pub async fn multi_megabyte_values_round_trip(storage: &dyn SyncStorage) {
    use rand::{Rng, SeedableRng};
    let seed: u64 = rand::random();
    println!("multi_megabyte_values_round_trip seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut big = vec![0u8; 6 << 20];
    rng.fill(&mut big[..]);
    let mut snapshot = vec![0u8; 5 << 20];
    rng.fill(&mut snapshot[..]);
    let mut r = record(RecordKind::Visit, Scope::group("hebei", "g1"), 1);
    // The storage keeps bytes; it does not parse them.
    r.changes.push(([0xab; 32], big.clone()));
    push(storage, None, vec![r.clone()]).await;
    let stored = storage
        .changes_after(&r.header.id, 0)
        .await
        .expect("changes");
    assert_eq!(stored.len(), 2);
    assert!(stored[1].data == big, "the 6 MiB change comes back whole");
    storage
        .put_snapshot(&r.header.id, stored[0].seq, &snapshot)
        .await
        .expect("snapshot");
    let full = storage
        .full_document(&r.header.id)
        .await
        .expect("full")
        .expect("exists");
    assert!(full.snapshot.as_deref() == Some(&snapshot[..]), "snapshot");
    assert!(
        full.trailing.len() == 1 && full.trailing[0].data == big,
        "tail"
    );
    let q = ScanQuery {
        scope: Scope::group("hebei", "g1"),
        after: stored[0].seq,
        reader: None,
    };
    let rows = storage.scan(&q, 10).await.expect("scan");
    assert!(rows.len() == 1 && rows[0].data.as_deref() == Some(&big[..]));
}

/// Records' rows with their changes after a given `seq`, in the order asked: a record asked
/// without a `seq` comes without changes, an unknown one is left out, one asked twice comes
/// twice.
pub async fn documents_since_reads_rows_with_the_changes_after_each_seq(storage: &dyn SyncStorage) {
    let scope = Scope::group("hebei", "g1");
    let (a, b) = (
        record(RecordKind::Visit, scope.clone(), 4),
        record(RecordKind::Visit, scope.clone(), 3),
    );
    push(storage, None, vec![a.clone(), b.clone()]).await;
    let (a_id, b_id) = (a.header.id.clone(), b.header.id.clone());
    let a_seqs = seqs_of(storage, &a_id).await;
    let wanted = [
        (b_id.clone(), None),
        (RecordId::random(), Some(0)),
        (a_id.clone(), Some(a_seqs[1])),
        (b_id.clone(), Some(0)),
    ];
    let found = storage.documents_since(&wanted).await.expect("read");
    let metas = storage
        .documents(&[b_id.clone(), a_id.clone(), b_id.clone()])
        .await
        .expect("documents");
    assert_eq!(
        found.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>(),
        metas,
        "the rows `documents` reads, in the order asked, the unknown one left out"
    );
    assert!(found[0].1.is_empty(), "no seq given: no changes read");
    assert_eq!(
        found[1].1,
        storage
            .changes_after(&a_id, a_seqs[1])
            .await
            .expect("changes"),
    );
    assert_eq!(found[1].1.len(), 2);
    assert_eq!(
        found[2].1.iter().map(|c| c.hash).collect::<Vec<_>>(),
        b.changes.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
        "every change of b, in seq order"
    );
    let last = *a_seqs.last().expect("a seq");
    let caught_up = storage
        .documents_since(&[(a_id, Some(last))])
        .await
        .expect("read");
    assert!(caught_up[0].1.is_empty(), "nothing after the last change");
    assert!(
        storage
            .documents_since(&[])
            .await
            .expect("read nothing")
            .is_empty()
    );
}

/// A scan from a cursor reads the hash of the change at the cursor with the page: the page
/// is the one `scan` reads, the hash the one `change_hash_at` finds, also when the page is
/// empty; no change at the position: no hash.
pub async fn a_scan_from_a_cursor_reads_the_change_at_it_with_the_page(storage: &dyn SyncStorage) {
    let scope = Scope::group("hebei", "g1");
    push(
        storage,
        None,
        (0..3)
            .map(|_| record(RecordKind::Visit, scope.clone(), 2))
            .collect(),
    )
    .await;
    // Another group's change: the cursor's check reads the log, not the scope.
    push(
        storage,
        None,
        vec![record(RecordKind::Visit, Scope::group("hebei", "g2"), 1)],
    )
    .await;
    let all = storage
        .scan(
            &ScanQuery {
                scope: scope.clone(),
                after: 0,
                reader: None,
            },
            100,
        )
        .await
        .expect("scan");
    assert_eq!(all.len(), 6);
    let from = |after| ScanQuery {
        scope: scope.clone(),
        after,
        reader: None,
    };
    let (at, page) = storage.scan_from(&from(0), 100).await.expect("scan");
    assert_eq!(
        (at, page.as_slice()),
        (None, all.as_slice()),
        "no change at 0"
    );
    let cursor = all[2].seq;
    let (at, page) = storage.scan_from(&from(cursor), 2).await.expect("scan");
    assert_eq!(at, Some(all[2].hash));
    assert_eq!(at, storage.change_hash_at(cursor).await.expect("hash"));
    assert_eq!(
        page,
        storage.scan(&from(cursor), 2).await.expect("scan"),
        "the page scan reads, to its limit"
    );
    assert_eq!(
        page.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [all[3].seq, all[4].seq]
    );
    let last = all[5].seq;
    let (at, page) = storage.scan_from(&from(last), 100).await.expect("scan");
    assert_eq!(at, Some(all[5].hash), "the hash with an empty page");
    assert!(page.is_empty());
    let beyond = last + 1000;
    let (at, page) = storage.scan_from(&from(beyond), 100).await.expect("scan");
    assert_eq!((at, page.len()), (None, 0), "no change there");
}
