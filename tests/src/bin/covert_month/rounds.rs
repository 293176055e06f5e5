//! The first sync taken one round at a time, with the store held only to prepare a round's
//! request and to apply its response, never across the HTTP request: what the app's sync
//! would be if it let captures in between rounds (`COVERT_MONTH_SYNC=rounds`). The default
//! is the app's sync, `Store::sync`, which holds the store for every round.

use std::time::{Duration, Instant};

use siteproof_core::SyncSummary;
use siteproof_core::sync::wire::{self, SyncResponse};

use super::capture::{Shared, Timeline, lock};

/// Syncs in rounds until the server has nothing more; the timeline gets each round's longest
/// hold of the store.
pub fn sync_by_rounds(store: &Shared, timeline: &Timeline) -> SyncSummary {
    let (url, token) = {
        let store = lock(store);
        (
            store.server_url().expect("meta").expect("enrolled"),
            store.server_token().expect("meta").expect("enrolled"),
        )
    };
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("http client");
    let mut summary = SyncSummary::default();
    loop {
        let t = Instant::now();
        let request = lock(store).prepare_sync().expect("prepare a round");
        let prepared = t.elapsed();
        let body = wire::encode(&request);
        summary.bytes_up += body.len() as u64;
        summary.round_trips += 1;
        let response = http
            .post(format!("{}/v1/sync", url.trim_end_matches('/')))
            .bearer_auth(&token)
            .header(reqwest::header::CONTENT_TYPE, wire::CONTENT_TYPE)
            .body(body)
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.bytes())
            .expect("sync round");
        let response: SyncResponse = wire::decode(&response).expect("sync response");
        let t = Instant::now();
        let round = lock(store)
            .apply_sync_response(response)
            .expect("apply a round");
        timeline.note(format!(
            "round {}: store held {:.0} ms to prepare, {:.0} ms to apply",
            summary.round_trips,
            prepared.as_secs_f64() * 1e3,
            t.elapsed().as_secs_f64() * 1e3
        ));
        summary.pushed += round.pushed;
        summary.pulled += round.pulled;
        summary.records_updated += round.updated;
        if !round.again {
            return summary;
        }
    }
}
