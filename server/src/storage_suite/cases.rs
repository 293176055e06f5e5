//! Suite cases for the office's case records ([`CaseStore`](crate::storage::CaseStore)): a
//! case's record, ledger row and custody entry written as one, only while the record is as the
//! writer read it, read within what a reader may see; opened once by processes opening one
//! finding at once, and advanced by processes at once without two of them deciding on the
//! same state.

use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT, ReadDoc};
use futures_util::future::join_all;
use siteproof_core::{RecordHeader, RecordId, RecordKind, Scope, Sector};

use super::Processes;
use crate::storage::{
    CaseRow, CustodyEvent, RecordWrite, RowFilter, SectorRows, StorageError, SyncStorage,
};

fn header(id: &RecordId) -> RecordHeader {
    RecordHeader {
        kind: RecordKind::Case,
        id: id.clone(),
        scope: Scope::group("hebei", "g1"),
    }
}

/// A new case document of its own writer, saying who made it.
fn new_case(id: &RecordId, by: &str) -> AutoCommit {
    let mut doc = header(id).create(ActorId::random()).expect("create");
    doc.put(ROOT, "by", by).expect("put");
    doc.commit();
    doc
}

/// What `doc` holds after `heads`, read at `known_through`.
fn write(doc: &mut AutoCommit, heads: &[automerge::ChangeHash], known_through: u64) -> RecordWrite {
    RecordWrite {
        header: RecordHeader::read(doc).expect("header"),
        changes: doc
            .get_changes(heads)
            .into_iter()
            .map(|mut c| (c.hash().0, c.bytes().into_owned()))
            .collect(),
        known_through,
        snapshot: Some(doc.save()),
    }
}

fn row(id: &RecordId, status: &str, opened_at: i64, description: &str) -> CaseRow {
    CaseRow {
        id: id.to_string(),
        region: "hebei".into(),
        group: "g1".into(),
        visit_id: format!("visit-{id}"),
        finding_id: "f1".into(),
        site: "Plant 3".into(),
        sector: "gas".into(),
        severity: "major".into(),
        description: description.into(),
        status: status.into(),
        unit: None,
        deadline: None,
        escalated: false,
        opened_at,
        closed_at: None,
        fixed_on_spot: false,
        recorded: true,
    }
}

fn custody(id: &RecordId, actor: &str) -> CustodyEvent {
    CustodyEvent {
        actor: actor.into(),
        action: "case_event".into(),
        subject: id.to_string(),
        details: serde_json::json!({}),
    }
}

/// The record's stored document and the `seq` it was read at.
async fn read(storage: &dyn SyncStorage, id: &RecordId) -> (AutoCommit, u64) {
    let full = storage
        .full_document(id)
        .await
        .expect("read")
        .expect("stored");
    let doc = siteproof_core::document::decode(&full.to_bytes(), ActorId::random()).expect("doc");
    (doc, full.max_seq())
}

async fn change_count(storage: &dyn SyncStorage, id: &RecordId) -> usize {
    storage.changes_after(id, 0).await.expect("changes").len()
}

async fn custody_count(storage: &dyn SyncStorage, id: &RecordId) -> usize {
    storage
        .custody_store()
        .entries_about(&[id.to_string()])
        .await
        .expect("entries")
        .len()
}

/// A case is stored with its row and custody entry; the row is read by id and by finding
/// within the reader's region and sectors only; a later write from the record as read replaces the row
/// but keeps when the hazard was found.
pub async fn a_case_is_written_with_its_row_and_custody_entry(storage: &dyn SyncStorage) {
    let store = storage.case_store();
    let id = RecordId::random();
    let mut doc = new_case(&id, "wang");
    let opened = row(&id, "open", 100, "leaking valve");
    let entry = store
        .write_case(
            &write(&mut doc, &[], 0),
            &opened,
            &custody(&id, "user:wang"),
        )
        .await
        .expect("open");
    assert_eq!(
        (entry.subject.as_str(), entry.action.as_str()),
        (id.as_str(), "case_event")
    );
    let hebei = RowFilter::region("hebei");
    assert_eq!(
        store.case_row(&hebei, id.as_str()).await.expect("row"),
        Some(opened.clone())
    );
    assert_eq!(
        store
            .case_of_finding(&hebei, &opened.visit_id, "f1")
            .await
            .expect("row"),
        Some(opened.clone())
    );
    let shanxi = RowFilter::region("shanxi");
    assert_eq!(
        store.case_row(&shanxi, id.as_str()).await.expect("row"),
        None
    );
    assert_eq!(
        store
            .case_row(&RowFilter::Nothing, id.as_str())
            .await
            .expect("row"),
        None
    );
    let sector = |sectors: Vec<Sector>| RowFilter::Region {
        region: "hebei".into(),
        sectors: Some(SectorRows {
            sectors,
            unsectored: true,
        }),
    };
    assert_eq!(
        store
            .case_row(&sector(vec![Sector::CoalMine]), id.as_str())
            .await
            .expect("row"),
        None
    );
    assert_eq!(
        store
            .case_row(&sector(vec![Sector::CoalMine, Sector::Gas]), id.as_str())
            .await
            .expect("row"),
        Some(opened.clone())
    );

    let (mut doc, seq) = read(storage, &id).await;
    let heads = doc.get_heads();
    doc.put(ROOT, "status", "ordered").expect("put");
    doc.commit();
    let ordered = CaseRow {
        unit: Some("Plant 3 maintenance".into()),
        deadline: Some(5_000),
        ..row(&id, "ordered", 999, "leaking valve")
    };
    store
        .write_case(
            &write(&mut doc, &heads, seq),
            &ordered,
            &custody(&id, "user:li"),
        )
        .await
        .expect("order");
    assert_eq!(
        store.case_row(&hebei, id.as_str()).await.expect("row"),
        Some(CaseRow {
            opened_at: 100,
            ..ordered
        })
    );
    assert_eq!(change_count(storage, &id).await, 2);
    assert_eq!(custody_count(storage, &id).await, 2);
}

/// A write is refused whole, leaving record, row and chain as they were, when the case
/// exists already (an opening), when a change was stored since the writer read it, or when
/// its custody entry cannot be written.
pub async fn a_case_write_not_as_read_writes_nothing(storage: &dyn SyncStorage) {
    let store = storage.case_store();
    let hebei = RowFilter::region("hebei");
    let id = RecordId::random();
    let opened = row(&id, "open", 100, "first");
    store
        .write_case(
            &write(&mut new_case(&id, "wang"), &[], 0),
            &opened,
            &custody(&id, "user:wang"),
        )
        .await
        .expect("open");
    let again = store
        .write_case(
            &write(&mut new_case(&id, "li"), &[], 0),
            &row(&id, "open", 100, "second"),
            &custody(&id, "user:li"),
        )
        .await;
    assert!(matches!(again, Err(StorageError::Conflict(_))), "{again:?}");

    let (mut first, seq) = read(storage, &id).await;
    let (mut second, _) = read(storage, &id).await;
    let heads = first.get_heads();
    first.put(ROOT, "status", "ordered").expect("put");
    first.commit();
    let ordered = row(&id, "ordered", 100, "first");
    store
        .write_case(
            &write(&mut first, &heads, seq),
            &ordered,
            &custody(&id, "user:wang"),
        )
        .await
        .expect("order");
    second.put(ROOT, "status", "closed").expect("put");
    second.commit();
    let stale = store
        .write_case(
            &write(&mut second, &heads, seq),
            &row(&id, "closed", 100, "first"),
            &custody(&id, "user:li"),
        )
        .await;
    assert!(matches!(stale, Err(StorageError::Conflict(_))), "{stale:?}");

    let (mut third, seq) = read(storage, &id).await;
    let heads = third.get_heads();
    third.put(ROOT, "status", "closed").expect("put");
    third.commit();
    let broken = store
        .write_case(
            &write(&mut third, &heads, seq),
            &row(&id, "closed", 100, "first"),
            &custody(&id, "user:li\nforged"),
        )
        .await;
    assert!(broken.is_err(), "{broken:?}");
    assert_eq!(
        store.case_row(&hebei, id.as_str()).await.expect("row"),
        Some(ordered)
    );
    assert_eq!(change_count(storage, &id).await, 2);
    assert_eq!(custody_count(storage, &id).await, 2);

    let unopened = RecordId::random();
    let broken = store
        .write_case(
            &write(&mut new_case(&unopened, "wang"), &[], 0),
            &row(&unopened, "open", 100, "never"),
            &custody(&unopened, "user:wang\nforged"),
        )
        .await;
    assert!(broken.is_err(), "{broken:?}");
    assert!(
        storage
            .documents(std::slice::from_ref(&unopened))
            .await
            .expect("docs")
            .is_empty()
    );
    assert_eq!(
        store
            .case_row(&hebei, unopened.as_str())
            .await
            .expect("row"),
        None
    );
}

/// Three processes each opening one finding's case twice at once: one opening stores the
/// case, every other gets a conflict, and every process reads that one's record, row and
/// single custody entry.
pub async fn processes_opening_one_case_at_once_open_it_once(open: &Processes) {
    const PROCESSES: usize = 3;
    const ATTEMPTS: usize = 2;
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..PROCESSES).map(|_| open())).await;
    let id = RecordId::random();
    let tasks = storages.iter().enumerate().flat_map(|(p, s)| {
        let id = id.clone();
        (0..ATTEMPTS).map(move |a| {
            let store = s.case_store();
            let by = format!("p{p}-{a}");
            let mut doc = new_case(&id, &by);
            let record = write(&mut doc, &[], 0);
            let r = row(&id, "open", 100, &by);
            let event = custody(&id, &format!("user:{by}"));
            tokio::spawn(async move {
                let result = store.write_case(&record, &r, &event).await;
                (record, r, result)
            })
        })
    });
    let mut won = Vec::new();
    for task in join_all(tasks).await {
        match task.expect("join") {
            (record, r, Ok(_)) => won.push((record, r)),
            (_, _, Err(StorageError::Conflict(_))) => {}
            (_, _, Err(e)) => panic!("a losing opening should be a conflict: {e}"),
        }
    }
    assert_eq!(won.len(), 1, "openings that won: {}", won.len());
    let (record, r) = &won[0];
    for s in &storages {
        assert_eq!(
            s.case_store()
                .case_row(&RowFilter::region("hebei"), id.as_str())
                .await
                .expect("row")
                .as_ref(),
            Some(r)
        );
        let hashes: Vec<_> = s
            .changes_after(&id, 0)
            .await
            .expect("changes")
            .into_iter()
            .map(|c| c.hash)
            .collect();
        assert_eq!(
            hashes,
            record.changes.iter().map(|(h, _)| *h).collect::<Vec<_>>()
        );
        assert_eq!(custody_count(&**s, &id).await, 1);
    }
    for s in &storages {
        s.close().await.expect("close");
    }
}

/// Three processes each closing one case at once, by the rule "a closed case cannot be
/// closed" judged on the case as each read it, reading again after a conflict: exactly one
/// closes it, the others see its closing and refuse, and the record holds one closing.
pub async fn processes_advancing_one_case_at_once_decide_on_each_others_events(open: &Processes) {
    const PROCESSES: usize = 3;
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..PROCESSES).map(|_| open())).await;
    let id = RecordId::random();
    storages[0]
        .case_store()
        .write_case(
            &write(&mut new_case(&id, "wang"), &[], 0),
            &row(&id, "open", 100, "valve"),
            &custody(&id, "user:wang"),
        )
        .await
        .expect("open");
    let tasks = storages.iter().enumerate().map(|(p, s)| {
        let (s, id) = (Arc::clone(s), id.clone());
        tokio::spawn(async move {
            let mut conflicts = 0;
            loop {
                let (mut doc, seq) = read(&*s, &id).await;
                if doc.get(ROOT, "closed_by").expect("read").is_some() {
                    return (false, conflicts);
                }
                let heads = doc.get_heads();
                doc.put(ROOT, "closed_by", format!("p{p}")).expect("put");
                doc.commit();
                let written = s
                    .case_store()
                    .write_case(
                        &write(&mut doc, &heads, seq),
                        &row(&id, "closed", 100, &format!("closed by p{p}")),
                        &custody(&id, &format!("user:p{p}")),
                    )
                    .await;
                match written {
                    Ok(_) => return (true, conflicts),
                    Err(StorageError::Conflict(_)) => conflicts += 1,
                    Err(e) => panic!("closing: {e}"),
                }
            }
        })
    });
    let outcomes: Vec<(bool, usize)> = join_all(tasks)
        .await
        .into_iter()
        .map(|t| t.expect("join"))
        .collect();
    assert_eq!(
        outcomes.iter().filter(|(closed, _)| *closed).count(),
        1,
        "{outcomes:?}"
    );
    for s in &storages {
        assert_eq!(change_count(&**s, &id).await, 2);
        assert_eq!(custody_count(&**s, &id).await, 2);
        let (doc, _) = read(&**s, &id).await;
        let closer = doc
            .get(ROOT, "closed_by")
            .expect("read")
            .and_then(|(v, _)| v.into_string().ok())
            .expect("closed");
        let stored = s
            .case_store()
            .case_row(&RowFilter::region("hebei"), id.as_str())
            .await
            .expect("row")
            .expect("row");
        assert_eq!(stored.description, format!("closed by {closer}"));
    }
    for s in &storages {
        s.close().await.expect("close");
    }
}
