//! Suite cases for whistleblower leads ([`LeadStore`]): stored once and found by receipt,
//! listed within what a reader may see, triaged once (also by several processes at once),
//! and a triage taken back only while it still stands.

use std::sync::Arc;

use futures_util::future::join_all;
use siteproof_core::Sector;

use super::Processes;
use crate::storage::{
    LeadRecord, LeadState, LeadStore, LeadTriage, NewLead, RowFilter, SectorRows, StorageError,
    SyncStorage,
};

fn lead(id: &str, region: &str, sector: Option<Sector>, day: i64) -> NewLead {
    let mut receipt_hash = [0; 32];
    receipt_hash[..id.len()].copy_from_slice(id.as_bytes());
    NewLead {
        id: id.into(),
        receipt_hash,
        region: region.into(),
        sector: sector.map(|s| s.code().to_owned()),
        site: format!("site of {id}"),
        address: format!("address of {id}"),
        description: format!("what was seen at {id}"),
        received_on: day,
    }
}

fn dismissal(by: &str) -> LeadTriage {
    LeadTriage {
        assignment: None,
        note: Some(format!("dismissed by {by}")),
        by: by.into(),
    }
}

fn assignment(by: &str, id: &str) -> LeadTriage {
    LeadTriage {
        assignment: Some(id.into()),
        note: None,
        by: by.into(),
    }
}

fn sectors(sectors: Vec<Sector>, unsectored: bool) -> RowFilter {
    RowFilter::Region {
        region: "hebei".into(),
        sectors: Some(SectorRows {
            sectors,
            unsectored,
        }),
    }
}

async fn ids(store: &dyn LeadStore, rows: &RowFilter, only: Option<&str>) -> Vec<String> {
    store
        .leads(rows, only)
        .await
        .expect("list")
        .into_iter()
        .map(|l| l.id)
        .collect()
}

/// A lead is stored received with every field; its id and its receipt hash are taken once,
/// and the receipt hash finds it.
pub async fn a_lead_is_stored_once_and_found_by_its_receipt(storage: &dyn SyncStorage) {
    let store = storage.lead_store();
    let new = lead("lead-1", "hebei", Some(Sector::Gas), 86_400_000);
    store.insert_lead(&new).await.expect("insert");
    let expected = LeadRecord {
        id: "lead-1".into(),
        region: "hebei".into(),
        sector: Some("gas".into()),
        site: "site of lead-1".into(),
        address: "address of lead-1".into(),
        description: "what was seen at lead-1".into(),
        received_on: 86_400_000,
        state: LeadState::Received,
        triage_note: None,
        triaged_by: None,
        assignment: None,
    };
    assert_eq!(
        store
            .lead_by_receipt(&new.receipt_hash)
            .await
            .expect("read"),
        Some(expected)
    );
    assert_eq!(store.lead_by_receipt(&[9; 32]).await.expect("read"), None);
    let same_id = NewLead {
        receipt_hash: [7; 32],
        ..new.clone()
    };
    let same_receipt = NewLead {
        id: "lead-2".into(),
        ..new
    };
    for again in [same_id, same_receipt] {
        assert!(matches!(
            store.insert_lead(&again).await,
            Err(StorageError::Conflict(_))
        ));
    }
    assert_eq!(
        ids(&*store, &RowFilter::region("hebei"), None).await,
        ["lead-1"]
    );
}

/// A listing holds what the reader's rows admit: its region's leads, of its sectors (and
/// those with none when shown), newest day first then by id; one id narrows it to that lead.
pub async fn leads_are_listed_within_the_readers_rows_newest_first(storage: &dyn SyncStorage) {
    let store = storage.lead_store();
    for l in [
        lead("a-gas", "hebei", Some(Sector::Gas), 1_000),
        lead("b-fire", "hebei", Some(Sector::FireSafety), 3_000),
        lead("c-none", "hebei", None, 2_000),
        lead("d-gas", "hebei", Some(Sector::Gas), 3_000),
        lead("e-other", "tianjin", Some(Sector::Gas), 5_000),
    ] {
        store.insert_lead(&l).await.expect("insert");
    }
    let region = RowFilter::region("hebei");
    assert_eq!(
        ids(&*store, &region, None).await,
        ["b-fire", "d-gas", "c-none", "a-gas"]
    );
    assert_eq!(
        ids(&*store, &sectors(vec![Sector::Gas], true), None).await,
        ["d-gas", "c-none", "a-gas"]
    );
    assert_eq!(
        ids(&*store, &sectors(vec![Sector::Gas], false), None).await,
        ["d-gas", "a-gas"]
    );
    assert_eq!(
        ids(
            &*store,
            &sectors(vec![Sector::Gas, Sector::FireSafety], false),
            None
        )
        .await,
        ["b-fire", "d-gas", "a-gas"]
    );
    assert_eq!(ids(&*store, &sectors(vec![], true), None).await, ["c-none"]);
    assert!(ids(&*store, &sectors(vec![], false), None).await.is_empty());
    assert!(ids(&*store, &RowFilter::Nothing, None).await.is_empty());
    assert_eq!(ids(&*store, &region, Some("c-none")).await, ["c-none"]);
    assert!(
        ids(&*store, &region, Some("e-other")).await.is_empty(),
        "a lead of another region is not found by its id"
    );
    assert!(
        ids(&*store, &sectors(vec![Sector::Gas], true), Some("b-fire"))
            .await
            .is_empty(),
        "nor one of another sector"
    );
}

/// A received lead takes one decision; a second one is a conflict naming the state, an
/// unknown lead is not found, and a decision is taken back only while it still stands.
pub async fn a_lead_is_triaged_once_and_a_taken_back_triage_frees_it(storage: &dyn SyncStorage) {
    let store = storage.lead_store();
    store
        .insert_lead(&lead("l1", "hebei", None, 1))
        .await
        .expect("insert");
    store
        .insert_lead(&lead("l2", "hebei", None, 1))
        .await
        .expect("insert");
    store
        .triage_lead("l1", &dismissal("wang"))
        .await
        .expect("first decision");
    match store.triage_lead("l1", &assignment("li", "as-1")).await {
        Err(StorageError::Conflict(m)) => assert!(m.contains("dismissed"), "{m}"),
        other => panic!("a second decision: {other:?}"),
    }
    assert!(matches!(
        store.triage_lead("nope", &dismissal("wang")).await,
        Err(StorageError::NotFound(_))
    ));
    let stored = store
        .leads(&RowFilter::region("hebei"), Some("l1"))
        .await
        .expect("read")
        .pop()
        .expect("l1");
    assert_eq!(
        (stored.state, stored.triage_note, stored.triaged_by),
        (
            LeadState::Dismissed,
            Some("dismissed by wang".into()),
            Some("wang".into())
        )
    );

    let decision = assignment("li", "as-2");
    store.triage_lead("l2", &decision).await.expect("assign");
    assert!(
        !store
            .undo_triage("l2", &assignment("li", "as-other"))
            .await
            .expect("undo"),
        "another decision is not taken back"
    );
    assert!(store.undo_triage("l2", &decision).await.expect("undo"));
    assert!(!store.undo_triage("l2", &decision).await.expect("undo"));
    let freed = store
        .lead_by_receipt(&lead("l2", "hebei", None, 1).receipt_hash)
        .await
        .expect("read")
        .expect("l2");
    assert_eq!(
        (
            freed.state,
            freed.assignment,
            freed.triaged_by,
            freed.triage_note
        ),
        (LeadState::Received, None, None, None)
    );
    store
        .triage_lead("l2", &dismissal("zhao"))
        .await
        .expect("a freed lead is decided again");
}

/// Of three processes each deciding on one lead several times at once, exactly one decision
/// is recorded; every other gets a conflict, and every process reads the winner's decision.
pub async fn processes_triaging_one_lead_at_once_triage_it_once(open: &Processes) {
    const PROCESSES: usize = 3;
    const ATTEMPTS: usize = 4;
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..PROCESSES).map(|_| open())).await;
    let stores: Vec<Arc<dyn LeadStore>> = storages.iter().map(|s| s.lead_store()).collect();
    stores[0]
        .insert_lead(&lead("raced", "hebei", Some(Sector::Gas), 1))
        .await
        .expect("insert");
    let tasks = stores.iter().enumerate().flat_map(|(p, s)| {
        (0..ATTEMPTS).map(move |a| {
            let s = Arc::clone(s);
            let decision = if a % 2 == 0 {
                assignment(&format!("p{p}-{a}"), &format!("as-{p}-{a}"))
            } else {
                dismissal(&format!("p{p}-{a}"))
            };
            tokio::spawn(async move {
                let result = s.triage_lead("raced", &decision).await;
                (decision, result)
            })
        })
    });
    let mut won = Vec::new();
    for task in join_all(tasks).await {
        match task.expect("join") {
            (decision, Ok(())) => won.push(decision),
            (_, Err(StorageError::Conflict(_))) => {}
            (_, Err(e)) => panic!("a losing decision should be a conflict: {e}"),
        }
    }
    assert_eq!(won.len(), 1, "decisions recorded: {won:?}");
    let winner = &won[0];
    for store in &stores {
        let stored = store
            .leads(&RowFilter::region("hebei"), Some("raced"))
            .await
            .expect("read")
            .pop()
            .expect("the lead");
        assert_eq!(
            (
                stored.state,
                stored.triaged_by.as_deref(),
                stored.assignment.as_deref()
            ),
            (
                winner.state(),
                Some(winner.by.as_str()),
                winner.assignment.as_deref()
            )
        );
    }
    for s in &storages {
        s.close().await.expect("close");
    }
}
