//! Suite cases with several storages on one database, each with connections of its own,
//! standing in for several server processes behind one load balancer.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::future::{BoxFuture, join_all};
use siteproof_core::{DeviceId, RecordKind, Scope};

use super::{drain, group, record};
use crate::storage::{
    EnrollmentCodeRecord, NewDevice, PushWrite, RecordWrite, ScanQuery, SyncStorage,
};

/// Opens one more storage on the case's database, as another server process would. The first
/// call of a case finds the database empty (not yet migrated).
pub type Processes = Box<dyn Fn() -> BoxFuture<'static, Arc<dyn SyncStorage>> + Send + Sync>;

async fn open_many(open: &Processes, n: usize) -> Vec<Arc<dyn SyncStorage>> {
    join_all((0..n).map(|_| open())).await
}

async fn close_all(storages: &[Arc<dyn SyncStorage>]) {
    for s in storages {
        s.close().await.expect("close");
    }
}

/// Processes starting at once on an empty database migrate it once and agree on what the
/// first migration made (the epoch, the certificate key).
pub async fn processes_starting_together_migrate_once(open: &Processes) {
    let storages = open_many(open, 4).await;
    let epoch = storages[0].epoch().await.expect("epoch");
    let seed = storages[0].certificate_key_seed().await.expect("seed");
    for s in &storages {
        assert_eq!(s.epoch().await.expect("epoch"), epoch);
        assert_eq!(s.certificate_key_seed().await.expect("seed"), seed);
        s.check_ready().await.expect("ready");
    }
    storages[1]
        .create_group(&group("g1", "hebei"))
        .await
        .expect("group");
    assert_eq!(storages[3].list_groups().await.expect("groups").len(), 1);
    close_all(&storages).await;
    let again = open().await;
    assert_eq!(again.epoch().await.expect("epoch"), epoch, "reopened");
    again.close().await.expect("close");
}

/// Pushes from several processes at once (some failing half way), read by pullers following a
/// cursor the way devices do: a reader that saw a change before a lower `seq` committed would
/// move its cursor past that change and never see it. Every reader must see every change, in
/// `seq` order, and nothing of the failed pushes.
pub async fn concurrent_pushes_leave_no_gap_a_reader_can_skip(open: &Processes) {
    const WRITERS_PER_PROCESS: usize = 3;
    const PUSHES: usize = 30;
    let storages = open_many(open, 3).await;
    let scope = Scope::group("hebei", "g1");
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = storages
        .iter()
        .map(|s| {
            let (s, done, scope) = (Arc::clone(s), Arc::clone(&done), scope.clone());
            tokio::spawn(async move {
                let mut q = ScanQuery {
                    scope,
                    after: 0,
                    reader: None,
                };
                let mut seen = Vec::new();
                loop {
                    // Read once more after the writers finished: that pass sees the rest.
                    let last_pass = done.load(Ordering::SeqCst);
                    seen.extend(drain(&*s, &mut q, 7).await);
                    if last_pass {
                        return seen;
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let writers: Vec<_> = storages
        .iter()
        .flat_map(|s| std::iter::repeat_n(s, WRITERS_PER_PROCESS))
        .enumerate()
        .map(|(w, s)| {
            let (s, scope) = (Arc::clone(s), scope.clone());
            tokio::spawn(async move {
                let mut failed = Vec::new();
                for i in 0..PUSHES {
                    let records = (0..1 + (w + i) % 3)
                        .map(|n| record(RecordKind::Visit, scope.clone(), 1 + n))
                        .collect();
                    s.store_push(&PushWrite {
                        pushed_by: None,
                        records,
                    })
                    .await
                    .expect("push");
                    // Now and then a push that fails half way: whatever it took of the log
                    // (PostgreSQL's seq values) is a gap no reader may stop at.
                    if i % 7 == w % 7 {
                        let stored = record(RecordKind::Visit, scope.clone(), 2);
                        let empty = RecordWrite {
                            changes: Vec::new(),
                            ..record(RecordKind::Visit, scope.clone(), 1)
                        };
                        failed.push(stored.header.id.clone());
                        let refused = s
                            .store_push(&PushWrite {
                                pushed_by: None,
                                records: vec![stored, empty],
                            })
                            .await;
                        assert!(refused.is_err(), "{refused:?}");
                    }
                }
                failed
            })
        })
        .collect();
    let mut failed = Vec::new();
    for w in writers {
        failed.extend(w.await.expect("writer"));
    }
    done.store(true, Ordering::SeqCst);
    assert!(
        storages[1]
            .documents(&failed)
            .await
            .expect("documents")
            .is_empty(),
        "the failed pushes stored nothing"
    );
    let mut q = ScanQuery {
        scope,
        after: 0,
        reader: None,
    };
    let all = drain(&*storages[0], &mut q, 500).await;
    let expected: usize = (0..WRITERS_PER_PROCESS * storages.len())
        .map(|w| {
            (0..PUSHES)
                .map(|i| (0..1 + (w + i) % 3).map(|n| 1 + n).sum::<usize>())
                .sum::<usize>()
        })
        .sum();
    assert_eq!(all.len(), expected, "every pushed change is stored once");
    for (i, reader) in readers.into_iter().enumerate() {
        let seen = reader.await.expect("reader");
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "reader {i} saw seq go back"
        );
        let missed: Vec<u64> = all
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .difference(&seen.iter().copied().collect())
            .copied()
            .collect();
        assert!(
            missed.is_empty(),
            "reader {i} skipped {} changes (first: {:?}): a higher seq was visible before a \
             lower one committed",
            missed.len(),
            missed.first()
        );
    }
    close_all(&storages).await;
}

/// Several processes redeeming one enrollment code at once enroll exactly one device.
pub async fn racing_redemptions_of_one_code_enroll_one_device(open: &Processes) {
    let storages = open_many(open, 4).await;
    storages[0]
        .create_group(&group("g1", "hebei"))
        .await
        .expect("group");
    storages[0]
        .add_enrollment_code(&EnrollmentCodeRecord {
            code_hash: [7; 32],
            group: "g1".parse().expect("group"),
            created_at: 0,
            expires_at: 1_000,
        })
        .await
        .expect("code");
    let attempts = storages
        .iter()
        .flat_map(|s| std::iter::repeat_n(s, 3))
        .enumerate()
        .map(|(i, s)| {
            let s = Arc::clone(s);
            let token = u8::try_from(i).expect("a few attempts");
            tokio::spawn(async move {
                let device = NewDevice {
                    id: DeviceId::random(),
                    name: format!("phone {i}"),
                    token_hash: [token; 32],
                    enrolled_at: 10,
                    public_key: None,
                };
                s.redeem_enrollment_code(&[7; 32], 10, &device)
                    .await
                    .expect("redeem")
            })
        });
    let mut winners = Vec::new();
    for attempt in join_all(attempts).await {
        winners.extend(attempt.expect("task"));
    }
    assert_eq!(winners.len(), 1, "one winner: {winners:?}");
    let devices = storages[2].list_devices().await.expect("devices");
    assert_eq!(
        devices.iter().map(|d| &d.id).collect::<Vec<_>>(),
        vec![&winners[0].id]
    );
    close_all(&storages).await;
}

/// Two processes creating the same record at once (one phone's push retried through another
/// process) store one record with each change once.
pub async fn two_processes_creating_one_record_store_it_once(open: &Processes) {
    let storages = open_many(open, 2).await;
    for _ in 0..10 {
        let r = record(RecordKind::Visit, Scope::group("hebei", "g1"), 3);
        let pushes = storages.iter().map(|s| {
            let (s, r) = (Arc::clone(s), r.clone());
            tokio::spawn(async move {
                s.store_push(&PushWrite {
                    pushed_by: None,
                    records: vec![r],
                })
                .await
                .expect("both pushes succeed")
            })
        });
        for p in join_all(pushes).await {
            p.expect("task");
        }
        let stored = storages[1]
            .changes_after(&r.header.id, 0)
            .await
            .expect("changes");
        assert_eq!(
            stored.iter().map(|c| c.hash).collect::<Vec<_>>(),
            r.changes.iter().map(|(h, _)| *h).collect::<Vec<_>>()
        );
        let meta = storages[0]
            .documents(std::slice::from_ref(&r.header.id))
            .await
            .expect("documents");
        assert_eq!(meta.len(), 1);
        assert_eq!(meta[0].created_seq, stored[0].seq);
    }
    close_all(&storages).await;
}

/// What a sync reads of its caller and of the records it holds loaded is read from the
/// database on every call, never kept by a process: a device revoked through one process is
/// refused by the next session read through another, and changes one process stores are in
/// the next `documents_since` and `scan_from` of another.
pub async fn what_one_process_writes_is_in_the_next_sync_read_of_another(open: &Processes) {
    let storages = open_many(open, 2).await;
    let (one, other) = (&storages[0], &storages[1]);
    one.create_group(&group("g1", "hebei"))
        .await
        .expect("group");
    let (caller, token) = super::enrolled(one.as_ref(), "g1", 21).await;
    let (teammate, teammate_token) = super::enrolled(one.as_ref(), "g1", 22).await;
    let session = other
        .device_session(&teammate_token)
        .await
        .expect("session")
        .expect("found");
    assert_eq!(session.device.revoked_at, None);
    assert!(one.revoke_device(&teammate, 80).await.expect("revoke"));
    let session = other
        .device_session(&teammate_token)
        .await
        .expect("session")
        .expect("found");
    assert_eq!(
        session.device.revoked_at,
        Some(80),
        "revoked at once elsewhere"
    );
    let session = other
        .device_session(&token)
        .await
        .expect("session")
        .expect("found");
    assert_eq!(
        (session.device.id, session.revoked),
        (caller, vec![teammate])
    );

    let scope = Scope::group("hebei", "g1");
    let r = record(RecordKind::Visit, scope.clone(), 4);
    let (first, rest) = r.changes.split_at(2);
    let write = |changes: &[([u8; 32], Vec<u8>)]| PushWrite {
        pushed_by: None,
        records: vec![RecordWrite {
            changes: changes.to_vec(),
            ..r.clone()
        }],
    };
    other.store_push(&write(first)).await.expect("first half");
    let held = other
        .documents_since(&[(r.header.id.clone(), Some(0))])
        .await
        .expect("read");
    let seq = held[0].1.last().expect("a change").seq;
    one.store_push(&write(rest)).await.expect("second half");
    let caught_up = other
        .documents_since(&[(r.header.id.clone(), Some(seq))])
        .await
        .expect("read");
    assert_eq!(
        caught_up[0].1.iter().map(|c| c.hash).collect::<Vec<_>>(),
        rest.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
        "the other process's changes"
    );
    let query = ScanQuery {
        scope,
        after: seq,
        reader: None,
    };
    let (at, page) = other.scan_from(&query, 100).await.expect("scan");
    assert_eq!(at, Some(held[0].1[1].hash));
    assert_eq!(page.len(), 2, "the other process's changes are scanned");
    close_all(&storages).await;
}
