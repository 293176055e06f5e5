//! Suite cases for the office's assignments ([`AssignmentStore`]): each record stored with
//! its row in one create-only write, listed within what a reader may see, found by the lead it
//! answers, and issued once under one id, also by several processes at once.

use std::sync::Arc;

use automerge::ActorId;
use futures_util::future::join_all;
use siteproof_core::{RecordHeader, RecordId, RecordKind, Scope, Sector};

use super::{Processes, push};
use crate::storage::{
    AssignmentStore, IssuedAssignment, RecordWrite, RowFilter, SectorRows, StorageError,
    SyncStorage,
};

/// A new `assignment` record for group `grp` of `region`, made by a writer of its own.
fn assignment_record(id: &RecordId, region: &str, grp: &str) -> RecordWrite {
    let header = RecordHeader {
        kind: RecordKind::Assignment,
        id: id.clone(),
        scope: Scope::group(region, grp),
    };
    let mut doc = header.create(ActorId::random()).expect("create");
    doc.commit();
    let changes = doc
        .get_changes(&[])
        .into_iter()
        .map(|mut c| (c.hash().0, c.bytes().into_owned()))
        .collect();
    RecordWrite {
        header,
        changes,
        known_through: 0,
        snapshot: Some(doc.save()),
    }
}

fn row(record: &RecordWrite, sector: Option<Sector>, at: i64, by: &str) -> IssuedAssignment {
    IssuedAssignment {
        id: record.header.id.to_string(),
        region: record.header.scope.region.clone(),
        group: record.header.scope.group.clone(),
        kind: "inspection".into(),
        title: format!("issued by {by}"),
        sector: sector.map(|s| s.code().to_owned()),
        site: Some("a site".into()),
        lead: None,
        due: Some(at + 1_000),
        issued_by: by.into(),
        issued_at: at,
    }
}

async fn ids(store: &dyn AssignmentStore, rows: &RowFilter, only: Option<&str>) -> Vec<String> {
    store
        .assignments(rows, only)
        .await
        .expect("list")
        .into_iter()
        .map(|a| a.id)
        .collect()
}

async fn hashes(storage: &dyn SyncStorage, id: &RecordId) -> Vec<[u8; 32]> {
    storage
        .changes_after(id, 0)
        .await
        .expect("changes")
        .into_iter()
        .map(|c| c.hash)
        .collect()
}

/// An issued assignment's record and row are both stored; rows are listed newest first within
/// the reader's region and sectors, one alone when asked, and found by the lead they answer.
pub async fn an_assignment_is_issued_with_its_row_and_listed_within_the_readers_rows(
    storage: &dyn SyncStorage,
) {
    let store = storage.assignment_store();
    let mut issued = Vec::new();
    for (n, (region, sector)) in [
        ("hebei", Some(Sector::Gas)),
        ("hebei", None),
        ("hebei", Some(Sector::CoalMine)),
        ("shanxi", Some(Sector::Gas)),
    ]
    .into_iter()
    .enumerate()
    {
        let record = assignment_record(&RecordId::random(), region, "g1");
        let mut r = row(&record, sector, 100 + n as i64, "wang");
        if n == 0 {
            r.lead = Some("lead-1".into());
        }
        store.issue_assignment(&record, &r).await.expect("issue");
        assert_eq!(
            hashes(storage, &record.header.id).await,
            record.changes.iter().map(|(h, _)| *h).collect::<Vec<_>>()
        );
        issued.push(r);
    }
    let id = |n: usize| issued[n].id.clone();
    assert_eq!(
        ids(&*store, &RowFilter::region("hebei"), None).await,
        [id(2), id(1), id(0)]
    );
    let gas_and_unsectored = RowFilter::Region {
        region: "hebei".into(),
        sectors: Some(SectorRows {
            sectors: vec![Sector::Gas],
            unsectored: true,
        }),
    };
    assert_eq!(
        ids(&*store, &gas_and_unsectored, None).await,
        [id(1), id(0)]
    );
    assert_eq!(
        store
            .assignments(&RowFilter::region("hebei"), Some(&id(0)))
            .await
            .expect("one"),
        vec![issued[0].clone()]
    );
    assert!(
        ids(&*store, &RowFilter::region("hebei"), Some(&id(3)))
            .await
            .is_empty(),
        "another region's assignment"
    );
    assert!(ids(&*store, &RowFilter::Nothing, None).await.is_empty());
    assert_eq!(
        store
            .assignments_of_leads(&["lead-1".into(), "lead-2".into()])
            .await
            .expect("by lead"),
        vec![("lead-1".to_owned(), id(0))]
    );
}

/// Issuing under an id already stored, as an assignment or as any other record, is a
/// conflict that stores no row and no change, and keeps what was there.
pub async fn issuing_an_assignment_under_a_stored_id_writes_nothing(storage: &dyn SyncStorage) {
    let store = storage.assignment_store();
    let first = assignment_record(&RecordId::random(), "hebei", "g1");
    store
        .issue_assignment(&first, &row(&first, None, 1, "wang"))
        .await
        .expect("issue");
    let again = assignment_record(&first.header.id, "hebei", "g1");
    let refused = store
        .issue_assignment(&again, &row(&again, None, 2, "li"))
        .await;
    assert!(
        matches!(refused, Err(StorageError::Conflict(_))),
        "{refused:?}"
    );
    let kept = store
        .assignments(&RowFilter::region("hebei"), None)
        .await
        .expect("list");
    assert_eq!(kept, vec![row(&first, None, 1, "wang")]);
    assert_eq!(
        hashes(storage, &first.header.id).await,
        first.changes.iter().map(|(h, _)| *h).collect::<Vec<_>>()
    );

    let other = super::record(RecordKind::Visit, Scope::group("hebei", "g1"), 1);
    push(storage, None, vec![other.clone()]).await;
    let clash = assignment_record(&other.header.id, "hebei", "g1");
    let refused = store
        .issue_assignment(&clash, &row(&clash, None, 3, "li"))
        .await;
    assert!(
        matches!(refused, Err(StorageError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(
        ids(&*store, &RowFilter::region("hebei"), None).await,
        [first.header.id.to_string()]
    );
    assert_eq!(hashes(storage, &other.header.id).await.len(), 1);
}

/// Of three processes each issuing an assignment under one id several times at once (a
/// triage retried through several processes), one stores it; every other gets a conflict,
/// and every process reads the winner's row and the winner's changes only.
pub async fn processes_issuing_one_assignment_at_once_issue_it_once(open: &Processes) {
    const PROCESSES: usize = 3;
    const ATTEMPTS: usize = 3;
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..PROCESSES).map(|_| open())).await;
    let id = RecordId::random();
    let tasks = storages.iter().enumerate().flat_map(|(p, s)| {
        let id = id.clone();
        (0..ATTEMPTS).map(move |a| {
            let s = Arc::clone(s);
            let record = assignment_record(&id, "hebei", "g1");
            let r = row(&record, Some(Sector::Gas), 10, &format!("p{p}-{a}"));
            tokio::spawn(async move {
                let result = s.assignment_store().issue_assignment(&record, &r).await;
                (record, r, result)
            })
        })
    });
    let mut won = Vec::new();
    for task in join_all(tasks).await {
        match task.expect("join") {
            (record, r, Ok(())) => won.push((record, r)),
            (_, _, Err(StorageError::Conflict(_))) => {}
            (_, _, Err(e)) => panic!("a losing issue should be a conflict: {e}"),
        }
    }
    assert_eq!(won.len(), 1, "issues that won: {}", won.len());
    let (record, r) = &won[0];
    for s in &storages {
        assert_eq!(
            s.assignment_store()
                .assignments(&RowFilter::region("hebei"), None)
                .await
                .expect("list"),
            vec![r.clone()]
        );
        assert_eq!(
            hashes(&**s, &id).await,
            record.changes.iter().map(|(h, _)| *h).collect::<Vec<_>>()
        );
    }
    for s in &storages {
        s.close().await.expect("close");
    }
}
