//! Suite cases for the throttling counters ([`RateStore`]): the sliding window, clearing and
//! refunds, pruning, unlocks, and several processes hitting one key at once.

use std::sync::Arc;

use futures_util::future::join_all;

use super::Processes;
use crate::storage::{Admission, RateKey, RateStore, SyncStorage};

fn key(name: &str, limit: u32, window_ms: i64) -> RateKey {
    RateKey {
        key: name.into(),
        limit,
        window_ms,
    }
}

/// A key admits up to its limit, then refuses (counting nothing, naming the full key and when
/// its oldest hit expires) until that hit has expired; all keys of a request count or none.
pub async fn a_counter_admits_to_its_limit_and_again_once_the_oldest_hit_expires(
    storage: &dyn SyncStorage,
) {
    let rates = storage.rate_store();
    let both = |other: &str| [key("all", 3, 100), key(other, 2, 100)];
    assert_eq!(
        rates.admit(&both("a"), 1_000).await.expect("admit"),
        Admission::Admitted
    );
    assert_eq!(
        rates.admit(&both("a"), 1_010).await.expect("admit"),
        Admission::Admitted
    );
    assert_eq!(
        rates.admit(&both("a"), 1_020).await.expect("admit"),
        Admission::Refused {
            index: 1,
            until: 1_100
        }
    );
    assert_eq!(
        rates.live_hits("all", 1_020).await.expect("hits"),
        (2, Some(1_100)),
        "the refused request counted nothing"
    );
    assert_eq!(
        rates.admit(&both("b"), 1_030).await.expect("admit"),
        Admission::Admitted
    );
    assert_eq!(
        rates.admit(&both("c"), 1_040).await.expect("admit"),
        Admission::Refused {
            index: 0,
            until: 1_100
        }
    );
    // At 1_100 the first hit has expired: room for one more on "all" and on "a".
    assert_eq!(
        rates.admit(&both("a"), 1_100).await.expect("admit"),
        Admission::Admitted
    );
    assert_eq!(
        rates.live_hits("a", 1_100).await.expect("hits"),
        (2, Some(1_110))
    );
    assert_eq!(
        rates.live_hits("nothing", 1_100).await.expect("hits"),
        (0, None)
    );
    // An unlimited key counts every hit.
    for t in 0..5 {
        let counted = rates
            .admit(&[key("failures", u32::MAX, 100)], 2_000 + t)
            .await
            .expect("admit");
        assert_eq!(counted, Admission::Admitted);
    }
    assert_eq!(rates.live_hits("failures", 2_004).await.expect("hits").0, 5);
}

/// Clearing forgets keys (by name or by prefix), a refund takes back only the newest hit,
/// expired hits are deleted as later ones arrive, and an unlock is kept per login.
pub async fn counters_clear_refund_and_prune_and_unlocks_are_kept(storage: &dyn SyncStorage) {
    let rates = storage.rate_store();
    for name in [
        "pair:alice\n1",
        "pair:alice\n2",
        "pair:alicex",
        "account:alice",
    ] {
        rates
            .admit(&[key(name, 10, 1_000)], 0)
            .await
            .expect("admit");
        rates
            .admit(&[key(name, 10, 1_000)], 1)
            .await
            .expect("admit");
    }
    rates
        .clear_prefix("pair:alice\n")
        .await
        .expect("clear prefix");
    rates.clear(&["account:alice".into()]).await.expect("clear");
    let live = |name: &'static str| {
        let rates = Arc::clone(&rates);
        async move { rates.live_hits(name, 2).await.expect("hits").0 }
    };
    assert_eq!(live("pair:alice\n1").await, 0);
    assert_eq!(live("pair:alice\n2").await, 0);
    assert_eq!(live("account:alice").await, 0);
    assert_eq!(live("pair:alicex").await, 2, "another login's key stays");
    rates.refund("pair:alicex").await.expect("refund");
    assert_eq!(
        rates.live_hits("pair:alicex", 0).await.expect("hits"),
        (1, Some(1_000))
    );
    rates.refund("never-hit").await.expect("refunding nothing");
    // Hits that expired at 10 are deleted by an admission at 500: asked about a time before
    // their expiry, the store no longer has them.
    rates.admit(&[key("old", 10, 10)], 0).await.expect("admit");
    rates
        .admit(&[key("new", 10, 10)], 500)
        .await
        .expect("admit");
    assert_eq!(
        rates.live_hits("old", 5).await.expect("hits").0,
        0,
        "pruned"
    );

    assert_eq!(rates.unlock_of("alice").await.expect("unlock"), None);
    rates.store_unlock("alice", 7).await.expect("store");
    rates.store_unlock("alice", 9).await.expect("store again");
    assert_eq!(rates.unlock_of("alice").await.expect("unlock"), Some(9));
    assert_eq!(rates.unlock_of("bob").await.expect("unlock"), None);
}

/// Several processes admitting on one key at once (with other keys in both orders, so that
/// lock order matters): exactly the limit is admitted across them, and every unlimited hit
/// is counted exactly once.
pub async fn processes_hitting_one_key_at_once_count_every_hit_once(open: &Processes) {
    const PROCESSES: usize = 3;
    const PER_PROCESS: usize = 20;
    const LIMIT: u32 = 25;
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..PROCESSES).map(|_| open())).await;
    let rates: Vec<Arc<dyn RateStore>> = storages.iter().map(|s| s.rate_store()).collect();
    let now = 1_000_000;
    let tasks = rates.iter().enumerate().flat_map(|(p, r)| {
        (0..PER_PROCESS).map(move |i| {
            let r = Arc::clone(r);
            let (first, second) = if (p + i) % 2 == 0 {
                ("x", "y")
            } else {
                ("y", "x")
            };
            tokio::spawn(async move {
                let keys = [
                    key("shared", LIMIT, 60_000),
                    key(first, u32::MAX, 60_000),
                    key(second, u32::MAX, 60_000),
                ];
                let limited = r.admit(&keys, now).await.expect("admit");
                let counted = r
                    .admit(&[key("every", u32::MAX, 60_000)], now)
                    .await
                    .expect("admit");
                assert_eq!(counted, Admission::Admitted);
                limited == Admission::Admitted
            })
        })
    });
    let admitted = join_all(tasks)
        .await
        .into_iter()
        .map(|t| t.expect("join"))
        .filter(|a| *a)
        .count();
    assert_eq!(admitted, LIMIT as usize, "admitted across the processes");
    let total = u32::try_from(PROCESSES * PER_PROCESS).expect("small");
    for (name, expected) in [
        ("shared", LIMIT),
        ("x", LIMIT),
        ("y", LIMIT),
        ("every", total),
    ] {
        for r in &rates {
            assert_eq!(
                r.live_hits(name, now).await.expect("hits").0,
                expected,
                "{name} as every process sees it"
            );
        }
    }
    for s in &storages {
        s.close().await.expect("close");
    }
}
