//! Suite cases for the enterprise registry ([`EnterpriseStore`]): an import keeps one row per
//! code and every earlier name, the list searches and pages within the reader's region, an
//! enterprise's history (visits, hazards, repeat findings, leads, merges, candidates) is read
//! within what the reader may see, and a site merge sets its visits and its undo clears
//! exactly those; also by several processes at once (one merge of a site, one undo, imports
//! of one registry converging).
//!
//! The index rows the histories read (visits, findings, ledger rows) are written with
//! [`EnterpriseStore::put_index_rows_for_tests`], the leads with the
//! [`LeadStore`](crate::storage::LeadStore).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::future::join_all;
use siteproof_core::Sector;

use super::Processes;
use crate::storage::{
    CaseRow, Enterprise, EnterpriseLead, EnterpriseReader, EnterpriseStore, IndexedFinding,
    LeadTriage, NewLead, RepeatFinding, RowFilter, SectorRows, SiteMerge, StorageError,
    SyncStorage, VisitRow,
};

const ACME: &str = "91350100M000100Y43";
const BETA: &str = "91110000600037341L";

fn enterprise(code: &str, region: &str, name: &str, former: &[&str]) -> Enterprise {
    Enterprise {
        credit_code: code.into(),
        region: region.into(),
        name: name.into(),
        former_names: former.iter().map(|s| (*s).to_owned()).collect(),
        address: format!("{name} road 1"),
        sectors: vec![Sector::Gas, Sector::FireSafety],
        department: "emergency bureau".into(),
    }
}

fn visit(
    id: &str,
    region: &str,
    site: &str,
    code: Option<&str>,
    sector: &str,
    at: i64,
) -> VisitRow {
    VisitRow {
        id: id.into(),
        region: region.into(),
        group: "g1".into(),
        site: site.into(),
        sector: sector.into(),
        mode: if id.ends_with('c') {
            "covert"
        } else {
            "routine"
        }
        .into(),
        started_at: at,
        ended_at: Some(at + 5),
        major: 1,
        general: 2,
        conflicts: 0,
        assignment: None,
        credit_code: code.map(str::to_owned),
    }
}

fn finding(v: &VisitRow, id: &str, item: &str, at: i64) -> IndexedFinding {
    IndexedFinding {
        visit_id: v.id.clone(),
        finding_id: id.into(),
        region: v.region.clone(),
        group: v.group.clone(),
        sector: v.sector.clone(),
        severity: "major".into(),
        at,
        item: Some(item.into()),
    }
}

fn case(v: &VisitRow, finding: &str, status: &str, opened_at: i64) -> CaseRow {
    CaseRow {
        id: format!("case-{}-{finding}", v.id),
        region: v.region.clone(),
        group: v.group.clone(),
        visit_id: v.id.clone(),
        finding_id: finding.into(),
        site: v.site.clone(),
        sector: v.sector.clone(),
        severity: "major".into(),
        description: format!("hazard {finding}"),
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

fn lead(id: &str, site: &str, sector: Option<Sector>, day: i64) -> NewLead {
    let mut receipt_hash = [0; 32];
    receipt_hash[..id.len()].copy_from_slice(id.as_bytes());
    NewLead {
        id: id.into(),
        receipt_hash,
        region: "hebei".into(),
        sector: sector.map(|s| s.code().to_owned()),
        site: site.into(),
        address: String::new(),
        description: format!("seen at {site}"),
        received_on: day,
    }
}

fn reviewer(region: &str) -> EnterpriseReader {
    EnterpriseReader {
        registry: RowFilter::region(region),
        records: RowFilter::region(region),
        leads: RowFilter::region(region),
    }
}

/// A gas department of Hebei: gas rows only, and leads with no sector.
fn gas_department() -> EnterpriseReader {
    let sectored = |unsectored| RowFilter::Region {
        region: "hebei".into(),
        sectors: Some(SectorRows {
            sectors: vec![Sector::Gas],
            unsectored,
        }),
    };
    EnterpriseReader {
        registry: RowFilter::region("hebei"),
        records: sectored(false),
        leads: sectored(true),
    }
}

async fn names(store: &dyn EnterpriseStore, search: Option<&str>) -> (Vec<String>, i64) {
    let (rows, total) = store
        .enterprises(&reviewer("hebei"), search, 50, 0)
        .await
        .expect("list");
    (rows.into_iter().map(|r| r.enterprise.name).collect(), total)
}

/// An import adds new enterprises and replaces registered ones, keeping an earlier name as a
/// former name; the list searches names, former names and codes (a `%` or `_` in the term
/// is literal), pages by name, counts open hazards the reader may see, and never shows
/// another region's enterprises.
pub async fn the_registry_is_imported_once_per_code_and_listed_by_name(storage: &dyn SyncStorage) {
    let store = storage.enterprise_store();
    let first = [
        enterprise(ACME, "ignored", "Acme 100%", &["Acme Old"]),
        enterprise(BETA, "hebei", "Beta_Gas", &[]),
    ];
    assert_eq!(
        store
            .import_enterprises("hebei", &first, 10)
            .await
            .expect("import"),
        2
    );
    store
        .import_enterprises("shanxi", &[enterprise(ACME, "", "Acme Shanxi", &[])], 10)
        .await
        .expect("other region");
    let renamed = [enterprise(ACME, "hebei", "Acme Chemical", &[])];
    store
        .import_enterprises("hebei", &renamed, 20)
        .await
        .expect("again");
    let hebei = RowFilter::region("hebei");
    let acme = store
        .enterprise(&hebei, ACME)
        .await
        .expect("get")
        .expect("registered");
    assert_eq!(
        acme,
        enterprise(ACME, "hebei", "Acme Chemical", &["Acme 100%", "Acme Old"])
    );
    assert_eq!(store.enterprise(&hebei, "NOPE").await.expect("get"), None);
    assert_eq!(
        store
            .enterprise(&RowFilter::Nothing, ACME)
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        names(&*store, None).await,
        (vec!["Acme Chemical".into(), "Beta_Gas".into()], 2)
    );
    for (term, found) in [
        ("acme old", vec!["Acme Chemical"]),
        ("  ACME 100%", vec!["Acme Chemical"]),
        ("100%", vec!["Acme Chemical"]),
        ("%", vec!["Acme Chemical"]),
        ("a_g", vec!["Beta_Gas"]),
        ("_", vec!["Beta_Gas"]),
        ("37341l", vec!["Beta_Gas"]),
        ("shanxi", vec![]),
    ] {
        let (rows, total) = names(&*store, Some(term)).await;
        assert_eq!(rows, found, "search {term:?}");
        assert_eq!(total, found.len() as i64, "search {term:?}");
    }
    let (page, total) = store
        .enterprises(&reviewer("hebei"), None, 1, 1)
        .await
        .expect("page");
    assert_eq!(
        (page.len(), page[0].enterprise.name.as_str(), total),
        (1, "Beta_Gas", 2)
    );
    let all: Vec<String> = store
        .all_enterprises(&hebei)
        .await
        .expect("all")
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(all, ["Acme Chemical", "Beta_Gas"]);

    let gas = visit("v-gas", "hebei", "plant", Some(ACME), "gas", 100);
    let fire = visit("v-fire", "hebei", "plant", Some(ACME), "fire_safety", 200);
    let beta = visit("v-beta", "hebei", "works", Some(BETA), "gas", 300);
    store
        .put_index_rows_for_tests(
            &[gas.clone(), fire.clone(), beta.clone()],
            &[],
            &[
                case(&gas, "f1", "open", 110),
                case(&gas, "f2", "closed", 120),
                case(&fire, "f3", "rectifying", 210),
                case(&beta, "f4", "open", 310),
            ],
        )
        .await
        .expect("index rows");
    for (reader, expected) in [(reviewer("hebei"), [2, 1]), (gas_department(), [1, 1])] {
        let (rows, _) = store.enterprises(&reader, None, 50, 0).await.expect("list");
        let open: Vec<i64> = rows.iter().map(|r| r.open_hazards).collect();
        assert_eq!(open, expected, "{reader:?}");
    }
}

/// Index rows and leads around Acme (and Beta, and Acme's namesake in Shanxi), returning the
/// visits and hazards by name.
async fn acme_history_rows(storage: &dyn SyncStorage) -> Vec<VisitRow> {
    let store = storage.enterprise_store();
    store
        .import_enterprises(
            "hebei",
            &[
                enterprise(ACME, "hebei", "Acme Chemical", &["Acme Old"]),
                enterprise(BETA, "hebei", "Beta Gas", &[]),
            ],
            1,
        )
        .await
        .expect("import");
    store
        .import_enterprises("shanxi", &[enterprise(ACME, "", "Acme Shanxi", &[])], 1)
        .await
        .expect("import");
    let mut v1 = visit("v1", "hebei", "Acme Chemical plant", Some(ACME), "gas", 100);
    v1.assignment = Some("as-1".into());
    let visits = vec![
        v1,
        visit(
            "v2c",
            "hebei",
            "Acme Chemical plant",
            Some(ACME),
            "fire_safety",
            200,
        ),
        visit("v3", "hebei", "Acme Old yard", None, "gas", 300),
        visit("v4", "hebei", "Beta Gas works", Some(BETA), "gas", 400),
        visit("v5", "shanxi", "Acme Shanxi", Some(ACME), "gas", 500),
    ];
    let [v1, v2, _, v4, v5] = &visits[..] else {
        unreachable!()
    };
    store
        .put_index_rows_for_tests(
            &visits,
            &[
                finding(v1, "f1", "i-7", 110),
                finding(v1, "f5", "i-7", 130),
                finding(v1, "f3", "i-9", 120),
                finding(v2, "f2", "i-7", 210),
                finding(v2, "f4", "i-9", 220),
                finding(v4, "f6", "i-7", 410),
                finding(v5, "f7", "i-7", 510),
            ],
            &[
                case(v1, "f1", "open", 150),
                case(v2, "f2", "closed", 250),
                case(v2, "f4", "open", 260),
                case(v4, "f6", "open", 450),
                case(v5, "f7", "open", 550),
            ],
        )
        .await
        .expect("index rows");
    let leads = storage.lead_store();
    for l in [
        lead("l1", "Acme Old yard", Some(Sector::Gas), 1000),
        lead("l2", "somewhere", None, 900),
        lead("l3", "Acme Chemical depot", Some(Sector::FireSafety), 800),
        lead("l4", "Acme Old yard", Some(Sector::FireSafety), 700),
    ] {
        leads.insert_lead(&l).await.expect("lead");
    }
    leads
        .triage_lead(
            "l2",
            &LeadTriage {
                assignment: Some("as-1".into()),
                note: None,
                by: "r".into(),
            },
        )
        .await
        .expect("triage");
    visits
}

fn ids<T>(rows: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    rows.iter().map(|r| id(r).to_owned()).collect()
}

/// An enterprise's history: its visits (typed, and merged by site name), their hazards and
/// counts per status, checklist items failed on more than one visit, its leads (by merged
/// site name or by the assignment of one of its visits), its merges and the name-only sites
/// it may take; each within what the reader may see.
pub async fn an_enterprises_history_is_read_within_the_readers_rows(storage: &dyn SyncStorage) {
    let visits = acme_history_rows(storage).await;
    let store = storage.enterprise_store();
    assert_eq!(
        store
            .history(&reviewer("hebei"), "NOPE")
            .await
            .expect("history"),
        None
    );
    let before = store
        .history(&reviewer("hebei"), ACME)
        .await
        .expect("history")
        .expect("acme");
    assert_eq!(before.candidates, ["Acme Chemical depot", "Acme Old yard"]);
    assert_eq!(ids(&before.leads, |l| &l.id), ["l2"]);
    let merge = store
        .merge_site("hebei", ACME, "Acme Old yard", "reviewer", 5000)
        .await
        .expect("merge");

    let h = store
        .history(&reviewer("hebei"), ACME)
        .await
        .expect("history")
        .expect("acme");
    assert_eq!(h.enterprise.name, "Acme Chemical");
    let mut merged = visits[2].clone();
    merged.credit_code = Some(ACME.into());
    assert_eq!(
        h.visits,
        [merged.clone(), visits[1].clone(), visits[0].clone()]
    );
    assert_eq!(h.visit_counts, (3, 1));
    assert_eq!(
        ids(&h.hazards, |c| &c.id),
        ["case-v2c-f4", "case-v2c-f2", "case-v1-f1"]
    );
    assert_eq!(h.hazards[2], case(&visits[0], "f1", "open", 150));
    assert_eq!(
        h.by_status,
        [("closed".to_owned(), 1), ("open".to_owned(), 2)]
    );
    assert_eq!(
        h.repeats,
        [
            RepeatFinding {
                item: "i-7".into(),
                visits: 2,
                findings: 3,
                last_at: 210
            },
            RepeatFinding {
                item: "i-9".into(),
                visits: 2,
                findings: 2,
                last_at: 220
            },
        ]
    );
    assert_eq!(
        h.leads,
        [
            EnterpriseLead {
                id: "l1".into(),
                site: "Acme Old yard".into(),
                description: "seen at Acme Old yard".into(),
                received_on: 1000,
                status: "received".into(),
            },
            EnterpriseLead {
                id: "l2".into(),
                site: "somewhere".into(),
                description: "seen at somewhere".into(),
                received_on: 900,
                status: "assigned".into(),
            },
            EnterpriseLead {
                id: "l4".into(),
                site: "Acme Old yard".into(),
                description: "seen at Acme Old yard".into(),
                received_on: 700,
                status: "received".into(),
            },
        ]
    );
    assert_eq!(
        h.merges,
        [SiteMerge {
            id: merge,
            site: "Acme Old yard".into(),
            credit_code: ACME.into(),
            merged_by: "reviewer".into(),
            merged_at: 5000,
            undone_by: None,
            undone_at: None,
        }]
    );
    assert_eq!(h.candidates, ["Acme Chemical depot"]);

    let gas = store
        .history(&gas_department(), ACME)
        .await
        .expect("history")
        .expect("acme");
    assert_eq!(gas.visits, [merged, visits[0].clone()]);
    assert_eq!(gas.visit_counts, (2, 0));
    assert_eq!(ids(&gas.hazards, |c| &c.id), ["case-v1-f1"]);
    assert_eq!(gas.by_status, [("open".to_owned(), 1)]);
    assert_eq!(gas.repeats, []);
    assert_eq!(ids(&gas.leads, |l| &l.id), ["l1", "l2"]);
    assert_eq!(gas.merges, h.merges);

    let shanxi = store
        .history(&reviewer("shanxi"), ACME)
        .await
        .expect("history")
        .expect("namesake");
    assert_eq!(shanxi.enterprise.name, "Acme Shanxi");
    assert_eq!(shanxi.visits, [visits[4].clone()]);
    assert_eq!(ids(&shanxi.hazards, |c| &c.id), ["case-v5-f7"]);
    assert!(shanxi.leads.is_empty() && shanxi.merges.is_empty());
}

/// The enterprise of each visit of `site` that Acme's and Beta's histories list.
async fn site_visits(store: &dyn EnterpriseStore, site: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for code in [ACME, BETA] {
        let h = store
            .history(&reviewer("hebei"), code)
            .await
            .expect("history")
            .expect("registered");
        out.extend(
            h.visits
                .iter()
                .filter(|v| v.site == site)
                .map(|v| (v.id.clone(), code.to_owned())),
        );
    }
    out.sort();
    out
}

/// A merge sets its enterprise on the site's name-only visits (a visit indexed later takes
/// it too) and leaves a visit typed with a code alone; a second live merge of the site, a
/// merge into an unknown enterprise and an undo from another region are refused; the undo
/// clears exactly the visits the merge set, once, and the site may be merged again.
pub async fn a_site_merge_sets_its_visits_and_its_undo_clears_exactly_those(
    storage: &dyn SyncStorage,
) {
    acme_history_rows(storage).await;
    let store = storage.enterprise_store();
    const SITE: &str = "Acme Old yard";
    store
        .put_index_rows_for_tests(
            &[visit("v7", "hebei", SITE, Some(BETA), "gas", 700)],
            &[],
            &[],
        )
        .await
        .expect("typed visit");
    let id = store
        .merge_site("hebei", ACME, SITE, "wang", 10)
        .await
        .expect("merge");
    assert_eq!(
        store.live_merge("hebei", SITE).await.expect("live"),
        Some((id, ACME.to_owned()))
    );
    assert_eq!(store.live_merge("shanxi", SITE).await.expect("live"), None);
    store
        .put_index_rows_for_tests(&[visit("v8", "hebei", SITE, None, "gas", 800)], &[], &[])
        .await
        .expect("later visit");
    let merged = vec![
        ("v3".to_owned(), ACME.to_owned()),
        ("v7".to_owned(), BETA.to_owned()),
        ("v8".to_owned(), ACME.to_owned()),
    ];
    assert_eq!(site_visits(&*store, SITE).await, merged);

    match store.merge_site("hebei", BETA, SITE, "li", 11).await {
        Err(StorageError::Conflict(msg)) => assert!(msg.contains(ACME), "{msg}"),
        other => panic!("a second live merge: {other:?}"),
    }
    assert!(matches!(
        store.merge_site("hebei", "NOPE", "other", "li", 11).await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        store.undo_merge("shanxi", id, "zhao", 12).await,
        Err(StorageError::NotFound(_))
    ));
    assert_eq!(
        site_visits(&*store, SITE).await,
        merged,
        "nothing refused wrote"
    );

    let undone = store
        .undo_merge("hebei", id, "zhao", 13)
        .await
        .expect("undo");
    assert_eq!(
        (undone.undone_by.as_deref(), undone.undone_at),
        (Some("zhao"), Some(13))
    );
    assert_eq!(
        site_visits(&*store, SITE).await,
        [("v7".to_owned(), BETA.to_owned())]
    );
    assert!(matches!(
        store.undo_merge("hebei", id, "zhao", 14).await,
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(store.live_merge("hebei", SITE).await.expect("live"), None);
    let acme = store
        .history(&reviewer("hebei"), ACME)
        .await
        .expect("history")
        .expect("acme");
    assert_eq!(acme.merges, [undone]);
    assert!(acme.candidates.contains(&SITE.to_owned()));

    let again = store
        .merge_site("hebei", BETA, SITE, "li", 15)
        .await
        .expect("merged again");
    assert_ne!(again, id);
    assert_eq!(
        site_visits(&*store, SITE).await,
        [
            ("v3".to_owned(), BETA.to_owned()),
            ("v7".to_owned(), BETA.to_owned()),
            ("v8".to_owned(), BETA.to_owned()),
        ]
    );
}

/// Whether one history of each enterprise shows the site's name-only visits exactly under
/// the enterprise holding its live merge (none when there is none): the merge and its
/// visits are one transaction.
async fn merge_and_visits_agree(store: &dyn EnterpriseStore, site: &str, name_only: &[&str]) {
    for code in [ACME, BETA] {
        let h = store
            .history(&reviewer("hebei"), code)
            .await
            .expect("history")
            .expect("registered");
        let live = h
            .merges
            .iter()
            .any(|m| m.site == site && m.undone_at.is_none());
        let shown: Vec<&str> = h
            .visits
            .iter()
            .filter(|v| v.site == site)
            .map(|v| v.id.as_str())
            .collect();
        let expected: &[&str] = if live { name_only } else { &[] };
        assert_eq!(shown, expected, "{code}: live merge {live}");
    }
}

/// Reviewers on several processes merging one site into two enterprises at once: one merge
/// is made, every other attempt is a conflict, and the site's visits take its enterprise;
/// then undoing it from every process at once: one undo, the others conflicts, the visits
/// cleared. A reader on another process never sees a merge without its visits or visits
/// without their merge.
pub async fn processes_merging_one_site_at_once_merge_it_once(open: &Processes) {
    const PROCESSES: usize = 3;
    const ATTEMPTS: usize = 4;
    const SITE: &str = "Raced yard";
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..PROCESSES).map(|_| open())).await;
    let stores: Vec<Arc<dyn EnterpriseStore>> =
        storages.iter().map(|s| s.enterprise_store()).collect();
    stores[0]
        .import_enterprises(
            "hebei",
            &[
                enterprise(ACME, "hebei", "Acme", &[]),
                enterprise(BETA, "hebei", "Beta", &[]),
            ],
            1,
        )
        .await
        .expect("import");
    stores[1]
        .put_index_rows_for_tests(
            &[
                visit("r1", "hebei", SITE, None, "gas", 300),
                visit("r2", "hebei", SITE, None, "gas", 200),
            ],
            &[],
            &[],
        )
        .await
        .expect("visits");

    let done = Arc::new(AtomicBool::new(false));
    let observer = {
        let (store, done) = (Arc::clone(&stores[PROCESSES - 1]), Arc::clone(&done));
        tokio::spawn(async move {
            let mut reads = 0;
            while !done.load(Ordering::SeqCst) {
                merge_and_visits_agree(&*store, SITE, &["r1", "r2"]).await;
                reads += 1;
                tokio::task::yield_now().await;
            }
            reads
        })
    };

    let merges = stores.iter().enumerate().flat_map(|(p, s)| {
        (0..ATTEMPTS).map(move |a| {
            let s = Arc::clone(s);
            let code = if (p + a) % 2 == 0 { ACME } else { BETA };
            tokio::spawn(async move {
                let by = format!("p{p}-{a}");
                (code, s.merge_site("hebei", code, SITE, &by, 10).await)
            })
        })
    });
    let mut won = Vec::new();
    for task in join_all(merges).await {
        match task.expect("join") {
            (code, Ok(id)) => won.push((id, code)),
            (_, Err(StorageError::Conflict(msg))) => assert!(msg.contains("already merged")),
            (_, Err(e)) => panic!("a losing merge should be a conflict: {e}"),
        }
    }
    assert_eq!(won.len(), 1, "merges made: {won:?}");
    let (id, code) = won[0];
    for store in &stores {
        assert_eq!(
            store.live_merge("hebei", SITE).await.expect("live"),
            Some((id, code.to_owned()))
        );
        assert_eq!(
            site_visits(&**store, SITE).await,
            [
                ("r1".to_owned(), code.to_owned()),
                ("r2".to_owned(), code.to_owned())
            ]
        );
    }

    let undos = stores.iter().enumerate().map(|(p, s)| {
        let s = Arc::clone(s);
        tokio::spawn(async move { s.undo_merge("hebei", id, &format!("p{p}"), 20).await })
    });
    let mut undone = Vec::new();
    for task in join_all(undos).await {
        match task.expect("join") {
            Ok(m) => undone.push(m),
            Err(StorageError::Conflict(_)) => {}
            Err(e) => panic!("a losing undo should be a conflict: {e}"),
        }
    }
    assert_eq!(undone.len(), 1, "undos made: {undone:?}");
    done.store(true, Ordering::SeqCst);
    let reads = observer.await.expect("observer");
    assert!(reads > 0);
    for store in &stores {
        assert_eq!(store.live_merge("hebei", SITE).await.expect("live"), None);
        assert_eq!(site_visits(&**store, SITE).await, []);
    }
    for s in &storages {
        s.close().await.expect("close");
    }
}

/// Processes importing one registry at once (each under names of its own, over a registry
/// imported before): one row per code in the end, its fields those of one import, and every
/// name any import gave it kept, as its name or a former name, once.
pub async fn processes_importing_one_registry_at_once_keep_one_row_per_code(open: &Processes) {
    const PROCESSES: usize = 3;
    const CODES: usize = 150;
    let storages: Vec<Arc<dyn SyncStorage>> = join_all((0..PROCESSES).map(|_| open())).await;
    let stores: Vec<Arc<dyn EnterpriseStore>> =
        storages.iter().map(|s| s.enterprise_store()).collect();
    let code = |i: usize| format!("CODE{i:05}");
    let roster = |tag: &str| -> Vec<Enterprise> {
        (0..CODES)
            .map(|i| {
                let mut e = enterprise(&code(i), "hebei", &format!("{tag} {i}"), &[]);
                e.address = format!("{tag} street {i}");
                e
            })
            .collect()
    };
    stores[0]
        .import_enterprises("hebei", &roster("old"), 1)
        .await
        .expect("first import");
    let imports = stores.iter().enumerate().map(|(p, s)| {
        let (s, rows) = (Arc::clone(s), roster(&format!("p{p}")));
        tokio::spawn(async move { s.import_enterprises("hebei", &rows, 2).await })
    });
    for task in join_all(imports).await {
        assert_eq!(task.expect("join").expect("import"), CODES);
    }
    for store in &stores {
        let all = store
            .all_enterprises(&RowFilter::region("hebei"))
            .await
            .expect("all");
        let mut codes: Vec<&str> = all.iter().map(|e| e.credit_code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!((all.len(), codes.len()), (CODES, CODES), "one row per code");
        let (_, total) = store
            .enterprises(&reviewer("hebei"), Some("CODE0"), 1, 0)
            .await
            .expect("list");
        assert_eq!(total, CODES as i64);
        for e in &all {
            let i: usize = e.credit_code[4..].parse().expect("index");
            let tag = e.name.split(' ').next().expect("tag");
            assert_eq!(
                e.address,
                format!("{tag} street {i}"),
                "one import's fields"
            );
            let mut every: Vec<String> = std::iter::once(e.name.clone())
                .chain(e.former_names.iter().cloned())
                .collect();
            every.sort();
            let mut expected: Vec<String> = std::iter::once(format!("old {i}"))
                .chain((0..PROCESSES).map(|p| format!("p{p} {i}")))
                .collect();
            expected.sort();
            assert_eq!(every, expected, "{e:?}");
        }
    }
    for s in &storages {
        s.close().await.expect("close");
    }
}
