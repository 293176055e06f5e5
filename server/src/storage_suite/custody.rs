//! Suite cases for the chain of custody and the evidence checks ([`CustodyStore`]): entries
//! chained in one order, found by subject, an evidence row committed with its entry or not at
//! all, and one chain with no fork or gap when several processes append at once.

use std::sync::Arc;

use super::{Processes, enrolled, group};
use crate::storage::{
    BrokenLink, CustodyEntry, CustodyEvent, CustodyStore, EvidenceRow, SyncStorage,
};
use futures_util::future::join_all;

fn event(actor: &str, action: &str, subject: &str, n: usize) -> CustodyEvent {
    CustodyEvent {
        actor: actor.into(),
        action: action.into(),
        subject: subject.into(),
        details: serde_json::json!({ "n": n }),
    }
}

fn check(record: &str, hash: &str, status: &str, signer: Option<&str>) -> EvidenceRow {
    EvidenceRow {
        record: record.into(),
        hash: hash.into(),
        size: 1234,
        signer: signer.map(str::to_owned),
        status: status.into(),
        reason: (status != "verified").then(|| "not signed".to_owned()),
        statement: Some(b"statement".to_vec()),
        signature: Some(vec![7; 64]),
        checked_at: 0,
    }
}

/// Every entry of the chain, in order.
async fn whole_chain(store: &dyn CustodyStore, subjects: &[String]) -> Vec<CustodyEntry> {
    store.entries_about(subjects).await.expect("entries")
}

/// Entries are chained from the genesis hash in `seq` order, each `at` no earlier than the
/// one before; the head is the last; a subject's entries come back in chain order; an event
/// with a line break in a field is refused and leaves the chain as it was.
pub async fn custody_entries_chain_in_order_and_are_found_by_subject(storage: &dyn SyncStorage) {
    let store = storage.custody_store();
    assert_eq!(store.head().await.expect("head"), None);
    assert_eq!(store.verify_chain().await.expect("verify"), Ok(0));
    let mut appended = Vec::new();
    for n in 0..5 {
        let subject = if n % 2 == 0 { "visit-a" } else { "blob-b" };
        appended.push(
            store
                .append(&event("user:wang", "view", subject, n))
                .await
                .expect("append"),
        );
    }
    assert_eq!(
        appended.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(appended[0].prev_hash, crate::storage::GENESIS);
    for pair in appended.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].entry_hash);
        assert!(pair[1].at >= pair[0].at, "{pair:?}");
    }
    assert_eq!(store.verify_chain().await.expect("verify"), Ok(5));
    assert_eq!(store.head().await.expect("head").as_ref(), appended.last());
    let about = whole_chain(&*store, &["visit-a".into()]).await;
    assert_eq!(
        about.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 3, 5],
        "{about:?}"
    );
    assert_eq!(about[1], appended[2]);
    assert!(whole_chain(&*store, &[]).await.is_empty());

    let refused = store
        .append(&event("user:a\nb", "view", "visit-a", 9))
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(store.verify_chain().await.expect("verify"), Ok(5));
}

/// An evidence check is stored with its custody entry, a later check of the same file of the
/// same record replaces it, its signer's key and scope are read back; a check whose entry
/// cannot be written stores no row either.
pub async fn an_evidence_check_is_stored_with_its_custody_entry_or_not_at_all(
    storage: &dyn SyncStorage,
) {
    let store = storage.custody_store();
    storage
        .create_group(&group("g1", "hebei"))
        .await
        .expect("group");
    let (device, _) = enrolled(storage, "g1", 1).await;
    let signer = store
        .signer(device.as_str())
        .await
        .expect("signer")
        .expect("enrolled");
    assert_eq!(
        (signer.region.as_str(), signer.group.as_str()),
        ("hebei", "g1")
    );
    assert_eq!(signer.public_key, None);
    assert_eq!(store.signer("nobody").await.expect("signer"), None);

    let first = check("visit-1", "h1", "unverified", None);
    let entry = store
        .record_check(&first, &event("server", "verify", "h1", 1))
        .await
        .expect("check");
    assert_eq!((entry.seq, entry.action.as_str()), (1, "verify"));
    let signed = check("visit-1", "h1", "verified", Some(device.as_str()));
    let entry = store
        .record_check(&signed, &event("admin", "verify", "h1", 2))
        .await
        .expect("check again");
    assert_eq!(entry.seq, 2);
    store
        .record_check(
            &check("visit-1", "h2", "rejected", None),
            &event("server", "verify", "h2", 3),
        )
        .await
        .expect("check h2");

    let (row, key) = store
        .evidence("visit-1", "h1")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(key, None);
    assert_eq!(
        row,
        EvidenceRow {
            checked_at: row.checked_at,
            ..signed
        }
    );
    let head = store.head().await.expect("head").expect("entries");
    assert!(row.checked_at <= head.at, "{row:?} {head:?}");
    let statuses = store.statuses("visit-1").await.expect("statuses");
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        [
            ("h1".to_owned(), "verified".to_owned()),
            ("h2".to_owned(), "rejected".to_owned())
        ]
    );
    assert!(store.statuses("visit-2").await.expect("none").is_empty());
    assert_eq!(
        store.checked().await.expect("checked"),
        [
            ("visit-1".to_owned(), "h1".to_owned()),
            ("visit-1".to_owned(), "h2".to_owned())
        ]
    );

    let refused = store
        .record_check(
            &check("visit-3", "h3", "verified", None),
            &event("server", "verify\nforged", "h3", 4),
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(store.evidence("visit-3", "h3").await.expect("read"), None);
    assert_eq!(store.verify_chain().await.expect("verify"), Ok(3));
}

/// Three processes appending entries and evidence checks at once leave one chain: every
/// append has its own `seq`, from 1 without a gap, each entry names the one before it, `at`
/// never decreases along it, and every process reads the same chain and every check.
pub async fn processes_appending_custody_at_once_keep_one_chain(open: &Processes) {
    const PROCESSES: usize = 3;
    const APPENDS: usize = 12;
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..PROCESSES).map(|_| open())).await;
    let tasks = storages.iter().enumerate().flat_map(|(p, s)| {
        (0..APPENDS).map(move |n| {
            let store = s.custody_store();
            let subject = format!("p{p}");
            tokio::spawn(async move {
                if n % 3 == 0 {
                    let row = check(&format!("visit-{p}"), &format!("h{n}"), "verified", None);
                    store
                        .record_check(&row, &event("server", "verify", &subject, n))
                        .await
                } else {
                    store.append(&event("server", "view", &subject, n)).await
                }
            })
        })
    });
    let mut seqs: Vec<i64> = join_all(tasks)
        .await
        .into_iter()
        .map(|t| t.expect("join").expect("append").seq)
        .collect();
    seqs.sort_unstable();
    let total = (PROCESSES * APPENDS) as i64;
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
    let subjects: Vec<String> = (0..PROCESSES).map(|p| format!("p{p}")).collect();
    let chain = whole_chain(&*storages[0].custody_store(), &subjects).await;
    for pair in chain.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].entry_hash);
        assert!(pair[1].at >= pair[0].at, "{pair:?}");
    }
    for s in &storages {
        let store = s.custody_store();
        assert_eq!(
            store.verify_chain().await.expect("verify"),
            Ok::<u64, BrokenLink>(total as u64)
        );
        assert_eq!(whole_chain(&*store, &subjects).await, chain);
        assert_eq!(
            store.checked().await.expect("checked").len(),
            PROCESSES * APPENDS.div_ceil(3)
        );
    }
    for s in &storages {
        s.close().await.expect("close");
    }
}
