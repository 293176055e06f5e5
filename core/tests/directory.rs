//! The enterprise directory in the phone's store: a `directory` record as the server writes
//! it is indexed when it arrives, searched offline, followed as it changes, and a visit
//! started from an entry carries the entry's site; a directory of another region or one that
//! breaks the layout is never listed; the record stays within its bounds.

use std::collections::BTreeMap;

use automerge::ActorId;
use siteproof_core::{
    Directory, DirectoryEntry, Error, MAX_DIRECTORY_ENTRIES, MergeOrigin, Profile, RecordHeader,
    RecordId, RecordKind, Scope, Sector, Store, Template, TemplateRef, VisitFromEnterprise,
    VisitMode,
};

const A: &str = "91350100M000100Y43";
const B: &str = "91110000600037341L";

fn entry(code: &str, name: &str, address: &str) -> DirectoryEntry {
    DirectoryEntry {
        credit_code: code.into(),
        name: name.into(),
        former_names: vec![],
        address: address.into(),
        sectors: vec![Sector::Gas],
        tier: None,
        open_hazards: 0,
        overdue_hazards: 0,
        key_listed: false,
        blacklisted: false,
    }
}

fn directory(region: &str, entries: Vec<DirectoryEntry>) -> Directory {
    Directory {
        region: region.into(),
        updated_at: 1_700_000_000_000,
        registered: entries.len() as u64,
        enterprises: entries
            .into_iter()
            .map(|e| (e.credit_code.clone(), e))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn header(region: &str) -> RecordHeader {
    RecordHeader {
        kind: RecordKind::Directory,
        id: RecordId::for_directory(region).expect("id"),
        scope: Scope::group(region, ""),
    }
}

/// The saved document the server would send whole.
fn saved(d: &Directory) -> Vec<u8> {
    header(&d.region)
        .create_with(ActorId::random(), "directory", d)
        .expect("doc")
        .save()
}

fn gas_template() -> Template {
    serde_json::from_str(
        r#"{"id": "gas-demo", "version": 1, "sector": "gas",
            "title": {"zh": "燃气检查", "en": "Gas check"},
            "source": {"document": "城镇燃气经营安全重大隐患判定标准", "reference": "demo"},
            "items": [{"id": "g-01", "text": {"zh": "报警器完好", "en": "Gas alarm works"},
                       "criterion": {"document": "城镇燃气经营安全重大隐患判定标准", "clause": "第三条"},
                       "severity": "major", "answer": {"kind": "pass_fail"},
                       "evidence_required": true}]}"#,
    )
    .expect("template")
}

fn store(dir: &tempfile::TempDir) -> Store {
    let mut store = Store::open(dir.path().join("phone.db")).expect("store");
    store
        .set_profile(&Profile {
            inspector: "张三".into(),
            scope: Scope::group("hebei", "g1"),
        })
        .expect("profile");
    store.put_template(&gas_template()).expect("template");
    store
}

fn names(store: &Store, search: Option<&str>) -> Vec<String> {
    store
        .directory(search, None)
        .expect("directory")
        .into_iter()
        .map(|e| e.name)
        .collect()
}

#[test]
fn a_received_directory_is_searched_offline_and_a_visit_takes_its_entrys_site() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    let mut a = entry(A, "某燃气有限公司", "石家庄市长安区建设大街1号");
    a.former_names = vec!["某液化气站".into()];
    a.tier = Some("B".into());
    let b = entry(B, "某化工有限公司", "石家庄市桥西区");
    let first = directory("hebei", vec![a.clone(), b.clone()]);
    let first_bytes = saved(&first);
    store
        .merge(None, &first_bytes, MergeOrigin::Server)
        .expect("merge");

    assert_eq!(names(&store, None), ["某化工有限公司", "某燃气有限公司"]);
    assert_eq!(names(&store, Some("液化气")), ["某燃气有限公司"]);
    assert_eq!(names(&store, Some(" 桥西 ")), ["某化工有限公司"]);
    assert_eq!(names(&store, Some(&B.to_lowercase())), ["某化工有限公司"]);
    assert_eq!(store.directory(None, Some(1)).expect("one").len(), 1);
    assert_eq!(store.directory_entry(&A.to_lowercase()).expect("a"), a);
    assert!(matches!(
        store.directory_entry("91130100MA00000012"),
        Err(Error::NotFound { .. })
    ));
    let info = store.directory_info().expect("info").expect("held");
    assert_eq!((info.registered, info.held), (2, 2));

    let visit = store
        .start_visit_from_enterprise(
            A,
            VisitFromEnterprise {
                mode: VisitMode::Covert,
                team: vec!["张三".into()],
                template: TemplateRef {
                    id: "gas-demo".parse().expect("id"),
                    version: 1,
                },
                sector: None,
                location: None,
            },
        )
        .expect("visit");
    let site = store.visit(&visit).expect("visit").site;
    assert_eq!(
        (
            site.name.as_str(),
            site.credit_code.as_deref(),
            site.address.as_str(),
            site.sector
        ),
        (
            "某燃气有限公司",
            Some(A),
            "石家庄市长安区建设大街1号",
            Sector::Gas
        )
    );

    // The server's next change: B gone, A with a hazard; only the change travels.
    let mut doc = siteproof_core::document::decode(&first_bytes, ActorId::random()).expect("doc");
    let heads = doc.get_heads();
    a.open_hazards = 2;
    let second = directory("hebei", vec![a.clone()]);
    autosurgeon::reconcile_prop(&mut doc, automerge::ROOT, "directory", &second).expect("edit");
    doc.commit();
    let changes: Vec<u8> = doc
        .get_changes(&heads)
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    store
        .merge(Some(&header("hebei").id), &changes, MergeOrigin::Server)
        .expect("changes");
    assert_eq!(names(&store, None), ["某燃气有限公司"]);
    assert_eq!(store.directory_entry(A).expect("a").open_hazards, 2);
}

#[test]
fn another_regions_directory_or_a_malformed_one_is_never_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    let shanxi = directory("shanxi", vec![entry(A, "山西某公司", "太原市")]);
    store
        .merge(None, &saved(&shanxi), MergeOrigin::Server)
        .expect("merge");
    assert!(store.directory(None, None).expect("none").is_empty());
    assert!(store.directory_entry(A).is_err());

    // A wrong check character, an unknown tier: kept aside as unreadable, not listed.
    for (bad_code, tier) in [("91350100M000100Y44", None), (A, Some("E"))] {
        let mut e = entry(bad_code, "某公司", "某地");
        e.tier = tier.map(str::to_owned);
        let bad = directory("hebei", vec![e]);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = self::store(&dir);
        store
            .merge(None, &saved(&bad), MergeOrigin::Server)
            .expect("kept");
        assert!(store.directory(None, None).expect("none").is_empty());
        let unreadable = store.unreadable_records().expect("list");
        assert_eq!(unreadable.len(), 1, "{bad_code} {tier:?}");
        assert!(
            unreadable[0].path.starts_with("directory"),
            "{unreadable:?}"
        );
    }
}

#[test]
fn a_full_directory_stays_within_its_bound() {
    let entries: Vec<DirectoryEntry> = (0..MAX_DIRECTORY_ENTRIES)
        .map(|i| {
            let first17 = format!("9113010{i:08}XX");
            let code = format!(
                "{first17}{}",
                siteproof_core::credit_code_check_char(&first17).expect("check")
            );
            let mut e = entry(
                &code,
                &format!("石家庄市某某燃气有限公司第{i}分公司"),
                "河北省石家庄市长安区建设大街100号",
            );
            e.tier = Some("C".into());
            e.open_hazards = (i % 4) as u32;
            e
        })
        .collect();
    let full = directory("hebei", entries);
    let bytes = saved(&full);
    let per_entry = bytes.len() / MAX_DIRECTORY_ENTRIES;
    println!(
        "{} enterprises: {} bytes saved, {per_entry} per enterprise",
        MAX_DIRECTORY_ENTRIES,
        bytes.len()
    );
    assert!(
        bytes.len() < 8 << 20,
        "a full directory fits one sync page: {}",
        bytes.len()
    );

    let mut over = full.clone();
    over.enterprises.insert(A.into(), entry(A, "多一家", ""));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store(&dir);
    store
        .merge(None, &saved(&over), MergeOrigin::Server)
        .expect("kept aside");
    assert!(store.directory(None, Some(1)).expect("none").is_empty());
}
