//! Suite cases of the [`SupervisionStore`]: the lists taken once with their audit, the risk
//! facts read alike on every backend, and the log of risk changes read without a gap across
//! processes, pruned without losing a change another process has not read.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::join_all;
use siteproof_core::Sector;

use super::processes::Processes;
use crate::storage::{
    Facts, Gathered, HeldWrite, LeadTriage, ListRemoval, NewLead, NewListEntry, OfficeRows,
    RiskRead, RiskView, RowFilter, SectorRows, StorageError, StorageResult, SupervisionList,
    SupervisionStore, SyncStorage, VisitFixture,
};

const E1: &str = "91110000000000001A";
const E2: &str = "91110000000000002B";

fn whole(region: &str) -> RiskView {
    RiskView {
        region: region.into(),
        rows: RowFilter::region(region),
        lead_rows: RowFilter::region(region),
    }
}

fn entry(code: &str, by: &str, at: i64) -> NewListEntry {
    NewListEntry {
        region: "hebei".into(),
        credit_code: code.into(),
        name: format!("enterprise {code}"),
        reason: "repeated major hazards".into(),
        decided_on: 86_400_000,
        by: by.into(),
        at,
    }
}

fn removal(by: &str, at: i64) -> ListRemoval {
    ListRemoval {
        region: "hebei".into(),
        reason: "rectified".into(),
        by: by.into(),
        at,
    }
}

fn visit(id: &str, code: Option<&str>, sector: Sector, mode: &str, at: i64) -> VisitFixture {
    VisitFixture {
        id: id.into(),
        region: "hebei".into(),
        group: "g1".into(),
        site: format!("site of {id}"),
        sector: sector.code().into(),
        mode: mode.into(),
        started_at: at,
        assignment: None,
        credit_code: code.map(str::to_owned),
    }
}

/// The facts with every list in order, so backends that read rows in another order compare.
fn sorted(mut facts: HashMap<String, Facts>) -> HashMap<String, Facts> {
    for f in facts.values_mut() {
        f.major_found.sort_unstable();
        f.open_deadlines.sort_unstable();
        f.leads_received.sort_unstable();
        for v in &mut f.item_visits {
            v.sort_unstable();
        }
        f.item_visits.sort();
    }
    facts
}

/// Adding to a list is once per open entry, with its audit row; a removal closes it once and
/// keeps it; the enterprise may be added again then.
pub async fn a_list_entry_is_opened_and_closed_once_with_its_audit(storage: &dyn SyncStorage) {
    let store = storage.supervision_store();
    let key = SupervisionList::KeyList;
    let id = store
        .add_to_list(key, &entry(E1, "ann", 10))
        .await
        .expect("add");
    let again = store.add_to_list(key, &entry(E1, "bob", 11)).await;
    assert!(matches!(again, Err(StorageError::Conflict(_))), "{again:?}");
    let black = store
        .add_to_list(SupervisionList::Blacklist, &entry(E1, "bob", 12))
        .await
        .expect("the other list");
    let rows = RowFilter::region("hebei");
    let open = store
        .list_entries(key, &rows, Some(true))
        .await
        .expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].id, open[0].added_by.as_str()), (id, "ann"));
    assert_eq!(open[0].decided_on, None, "the key list has no decision day");
    let listed = store
        .list_entries(SupervisionList::Blacklist, &rows, None)
        .await
        .expect("blacklist");
    assert_eq!(
        (listed[0].id, listed[0].decided_on),
        (black, Some(86_400_000))
    );
    assert!(
        store
            .list_entries(key, &RowFilter::region("tianjin"), None)
            .await
            .expect("other region")
            .is_empty()
    );
    let mut elsewhere = removal("bob", 20);
    elsewhere.region = "tianjin".into();
    let refused = store.remove_from_list(key, id, &elsewhere).await;
    assert!(
        matches!(refused, Err(StorageError::NotFound(_))),
        "{refused:?}"
    );
    let removed = store
        .remove_from_list(key, id, &removal("bob", 20))
        .await
        .expect("remove");
    assert_eq!(removed.credit_code, E1);
    let twice = store.remove_from_list(key, id, &removal("cat", 21)).await;
    assert!(matches!(twice, Err(StorageError::Conflict(_))), "{twice:?}");
    let closed = store
        .list_entries(key, &rows, Some(false))
        .await
        .expect("closed");
    assert_eq!(
        (closed[0].removed_by.as_deref(), closed[0].removed_at),
        (Some("bob"), Some(20))
    );
    store
        .add_to_list(key, &entry(E1, "cat", 30))
        .await
        .expect("added again once closed");
    let audit = store.audit_rows(&rows).await.expect("audit");
    let seen: Vec<(&str, &str, &str, i64)> = audit
        .iter()
        .map(|a| (a.list.as_str(), a.action.as_str(), a.by.as_str(), a.at))
        .collect();
    assert_eq!(
        seen,
        [
            ("key_list", "add", "cat", 30),
            ("key_list", "remove", "bob", 20),
            ("blacklist", "add", "bob", 12),
            ("key_list", "add", "ann", 10),
        ]
    );
}

/// Visits, findings, hazards, a merge and leads of two enterprises (one registered), and a
/// name-only visit: the facts read are these on every backend.
pub async fn risk_facts_are_read_alike_from_visits_findings_cases_merges_and_leads(
    storage: &dyn SyncStorage,
) {
    let mut v2 = visit("v2", Some(E1), Sector::Gas, "announced", 2_000);
    v2.group = "g2".into();
    v2.assignment = Some("a1".into());
    let rows = OfficeRows {
        enterprises: vec![(
            "hebei".into(),
            E1.into(),
            "Jia Works".into(),
            Sector::Gas.code().into(),
        )],
        visits: vec![
            visit("v1", Some(E1), Sector::Gas, "covert", 1_000),
            v2,
            visit("v3", Some(E2), Sector::FireSafety, "announced", 3_000),
            visit("v4", None, Sector::Gas, "covert", 3_500),
        ],
        findings: vec![
            (
                "v1".into(),
                "f1".into(),
                "major".into(),
                1_100,
                Some("i1".into()),
            ),
            (
                "v2".into(),
                "f2".into(),
                "general".into(),
                2_100,
                Some("i1".into()),
            ),
            ("v2".into(), "f3".into(), "general".into(), 2_200, None),
            (
                "v3".into(),
                "f4".into(),
                "general".into(),
                3_100,
                Some("i2".into()),
            ),
        ],
        cases: vec![
            (
                "c1".into(),
                "v1".into(),
                "f1".into(),
                "major".into(),
                "open".into(),
                1_100,
                Some(5_000),
            ),
            (
                "c2".into(),
                "v2".into(),
                "f2".into(),
                "general".into(),
                "closed".into(),
                2_100,
                None,
            ),
            (
                "c3".into(),
                "v3".into(),
                "f4".into(),
                "general".into(),
                "open".into(),
                3_100,
                Some(9_000),
            ),
        ],
        merges: vec![
            ("hebei".into(), "Bing Shop".into(), E2.into(), 10, false),
            ("hebei".into(), "Old Name".into(), E1.into(), 10, true),
        ],
    };
    let store = storage.supervision_store();
    store.write_office_rows(&rows, None).await.expect("rows");
    let before_leads = store
        .risk_update(&whole("hebei"), None, 300)
        .await
        .expect("before the leads");
    let leads = storage.lead_store();
    for (id, site, received_on) in [
        ("l1", "Bing Shop", 3_000),
        ("l2", "Elsewhere", 4_000),
        ("l3", "Old Name", 4_500),
    ] {
        leads
            .insert_lead(&NewLead {
                id: id.into(),
                receipt_hash: [id.as_bytes()[1]; 32],
                region: "hebei".into(),
                sector: None,
                site: site.into(),
                address: String::new(),
                description: "seen".into(),
                received_on,
            })
            .await
            .expect("lead");
    }
    leads
        .triage_lead(
            "l2",
            &LeadTriage {
                assignment: Some("a1".into()),
                note: None,
                by: "ann".into(),
            },
        )
        .await
        .expect("triage");
    let e1 = Facts {
        known: Gathered {
            credit_code: E1.into(),
            registered: true,
            name: "Jia Works".into(),
            sector: Sector::Gas.code().into(),
            group: "g2".into(),
            last_visit: Some(2_000),
            last_covert: Some(1_000),
            ..Gathered::default()
        },
        major_found: vec![1_100],
        open_deadlines: vec![5_000],
        item_visits: vec![vec![1_100, 2_100]],
        leads_received: vec![4_000],
    };
    let e2 = Facts {
        known: Gathered {
            credit_code: E2.into(),
            registered: false,
            name: "site of v3".into(),
            sector: Sector::FireSafety.code().into(),
            group: "g1".into(),
            last_visit: Some(3_000),
            ..Gathered::default()
        },
        open_deadlines: vec![9_000],
        item_visits: vec![vec![3_100]],
        leads_received: vec![3_000],
        ..Facts::default()
    };
    // The leads name the enterprises they are linked to, by the merge and by the visit.
    let after_leads = store
        .risk_update(&whole("hebei"), Some(before_leads.at), 300)
        .await
        .expect("after the leads");
    let RiskRead::Codes(named) = after_leads.read else {
        panic!("read one by one: {:?}", after_leads.read);
    };
    let named = sorted(
        named
            .into_iter()
            .filter_map(|(code, f)| f.map(|f| (code, f)))
            .collect(),
    );
    assert_eq!(
        named,
        HashMap::from([(E1.to_owned(), e1.clone()), (E2.to_owned(), e2.clone())])
    );
    let facts = sorted(
        store
            .risk_facts(&whole("hebei"), None)
            .await
            .expect("facts"),
    );
    assert_eq!(
        facts,
        HashMap::from([(E1.to_owned(), e1.clone()), (E2.to_owned(), e2.clone())])
    );
    let one = sorted(
        store
            .risk_facts(&whole("hebei"), Some(E2))
            .await
            .expect("one"),
    );
    assert_eq!(one, HashMap::from([(E2.to_owned(), e2)]));
    // A gas department sees neither the fire-safety visit nor its hazard.
    let gas = |unsectored| RowFilter::Region {
        region: "hebei".into(),
        sectors: Some(SectorRows {
            sectors: vec![Sector::Gas],
            unsectored,
        }),
    };
    let department = RiskView {
        region: "hebei".into(),
        rows: gas(false),
        lead_rows: gas(true),
    };
    let seen = sorted(store.risk_facts(&department, None).await.expect("gas"));
    assert_eq!(seen, HashMap::from([(E1.to_owned(), e1)]));
    assert!(
        store
            .risk_facts(&whole("tianjin"), None)
            .await
            .expect("other region")
            .is_empty()
    );
    let hazards = store
        .hazard_counts(&RowFilter::region("hebei"), 6_000)
        .await
        .expect("hazards");
    assert_eq!(
        hazards,
        HashMap::from([(E1.to_owned(), (1, 1)), (E2.to_owned(), (1, 0))])
    );
    assert_eq!(
        store.visible_name(&whole("hebei"), E2).await.expect("name"),
        Some("site of v3".into())
    );
    assert_eq!(
        store.visible_name(&department, E2).await.expect("name"),
        None
    );
}

/// A view brought up to date reads again only the enterprises of its region written since
/// its position, and nothing when nothing was.
pub async fn a_risk_update_reads_what_changed_since_its_position(storage: &dyn SyncStorage) {
    let store = storage.supervision_store();
    let view = whole("hebei");
    let first = store.risk_update(&view, None, 300).await.expect("first");
    assert!(matches!(first.read, RiskRead::Whole(ref f) if f.is_empty()));
    let rows = |v: VisitFixture| OfficeRows {
        visits: vec![v],
        ..OfficeRows::default()
    };
    store
        .write_office_rows(&rows(visit("v1", Some(E1), Sector::Gas, "covert", 1)), None)
        .await
        .expect("visit");
    let mut elsewhere = visit("v2", Some(E2), Sector::Gas, "covert", 1);
    elsewhere.region = "tianjin".into();
    store
        .write_office_rows(&rows(elsewhere), None)
        .await
        .expect("visit elsewhere");
    let second = store
        .risk_update(&view, Some(first.at.clone()), 300)
        .await
        .expect("second");
    assert!(second.at > first.at);
    let RiskRead::Codes(codes) = second.read else {
        panic!("read one by one: {:?}", second.read);
    };
    assert_eq!(codes.len(), 1, "only the region's enterprise");
    assert_eq!(codes[0].0, E1);
    assert_eq!(
        codes[0].1.as_ref().map(|f| f.known.last_covert),
        Some(Some(1))
    );
    let third = store
        .risk_update(&view, Some(second.at), 300)
        .await
        .expect("third");
    // Nothing new, whatever else the cluster runs meanwhile.
    assert!(reads_nothing(&third.read), "{:?}", third.read);
    store
        .write_office_rows(&rows(visit("v3", Some(E2), Sector::Gas, "covert", 1)), None)
        .await
        .expect("visit");
    let many = store
        .risk_update(&view, Some(third.at), 0)
        .await
        .expect("many");
    assert!(matches!(many.read, RiskRead::Whole(ref f) if f.len() == 2));
}

async fn open_many(open: &Processes, n: usize) -> Vec<Arc<dyn SyncStorage>> {
    join_all((0..n).map(|_| open())).await
}

/// Processes adding one enterprise to a list at once open one entry with one audit row; the
/// others are told it is on the list. Removing it at once closes it once.
pub async fn processes_adding_one_list_entry_at_once_add_it_once(open: &Processes) {
    let storages = open_many(open, 4).await;
    let added = join_all(storages.iter().enumerate().map(|(i, s)| {
        let store = s.supervision_store();
        async move {
            store
                .add_to_list(SupervisionList::Blacklist, &entry(E1, &format!("u{i}"), 10))
                .await
        }
    }))
    .await;
    let ids: Vec<i64> = added
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(ids.len(), 1, "{added:?}");
    assert!(
        added
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StorageError::Conflict(_)))),
        "{added:?}"
    );
    let removed = join_all(storages.iter().enumerate().map(|(i, s)| {
        let store = s.supervision_store();
        let id = ids[0];
        async move {
            store
                .remove_from_list(
                    SupervisionList::Blacklist,
                    id,
                    &removal(&format!("u{i}"), 20),
                )
                .await
        }
    }))
    .await;
    assert_eq!(
        removed.iter().filter(|r| r.is_ok()).count(),
        1,
        "{removed:?}"
    );
    assert!(
        removed
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(StorageError::Conflict(_)))),
        "{removed:?}"
    );
    let audit = storages[0]
        .supervision_store()
        .audit_rows(&RowFilter::region("hebei"))
        .await
        .expect("audit");
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["remove", "add"]);
    for s in &storages {
        s.close().await.expect("close");
    }
}

/// Whether an update read no enterprise (the position may still have moved: other writers of
/// the database or the cluster).
fn reads_nothing(read: &RiskRead) -> bool {
    match read {
        RiskRead::Fresh => true,
        RiskRead::Codes(codes) => codes.is_empty(),
        RiskRead::Whole(_) => false,
    }
}

/// Three processes' storages and their supervision stores.
async fn three_processes(
    open: &Processes,
) -> (Vec<Arc<dyn SyncStorage>>, [Arc<dyn SupervisionStore>; 3]) {
    let storages = open_many(open, 3).await;
    let stores = [0, 1, 2].map(|i| storages[i].supervision_store());
    (storages, stores)
}

/// Office rows of these visits alone.
fn of_visits(visits: Vec<VisitFixture>) -> OfficeRows {
    OfficeRows {
        visits,
        ..OfficeRows::default()
    }
}

/// Writes `rows` on `store` in a transaction held open: returns once the rows are in it, with
/// the write's task and the sender that lets it commit.
async fn hold_write(
    store: Arc<dyn SupervisionStore>,
    rows: OfficeRows,
) -> (
    tokio::task::JoinHandle<StorageResult<()>>,
    tokio::sync::oneshot::Sender<()>,
) {
    let (written, was_written) = tokio::sync::oneshot::channel();
    let (commit, committing) = tokio::sync::oneshot::channel();
    let held = tokio::spawn(async move {
        store
            .write_office_rows(
                &rows,
                Some(HeldWrite {
                    written,
                    commit: committing,
                }),
            )
            .await
    });
    was_written.await.expect("the slow write is in the log");
    (held, commit)
}

/// A write that took its place in the log first but commits after a later one, read between
/// the two commits by another process: the reader's next update still reads its enterprise.
pub async fn a_risk_change_committed_after_a_later_one_is_still_read(open: &Processes) {
    let (storages, [slow, fast, reader]) = three_processes(open).await;
    let view = whole("hebei");
    let (held, commit) = hold_write(
        slow,
        of_visits(vec![visit("early", Some(E1), Sector::Gas, "covert", 1)]),
    )
    .await;
    fast.write_office_rows(
        &of_visits(vec![visit("late", Some(E2), Sector::Gas, "covert", 2)]),
        None,
    )
    .await
    .expect("the later write");
    let between = reader.risk_update(&view, None, 300).await.expect("between");
    let RiskRead::Whole(seen) = &between.read else {
        panic!("first read is whole");
    };
    assert!(seen.contains_key(E2), "the committed write is read");
    assert!(!seen.contains_key(E1), "the write in flight is not");
    commit.send(()).expect("commit");
    held.await.expect("task").expect("the slow write commits");
    let after = reader
        .risk_update(&view, Some(between.at), 300)
        .await
        .expect("after");
    let RiskRead::Codes(codes) = after.read else {
        panic!("read one by one: {:?}", after.read);
    };
    let e1 = codes.iter().find(|(code, _)| code == E1);
    assert!(
        e1.is_some_and(|(_, f)| f.is_some()),
        "the slow write's enterprise is read: {codes:?}"
    );
    for s in &storages {
        s.close().await.expect("close");
    }
}

/// A write in flight in another region while a view is read, then kept open: the view's next
/// updates read nothing again (the changes after a position are those of the writers in
/// flight then, which here wrote none of the region's, and not every change after the oldest
/// of them), and once it commits, still nothing of the view's region.
pub async fn a_write_in_flight_elsewhere_makes_a_view_read_nothing_again(open: &Processes) {
    let (storages, [slow, fast, reader]) = three_processes(open).await;
    let view = whole("hebei");
    let start = reader.risk_update(&view, None, 300).await.expect("start");
    let mut elsewhere = visit("elsewhere", Some(E2), Sector::Gas, "covert", 1);
    elsewhere.region = "tianjin".into();
    let (held, commit) = hold_write(slow, of_visits(vec![elsewhere])).await;
    fast.write_office_rows(
        &of_visits(vec![visit("here", Some(E1), Sector::Gas, "covert", 2)]),
        None,
    )
    .await
    .expect("the region's write");
    let first = reader
        .risk_update(&view, Some(start.at), 300)
        .await
        .expect("first");
    let RiskRead::Codes(codes) = &first.read else {
        panic!("read one by one: {:?}", first.read);
    };
    assert_eq!(
        codes.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        [E1]
    );
    let again = reader
        .risk_update(&view, Some(first.at.clone()), 300)
        .await
        .expect("again");
    assert!(
        reads_nothing(&again.read),
        "nothing read again while the other write is in flight: {:?}",
        again.read
    );
    commit.send(()).expect("commit");
    held.await.expect("task").expect("the slow write commits");
    let after = reader
        .risk_update(&view, Some(again.at), 300)
        .await
        .expect("after");
    assert!(
        reads_nothing(&after.read),
        "the other region's change is not the view's: {:?}",
        after.read
    );
    for s in &storages {
        s.close().await.expect("close");
    }
}

/// One process prunes the changes it has read past while another, behind it, has not read
/// them: the one behind reads its view whole, and so misses nothing.
pub async fn pruning_by_one_process_never_loses_a_change_another_has_not_read(open: &Processes) {
    let storages = open_many(open, 2).await;
    let (pruner, behind) = (
        storages[0].supervision_store(),
        storages[1].supervision_store(),
    );
    let view = whole("hebei");
    let write = |id: &str, code: &str| OfficeRows {
        visits: vec![visit(id, Some(code), Sector::Gas, "covert", 1)],
        ..OfficeRows::default()
    };
    pruner
        .write_office_rows(&write("v0", E1), None)
        .await
        .expect("visit");
    let old = behind.risk_update(&view, None, 300).await.expect("behind");
    for i in 1..=5 {
        pruner
            .write_office_rows(&write(&format!("v{i}"), E2), None)
            .await
            .expect("visit");
    }
    pruner
        .write_office_rows(&write("v6", E1), None)
        .await
        .expect("visit");
    let read = pruner.risk_update(&view, None, 300).await.expect("pruner");
    let mut below = 0;
    while below < read.at.seq {
        let next = pruner
            .prune_risk_changes(read.at.clone(), 2)
            .await
            .expect("prune");
        if next == below {
            break;
        }
        below = next;
    }
    let caught_up = behind
        .risk_update(&view, Some(old.at), 300)
        .await
        .expect("caught up");
    // Read whole (what it had not read was deleted), or one by one if nothing it had not
    // read was deleted (an older transaction of the cluster held the pruning back).
    match caught_up.read {
        RiskRead::Whole(facts) => assert!(facts.contains_key(E2), "{facts:?}"),
        RiskRead::Codes(codes) => {
            let names: Vec<&str> = codes.iter().map(|(c, _)| c.as_str()).collect();
            assert!(names.contains(&E1) && names.contains(&E2), "{names:?}");
        }
        RiskRead::Fresh => panic!("changes were missed"),
    }
    let up_to_date = pruner
        .risk_update(&view, Some(read.at), 300)
        .await
        .expect("pruner again");
    assert!(
        !matches!(up_to_date.read, RiskRead::Whole(_)),
        "the pruner had read what it deleted"
    );
    for s in &storages {
        s.close().await.expect("close");
    }
}
