//! Suite cases for the office index ([`OfficeIndexStore`](crate::storage::OfficeIndexStore)):
//! visits, collections, the ledger's entries and the period figures read within a reader's
//! rows, with the same answers on every backend; a store of index rows written whole or not
//! at all and only from the position its writer read; and processes refreshing at once never
//! leaving a row read earlier over one read later.

use std::sync::Arc;

use futures_util::future::join_all;
use siteproof_core::{RecordKind, Scope, Sector};

use super::{Processes, push, record};
use crate::storage::{
    CaseRow, CollectionRow, FindingEntry, FindingRow, HazardCounts, IndexRows, LedgerFilter,
    OfficeIndexStore, PeriodFigures, ReinspectionRow, RowFilter, SectorCount, SectorRows,
    SyncStorage, VisitCounts, VisitFilter, VisitRow,
};

/// A visit's row.
fn visit(
    id: &str,
    (region, group): (&str, &str),
    sector: &str,
    mode: &str,
    started_at: i64,
    ended: bool,
) -> VisitRow {
    VisitRow {
        id: id.into(),
        region: region.into(),
        group: group.into(),
        site: format!("site of {id}"),
        sector: sector.into(),
        mode: mode.into(),
        started_at,
        ended_at: ended.then_some(started_at + 500),
        major: 0,
        general: 0,
        conflicts: 0,
        assignment: None,
        credit_code: None,
    }
}

fn finding(id: &str, severity: &str, at: i64, fixed_on_spot: bool) -> FindingRow {
    FindingRow {
        id: id.into(),
        case_id: format!("case-{id}"),
        severity: severity.into(),
        at,
        description: format!("hazard {id}"),
        fixed_on_spot,
        item: None,
    }
}

/// A visit's index rows, its finding counts taken from `findings`.
fn visit_rows(
    mut v: VisitRow,
    findings: Vec<FindingRow>,
    results: Vec<ReinspectionRow>,
) -> IndexRows {
    let count = |s: &str| i64::try_from(findings.iter().filter(|f| f.severity == s).count());
    v.major = count("major").expect("few");
    v.general = count("general").expect("few");
    IndexRows::Visit(v, findings, results)
}

fn collection(id: &str, (region, group): (&str, &str), written_at: i64) -> IndexRows {
    IndexRows::Collection(CollectionRow {
        id: id.into(),
        region: region.into(),
        group: group.into(),
        kind: "work_update".into(),
        title: format!("title {id}"),
        body: format!("body {id}"),
        author: "王".into(),
        written_at,
    })
}

fn result(id: &str, case: &str, visit: &str, at: i64) -> ReinspectionRow {
    ReinspectionRow {
        id: id.into(),
        case_id: case.into(),
        visit_id: visit.into(),
        outcome: "rectified".into(),
        note: Some(format!("note {id}")),
        media: vec!["aa".into(), "bb".into()],
        by: "李".into(),
        at,
    }
}

/// The office's case record of finding `finding` of hebei g1's visit `visit`: rectifying,
/// its deadline at 5000.
fn rectifying(visit: &str, finding: &str, sector: &str) -> CaseRow {
    CaseRow {
        id: format!("case-{finding}"),
        region: "hebei".into(),
        group: "g1".into(),
        visit_id: visit.into(),
        finding_id: finding.into(),
        site: format!("site of {visit}"),
        sector: sector.into(),
        severity: "general".into(),
        description: format!("hazard {finding}"),
        status: "rectifying".into(),
        unit: Some("厂".into()),
        deadline: Some(5_000),
        escalated: false,
        // Replaced by when the finding was made, if the ledger has its entry.
        opened_at: 9_999,
        closed_at: None,
        fixed_on_spot: false,
        recorded: true,
    }
}

const G1: (&str, &str) = ("hebei", "g1");
const G2: (&str, &str) = ("hebei", "g2");
const TIANJIN: (&str, &str) = ("tianjin", "g9");
/// When the ledger is read: after the deadline of `case-fb2`.
const NOW: i64 = 6_000;

/// The index every reading case starts from, stored as one refresh would:
///
/// | visit | scope | sector | mode | started | findings |
/// | --- | --- | --- | --- | --- | --- |
/// | va | hebei g1 | gas | announced | 1000 (ended) | fa1 major |
/// | vb | hebei g1 | fire_safety | covert | 2000 (in progress) | fb1 general fixed on the spot, fb2 general |
/// | vc | hebei g2 | gas | covert | 3000 (ended) | |
/// | vd | tianjin g9 | gas | announced | 2500 (ended) | fd1 major |
/// | ve | hebei g1 | gas | announced | 4000 (ended) | result r1 on case-fb2 |
/// | vf | hebei g2 | gas | announced | 4500 (ended) | result r2 on case-fb2 (another group) |
///
/// va and vb were started from assignment a1; the office's case record of fb2 is
/// rectifying with a deadline at 5000 (overdue at [`NOW`]).
async fn seeded(index: &dyn OfficeIndexStore) {
    let mut va = visit("va", G1, "gas", "announced", 1_000, true);
    va.assignment = Some("a1".into());
    let mut vb = visit("vb", G1, "fire_safety", "covert", 2_000, false);
    vb.assignment = Some("a1".into());
    let vb_findings = vec![
        finding("fb1", "general", 2_000, true),
        finding("fb2", "general", 2_100, false),
    ];
    let fb2 = rectifying("vb", "fb2", "fire_safety");
    let rows = vec![
        visit_rows(va, vec![finding("fa1", "major", 1_000, false)], vec![]),
        visit_rows(vb.clone(), vb_findings.clone(), vec![]),
        IndexRows::Case(fb2),
        visit_rows(
            visit("vc", G2, "gas", "covert", 3_000, true),
            vec![],
            vec![],
        ),
        visit_rows(
            visit("vd", TIANJIN, "gas", "announced", 2_500, true),
            vec![finding("fd1", "major", 2_500, false)],
            vec![],
        ),
        visit_rows(
            visit("ve", G1, "gas", "announced", 4_000, true),
            vec![],
            vec![result("r1", "case-fb2", "ve", 4_000)],
        ),
        visit_rows(
            visit("vf", G2, "gas", "announced", 4_500, true),
            vec![],
            vec![result("r2", "case-fb2", "vf", 4_100)],
        ),
        collection("c1", G1, 10),
        collection("c2", G2, 20),
        collection("c3", TIANJIN, 30),
    ];
    assert!(index.store_index(&rows, 0, 0).await.expect("store"));
    // The visit read again (a later refresh): the case record keeps its entry.
    let again = vec![visit_rows(vb, vb_findings, vec![])];
    assert!(index.store_index(&again, 0, 0).await.expect("store again"));
}

fn sectors(sectors: Vec<Sector>) -> RowFilter {
    RowFilter::Region {
        region: "hebei".into(),
        sectors: Some(SectorRows {
            sectors,
            unsectored: false,
        }),
    }
}

fn ids(rows: &[VisitRow]) -> Vec<&str> {
    rows.iter().map(|v| v.id.as_str()).collect()
}

/// Visits are listed newest first within the reader's region and sectors, each filter
/// narrows them, the counts cover every match whatever the page, and one visit, an
/// assignment's visits and the collections are read within the same rows.
pub async fn office_visits_are_listed_within_the_readers_rows_by_filter(storage: &dyn SyncStorage) {
    let index = storage.office_index_store();
    seeded(&*index).await;
    let hebei = RowFilter::region("hebei");
    let gas = sectors(vec![Sector::Gas]);
    let list = |rows: RowFilter, filter: VisitFilter, limit: i64, offset: i64| {
        let index = Arc::clone(&index);
        async move {
            index
                .visits(&rows, &filter, limit, offset)
                .await
                .expect("visits")
        }
    };
    let all = VisitFilter::default();
    let (page, counts) = list(hebei.clone(), all.clone(), 50, 0).await;
    assert_eq!(ids(&page), ["vf", "ve", "vc", "vb", "va"]);
    assert_eq!(
        counts,
        VisitCounts {
            visits: 5,
            covert: 2,
            major: 1,
            general: 2
        }
    );
    assert_eq!(page[3].ended_at, None);
    assert_eq!(page[4].assignment.as_deref(), Some("a1"));
    let (page, counts) = list(gas.clone(), all.clone(), 50, 0).await;
    assert_eq!(ids(&page), ["vf", "ve", "vc", "va"], "one sector");
    assert_eq!(
        counts,
        VisitCounts {
            visits: 4,
            covert: 1,
            major: 1,
            general: 0
        }
    );
    let (page, counts) = list(hebei.clone(), all.clone(), 2, 1).await;
    assert_eq!(ids(&page), ["ve", "vc"], "a page");
    assert_eq!(counts.visits, 5, "counted over every match");
    let (page, counts) = list(RowFilter::Nothing, all.clone(), 50, 0).await;
    assert!(page.is_empty());
    assert_eq!(counts, VisitCounts::default());
    for (filter, expected) in [
        (
            VisitFilter {
                mode: Some("covert".into()),
                ..VisitFilter::default()
            },
            vec!["vc", "vb"],
        ),
        (
            VisitFilter {
                severity: Some("major".into()),
                ..VisitFilter::default()
            },
            vec!["va"],
        ),
        (
            VisitFilter {
                severity: Some("general".into()),
                ..VisitFilter::default()
            },
            vec!["vb"],
        ),
        (
            VisitFilter {
                status: Some("in_progress".into()),
                ..VisitFilter::default()
            },
            vec!["vb"],
        ),
        (
            VisitFilter {
                status: Some("ended".into()),
                group: Some("g1".into()),
                ..VisitFilter::default()
            },
            vec!["ve", "va"],
        ),
        (
            VisitFilter {
                sector: Some("fire_safety".into()),
                ..VisitFilter::default()
            },
            vec!["vb"],
        ),
        (
            VisitFilter {
                from: Some(2_000),
                to: Some(4_000),
                ..VisitFilter::default()
            },
            vec!["vc", "vb"],
        ),
    ] {
        let (page, counts) = list(hebei.clone(), filter.clone(), 50, 0).await;
        assert_eq!(ids(&page), expected, "{filter:?}");
        assert_eq!(counts.visits, i64::try_from(expected.len()).expect("few"));
    }

    assert!(index.visit(&hebei, "vd").await.expect("visit").is_none());
    assert!(index.visit(&gas, "vb").await.expect("visit").is_none());
    let vd = index
        .visit(&RowFilter::region("tianjin"), "vd")
        .await
        .expect("visit")
        .expect("tianjin sees its visit");
    assert_eq!(
        (vd.major, vd.general, vd.site.as_str()),
        (1, 0, "site of vd")
    );

    let of_a1 = index
        .visits_of_assignment(&hebei, "a1")
        .await
        .expect("assignment's visits");
    assert_eq!(ids(&of_a1), ["va", "vb"], "oldest first");
    let of_a1 = index
        .visits_of_assignment(&gas, "a1")
        .await
        .expect("visits");
    assert_eq!(ids(&of_a1), ["va"]);
    let counts = index
        .visits_per_assignment(&["a1".into(), "a2".into()])
        .await
        .expect("counts");
    assert_eq!(counts.len(), 1, "an assignment with no visit is absent");
    assert_eq!(counts.get("a1"), Some(&2));

    let collections = |rows: RowFilter| {
        let index = Arc::clone(&index);
        async move {
            index
                .collections(&rows)
                .await
                .expect("collections")
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(collections(hebei.clone()).await, ["c2", "c1"]);
    assert_eq!(collections(RowFilter::region("tianjin")).await, ["c3"]);
    assert!(collections(RowFilter::Nothing).await.is_empty());
    let c1 = index.collections(&hebei).await.expect("collections").pop();
    assert_eq!(
        c1.map(|c| (c.group, c.kind, c.title, c.body, c.author, c.written_at)),
        Some((
            "g1".into(),
            "work_update".into(),
            "title c1".into(),
            "body c1".into(),
            "王".into(),
            10
        ))
    );
}

/// The ledger holds an entry per finding (the office's case record where it wrote one),
/// listed newest found first within the reader's rows and narrowed by each filter; counts
/// agree with the lists; a visit's entries and an entry's re-inspection results (of its
/// own group only) are read back.
pub async fn the_ledger_lists_and_counts_entries_within_the_readers_rows_by_filter(
    storage: &dyn SyncStorage,
) {
    let index = storage.office_index_store();
    seeded(&*index).await;
    let hebei = RowFilter::region("hebei");
    let entries = |rows: RowFilter, filter: LedgerFilter, now: i64| {
        let index = Arc::clone(&index);
        async move {
            let found = index
                .ledger(&rows, &filter, now, 100)
                .await
                .expect("ledger");
            let count = index
                .ledger_count(&rows, &filter, now)
                .await
                .expect("count");
            assert_eq!(
                usize::try_from(count).expect("count"),
                found.len(),
                "{filter:?}"
            );
            found.into_iter().map(|c| c.id).collect::<Vec<_>>()
        }
    };
    let all = LedgerFilter::default();
    assert_eq!(
        entries(hebei.clone(), all.clone(), NOW).await,
        ["case-fb2", "case-fb1", "case-fa1"]
    );
    let found = index.ledger(&hebei, &all, NOW, 100).await.expect("ledger");
    let fb2 = &found[0];
    assert_eq!(
        (
            fb2.status.as_str(),
            fb2.opened_at,
            fb2.recorded,
            fb2.deadline
        ),
        ("rectifying", 2_100, true, Some(5_000)),
        "the case record's row, found when its finding was"
    );
    let fb1 = &found[1];
    assert_eq!(
        (fb1.status.as_str(), fb1.fixed_on_spot, fb1.recorded),
        ("fixed_on_spot", true, false),
        "an entry following its finding"
    );
    let limited = index.ledger(&hebei, &all, NOW, 1).await.expect("ledger");
    assert_eq!(limited.len(), 1);
    for (filter, expected) in [
        (
            LedgerFilter {
                overdue: true,
                ..LedgerFilter::default()
            },
            vec!["case-fb2"],
        ),
        (
            LedgerFilter {
                listed: true,
                ..LedgerFilter::default()
            },
            vec!["case-fb2", "case-fa1"],
        ),
        (
            LedgerFilter {
                status: Some("fixed_on_spot".into()),
                ..LedgerFilter::default()
            },
            vec!["case-fb1"],
        ),
        (
            LedgerFilter {
                severity: Some("major".into()),
                ..LedgerFilter::default()
            },
            vec!["case-fa1"],
        ),
        (
            LedgerFilter {
                sector: Some("fire_safety".into()),
                ..LedgerFilter::default()
            },
            vec!["case-fb2", "case-fb1"],
        ),
        (
            LedgerFilter {
                covert: true,
                ..LedgerFilter::default()
            },
            vec!["case-fb2", "case-fb1"],
        ),
        (
            LedgerFilter {
                group: Some("g2".into()),
                ..LedgerFilter::default()
            },
            vec![],
        ),
        (
            LedgerFilter {
                from: Some(2_000),
                ..LedgerFilter::default()
            },
            vec!["case-fb2", "case-fb1"],
        ),
        (
            LedgerFilter {
                to: Some(2_000),
                ..LedgerFilter::default()
            },
            vec!["case-fa1"],
        ),
    ] {
        assert_eq!(
            entries(hebei.clone(), filter.clone(), NOW).await,
            expected,
            "{filter:?}"
        );
    }
    let overdue = LedgerFilter {
        overdue: true,
        ..LedgerFilter::default()
    };
    assert!(
        entries(hebei.clone(), overdue, 4_000).await.is_empty(),
        "not overdue before its deadline"
    );
    assert_eq!(
        entries(sectors(vec![Sector::Gas]), all.clone(), NOW).await,
        ["case-fa1"]
    );
    assert_eq!(
        entries(RowFilter::region("tianjin"), all.clone(), NOW).await,
        ["case-fd1"]
    );
    assert!(entries(RowFilter::Nothing, all, NOW).await.is_empty());

    let mut of_vb = index.entries_of_visit("vb").await.expect("entries");
    of_vb.sort_by(|a, b| a.finding_id.cmp(&b.finding_id));
    assert_eq!(
        of_vb,
        [
            FindingEntry {
                finding_id: "fb1".into(),
                case_id: "case-fb1".into(),
                status: "fixed_on_spot".into(),
            },
            FindingEntry {
                finding_id: "fb2".into(),
                case_id: "case-fb2".into(),
                status: "rectifying".into(),
            }
        ]
    );
    assert_eq!(
        index.reinspections_of("case-fb2").await.expect("results"),
        [result("r1", "case-fb2", "ve", 4_000)],
        "only results of the entry's own group"
    );
    assert!(
        index
            .reinspections_of("case-fa1")
            .await
            .expect("results")
            .is_empty()
    );
}

/// A period's figures count the visits started and the hazards found in it within the
/// reader's rows, the hazards as they stand now.
pub async fn period_figures_count_within_the_readers_rows(storage: &dyn SyncStorage) {
    let index = storage.office_index_store();
    seeded(&*index).await;
    let figures = index
        .period_figures(&RowFilter::region("hebei"), 1_000, 3_000, NOW)
        .await
        .expect("figures");
    assert_eq!(
        figures,
        PeriodFigures {
            visits: 2,
            covert: 1,
            by_sector: vec![
                SectorCount {
                    sector: "fire_safety".into(),
                    major: 0,
                    general: 2
                },
                SectorCount {
                    sector: "gas".into(),
                    major: 1,
                    general: 0
                },
            ],
            hazards: HazardCounts {
                found: 3,
                fixed_on_spot: 1,
                rectified: 0,
                closed: 0,
                overdue: 1,
                listed: 2,
            },
        }
    );
    let gas = index
        .period_figures(&sectors(vec![Sector::Gas]), 1_000, 3_000, NOW)
        .await
        .expect("figures");
    assert_eq!((gas.visits, gas.covert), (1, 0));
    assert_eq!(gas.hazards.found, 1);
    assert_eq!(gas.hazards.listed, 1);
    let later = index
        .period_figures(&RowFilter::region("hebei"), 3_000, 5_000, NOW)
        .await
        .expect("figures");
    assert_eq!((later.visits, later.covert), (3, 1));
    assert!(later.by_sector.is_empty());
    assert_eq!(later.hazards, HazardCounts::default());
    let none = index
        .period_figures(&RowFilter::Nothing, 0, 10_000, NOW)
        .await
        .expect("figures");
    assert_eq!(none, PeriodFigures::default());
}

/// The index follows the log: the records of the kinds it keeps changed after a position
/// are found; a store writes every row and moves the position in one transaction, or
/// nothing (a failing row, or a position moved since its writer read it); the position
/// never moves back.
pub async fn index_rows_are_stored_whole_from_the_position_read(storage: &dyn SyncStorage) {
    let index = storage.office_index_store();
    let scope = Scope::group("hebei", "g1");
    let start = index.index_position().await.expect("position");
    assert_eq!(start.indexed, 0);
    let kept: Vec<_> = [RecordKind::Visit, RecordKind::Report, RecordKind::Case]
        .into_iter()
        .map(|k| record(k, scope.clone(), 2))
        .collect();
    let other = record(RecordKind::Assignment, scope.clone(), 1);
    let mut expected: Vec<String> = kept.iter().map(|r| r.header.id.to_string()).collect();
    let mut records = kept;
    records.push(other);
    push(storage, None, records).await;
    let position = index.index_position().await.expect("position");
    assert_eq!(position.indexed, 0);
    assert!(position.head >= 7, "seven changes: {position:?}");
    let mut changed = index
        .changed_records(0, position.head)
        .await
        .expect("changed");
    changed.sort();
    expected.sort();
    assert_eq!(
        changed, expected,
        "each kept record once, not the assignment"
    );
    assert!(
        index
            .changed_records(position.head, position.head + 10)
            .await
            .expect("changed")
            .is_empty()
    );

    let va = visit_rows(
        visit("va", G1, "gas", "announced", 1_000, true),
        vec![finding("fa1", "major", 1_000, false)],
        vec![result("r9", "case-fa1", "va", 1_100)],
    );
    let twice = visit_rows(
        visit("vb", G1, "gas", "announced", 2_000, true),
        vec![
            finding("fb1", "general", 2_000, false),
            finding("fb1", "general", 2_000, false),
        ],
        vec![],
    );
    let failed = index
        .store_index(
            &[
                va.clone(),
                collection("c1", G1, 10),
                IndexRows::Case(rectifying("vx", "fx", "gas")),
                twice,
            ],
            0,
            position.head,
        )
        .await;
    assert!(failed.is_err(), "one finding stored twice fails the store");
    let hebei = RowFilter::region("hebei");
    assert!(index.visit(&hebei, "va").await.expect("visit").is_none());
    assert!(
        index
            .collections(&hebei)
            .await
            .expect("collections")
            .is_empty()
    );
    assert_eq!(
        index
            .ledger_count(&hebei, &LedgerFilter::default(), NOW)
            .await
            .expect("count"),
        0,
        "no entry of the failed store"
    );
    let results: Vec<ReinspectionRow> = index.reinspections_of("case-fa1").await.expect("results");
    assert_eq!(results, [], "no result of the failed store");
    assert_eq!(index.index_position().await.expect("position").indexed, 0);

    assert!(
        !index
            .store_index(std::slice::from_ref(&va), 1, position.head)
            .await
            .expect("store"),
        "written from a position the index is not at"
    );
    assert!(index.visit(&hebei, "va").await.expect("visit").is_none());

    assert!(
        index
            .store_index(std::slice::from_ref(&va), 0, position.head)
            .await
            .expect("store")
    );
    assert!(index.visit(&hebei, "va").await.expect("visit").is_some());
    assert_eq!(
        index
            .ledger_count(&hebei, &LedgerFilter::default(), NOW)
            .await
            .expect("count"),
        1,
        "the finding's entry with its visit"
    );
    assert_eq!(
        index.reinspections_of("case-fa1").await.expect("results"),
        [result("r9", "case-fa1", "va", 1_100)]
    );
    assert_eq!(
        index.index_position().await.expect("position").indexed,
        position.head
    );
    assert!(
        index
            .store_index(&[], position.head, 1)
            .await
            .expect("store")
    );
    assert_eq!(
        index.index_position().await.expect("position").indexed,
        position.head,
        "never back"
    );
}

/// Two processes refresh the index at once: one read the log before a visit changed, the
/// other after. Whichever stores first, the newer rows stay and the position claims no
/// change the stored rows do not hold; of many stores from one position, one is written.
pub async fn processes_refreshing_the_index_at_once_keep_the_newer_rows(open: &Processes) {
    let (a, b) = (open().await, open().await);
    let scope = Scope::group("hebei", "g1");
    let hebei = RowFilter::region("hebei");
    let (ia, ib) = (a.office_index_store(), b.office_index_store());
    let version = |general: usize| {
        let findings = (0..general)
            .map(|i| finding(&format!("f{i}"), "general", 1_000, false))
            .collect();
        visit_rows(
            visit("v1", G1, "gas", "announced", 1_000, false),
            findings,
            vec![],
        )
    };
    let general = |index: Arc<dyn OfficeIndexStore>| {
        let hebei = hebei.clone();
        async move {
            let row = index.visit(&hebei, "v1").await.expect("visit");
            let entries = index
                .ledger_count(&hebei, &LedgerFilter::default(), NOW)
                .await
                .expect("count");
            (row.map(|v| v.general), entries)
        }
    };

    // The newer store first: the older one, read before it, is refused.
    push(&*a, None, vec![record(RecordKind::Visit, scope.clone(), 1)]).await;
    let older = ia.index_position().await.expect("position");
    push(&*b, None, vec![record(RecordKind::Visit, scope.clone(), 1)]).await;
    let newer = ib.index_position().await.expect("position");
    assert_eq!(older.indexed, newer.indexed);
    assert!(newer.head > older.head);
    assert!(
        ib.store_index(&[version(2)], newer.indexed, newer.head)
            .await
            .expect("newer")
    );
    assert!(
        !ia.store_index(&[version(1)], older.indexed, older.head)
            .await
            .expect("older"),
        "a row read earlier never replaces one read later"
    );
    assert_eq!(general(Arc::clone(&ia)).await, (Some(2), 2));
    assert_eq!(general(Arc::clone(&ib)).await, (Some(2), 2));
    assert_eq!(
        ia.index_position().await.expect("position").indexed,
        newer.head
    );

    // The older store first: it claims only what it read, the newer one is refused, reads
    // the position again and stores what changed after it.
    push(&*a, None, vec![record(RecordKind::Visit, scope.clone(), 1)]).await;
    let older = ia.index_position().await.expect("position");
    push(&*b, None, vec![record(RecordKind::Visit, scope.clone(), 1)]).await;
    let newer = ib.index_position().await.expect("position");
    assert!(
        ia.store_index(&[version(3)], older.indexed, older.head)
            .await
            .expect("older")
    );
    assert!(
        !ib.store_index(&[version(4)], newer.indexed, newer.head)
            .await
            .expect("newer")
    );
    let again = ib.index_position().await.expect("position");
    assert_eq!(
        again.indexed, older.head,
        "the position the older store claimed"
    );
    assert!(
        again.head > again.indexed,
        "the newer change is still to index"
    );
    assert!(
        ib.store_index(&[version(4)], again.indexed, again.head)
            .await
            .expect("newer, again")
    );
    assert_eq!(general(Arc::clone(&ia)).await, (Some(4), 4));

    // Many stores from one position at once: exactly one is written.
    push(&*a, None, vec![record(RecordKind::Visit, scope.clone(), 1)]).await;
    let mut storages = vec![a, b];
    storages.push(open().await);
    let position = storages[0]
        .office_index_store()
        .index_position()
        .await
        .expect("position");
    let stores = storages.iter().flat_map(|s| {
        (0..3).map(move |i| {
            let index = s.office_index_store();
            async move {
                index
                    .store_index(&[version(5 + i)], position.indexed, position.head)
                    .await
                    .expect("store")
            }
        })
    });
    let written = join_all(stores).await;
    assert_eq!(written.iter().filter(|w| **w).count(), 1, "{written:?}");
    for s in &storages {
        s.close().await.expect("close");
    }
}
