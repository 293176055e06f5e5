//! Suite cases for leases on tus uploads ([`UploadLeaseStore`]): one holder at a time, renewed
//! by its holder, taken over once lapsed, given back only by its holder; and several
//! processes taking one lease at once give it to one.

use std::sync::Arc;

use futures_util::future::join_all;

use super::Processes;
use crate::storage::{SyncStorage, UploadLeaseStore};

/// One holder at a time; renewed by it, taken over once lapsed, given back only by it.
pub async fn a_lease_has_one_holder_until_it_lapses_or_is_given_back(storage: &dyn SyncStorage) {
    let leases = storage.upload_lease_store();
    let take = |holder: &'static str, now: i64| {
        let leases = Arc::clone(&leases);
        async move {
            leases
                .take_lease("u1", holder, now, now + 100)
                .await
                .expect("take")
        }
    };
    assert!(take("a", 1_000).await, "a free lease is taken");
    assert!(!take("b", 1_050).await, "a live lease is someone else's");
    assert!(
        take("a", 1_080).await,
        "its holder renews it, now until 1,180"
    );
    assert!(!take("b", 1_150).await, "the renewal counts");
    assert!(take("b", 1_180).await, "a lapsed lease is taken over");
    assert!(!take("a", 1_200).await, "the old holder lost it");
    leases.release_lease("u1", "a").await.expect("release");
    assert!(!take("c", 1_210).await, "only its holder gives it back");
    leases.release_lease("u1", "b").await.expect("release");
    assert!(take("c", 1_220).await, "given back, it is free");
    assert!(
        leases
            .take_lease("u2", "a", 1_220, 1_320)
            .await
            .expect("take"),
        "each upload has its own lease"
    );
}

/// Three processes, four attempts each, taking one lease at once: one holder, seen by all.
pub async fn processes_taking_one_lease_at_once_give_it_to_one(open: &Processes) {
    const PROCESSES: usize = 3;
    const ATTEMPTS: usize = 4;
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..PROCESSES).map(|_| open())).await;
    let stores: Vec<Arc<dyn UploadLeaseStore>> =
        storages.iter().map(|s| s.upload_lease_store()).collect();
    for round in 0..3_i64 {
        let id = format!("raced-{round}");
        let tasks = stores.iter().enumerate().flat_map(|(p, s)| {
            let id = id.clone();
            (0..ATTEMPTS).map(move |a| {
                let (s, id, holder) = (Arc::clone(s), id.clone(), format!("p{p}-{a}"));
                tokio::spawn(async move {
                    let taken = s
                        .take_lease(&id, &holder, 1_000, 60_000)
                        .await
                        .expect("take");
                    (holder, taken)
                })
            })
        });
        let winners: Vec<String> = join_all(tasks)
            .await
            .into_iter()
            .map(|t| t.expect("join"))
            .filter_map(|(holder, taken)| taken.then_some(holder))
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        // Every process sees the winner's lease.
        for store in &stores {
            assert!(
                !store
                    .take_lease(&id, "late", 2_000, 3_000)
                    .await
                    .expect("take"),
                "round {round}"
            );
        }
    }
}
