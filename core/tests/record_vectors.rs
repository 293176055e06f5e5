//! The test vectors of `docs/records.md`, in `docs/record-vectors/`: saved documents of every
//! record kind and single changes, each with a listing of every value in the document (path,
//! Automerge type, value) for other implementations to check against. This test checks that
//! each committed file decodes to its listing and reads as the model, and that the model
//! still writes what the listings say. `SITEPROOF_WRITE_VECTORS=1` rewrites the files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use automerge::transaction::CommitOptions;
use automerge::{ActorId, AutoCommit, ROOT, ReadDoc, ScalarValue as S, hydrate::Value};
use siteproof_core::evidence::EvidenceSignature;
use siteproof_core::model::*;
use siteproof_core::{RecordHeader, RecordId, RecordKind, record_check};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/record-vectors")
}

fn actor(byte: u8) -> ActorId {
    ActorId::from(vec![byte; 16])
}

/// Commits with time 0 so the bytes do not depend on the clock.
fn commit(doc: &mut AutoCommit) {
    doc.commit_with(CommitOptions::default().with_time(0));
}

fn new_doc(kind: RecordKind, id: &str, scope: Scope, by: u8) -> AutoCommit {
    RecordHeader {
        kind,
        id: id.parse().expect("id"),
        scope,
    }
    .create(actor(by))
    .expect("create")
}

fn group() -> Scope {
    Scope::group("hebei", "g1")
}

const DEVICE: &str = "39b593e6-16e7-4763-9b33-4e35aebd3853";
const VISIT: &str = "0190f3a1-7c2e-7a4b-8d1e-2f3a4b5c6d7e";
const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn answer(value: AnswerValue, note: Option<&str>, at: i64) -> Answer {
    Answer {
        value,
        note: note.map(Into::into),
        media: if at == 3 {
            vec![HASH.parse().expect("hash")]
        } else {
            vec![]
        },
        by: "张三".into(),
        device: DEVICE.parse().expect("device"),
        at: 1_733_300_000_000 + at,
    }
}

fn full_visit() -> Visit {
    let at = GeoPoint {
        lat: 38.04,
        lon: 114.51,
        accuracy_m: Some(8.5),
    };
    let values = [
        ("i-pass", AnswerValue::Pass, None),
        ("i-fail", AnswerValue::Fail, Some("阀门泄漏")),
        ("i-na", AnswerValue::NotApplicable, None),
        ("i-number", AnswerValue::Number(12.5), None),
        ("i-text", AnswerValue::Text("值班记录齐全".into()), None),
        ("i-choice", AnswerValue::Choice("正常".into()), None),
    ];
    let answers = values
        .into_iter()
        .enumerate()
        .map(|(i, (item, value, note))| (item.to_string(), answer(value, note, i as i64)))
        .collect();
    let finding = Finding {
        id: "0190f3a1-8000-7000-8000-000000000001".parse().expect("id"),
        description: "可燃气体报警器未投用".into(),
        severity: Severity::Major,
        item: Some("i-fail".parse().expect("item")),
        location: Some(at),
        media: vec![HASH.parse().expect("hash")],
        fixed_on_spot: false,
        interim_measures: Some("停止动火作业".into()),
        by: "张三".into(),
        device: DEVICE.parse().expect("device"),
        at: 1_733_300_000_100,
    };
    let media = MediaRef {
        hash: HASH.parse().expect("hash"),
        size: 2_345_678,
        kind: MediaKind::Photo,
        mime: "image/jpeg".into(),
        captured_at: 1_733_300_000_050,
        location: Some(at),
        device: DEVICE.parse().expect("device"),
        signature: Some(EvidenceSignature {
            signer: DEVICE.parse().expect("device"),
            signature: "ab".repeat(64),
        }),
    };
    Visit {
        id: VISIT.parse().expect("id"),
        scope: group(),
        site: Site {
            name: "某化工有限公司".into(),
            credit_code: Some("91130100MA0000000X".into()),
            address: "河北省石家庄市".into(),
            sector: Sector::HazardousChemicals,
        },
        mode: VisitMode::Covert,
        team: vec!["张三".into(), "李四".into()],
        template: TemplateRef {
            id: "chem-storage".parse().expect("id"),
            version: 2,
        },
        assignment: Some("0190f3a0-0000-7000-8000-00000000000a".parse().expect("id")),
        started_at: 1_733_299_000_000,
        ended_at: Some(1_733_303_000_000),
        location: Some(at),
        answers,
        findings: BTreeMap::from([(finding.id.to_string(), finding)]),
        media: BTreeMap::from([(HASH.to_string(), media)]),
    }
}

fn minimal_visit() -> Visit {
    Visit {
        id: VISIT.parse().expect("id"),
        scope: group(),
        site: Site {
            name: "某加油站".into(),
            credit_code: None,
            address: "".into(),
            sector: Sector::Gas,
        },
        mode: VisitMode::Announced,
        team: vec![],
        template: TemplateRef {
            id: "chem-storage".parse().expect("id"),
            version: 2,
        },
        assignment: None,
        started_at: 1_733_299_000_000,
        ended_at: None,
        location: None,
        answers: BTreeMap::new(),
        findings: BTreeMap::new(),
        media: BTreeMap::new(),
    }
}

fn visit_doc(visit: &Visit) -> AutoCommit {
    let mut doc = new_doc(RecordKind::Visit, VISIT, group(), 1);
    // Answers are JSON strings (see docs/records.md), written as the phone writes them.
    let mut bare = visit.clone();
    bare.answers.clear();
    autosurgeon::reconcile(&mut doc, &bare).expect("visit");
    let answers = match ReadDoc::get(&doc, ROOT, "answers").expect("get") {
        Some((_, obj)) => obj,
        None => panic!("answers map written"),
    };
    for (item, answer) in &visit.answers {
        autosurgeon::reconcile_prop(&mut doc, &answers, item.as_str(), answer).expect("answer");
    }
    commit(&mut doc);
    doc
}

fn template() -> Template {
    serde_json::from_value(serde_json::json!({
        "id": "chem-storage", "version": 2, "sector": "hazardous_chemicals",
        "title": {"zh": "危化品储存检查", "en": "Hazardous chemicals storage"},
        "source": {"document": "危险化学品企业重大事故隐患判定标准", "reference": "GB 12345"},
        "items": [
            {"id": "i-pass", "text": {"zh": "报警器投用", "en": "Alarms in use"},
             "criterion": {"document": "判定标准", "clause": "第三条"}, "severity": "major",
             "answer": {"kind": "pass_fail"}, "evidence_required": true},
            {"id": "i-fail", "text": {"zh": "阀门", "en": "Valves"},
             "criterion": {"document": "判定标准", "clause": "第三条"}, "severity": "major",
             "answer": {"kind": "pass_fail"}, "evidence_required": true},
            {"id": "i-na", "text": {"zh": "储罐", "en": "Tanks"},
             "criterion": {"document": "判定标准", "clause": "第三条"}, "severity": "general",
             "answer": {"kind": "pass_fail"}, "evidence_required": false},
            {"id": "i-number", "text": {"zh": "浓度", "en": "Concentration"},
             "criterion": {"document": "判定标准", "clause": "第四条"}, "severity": "general",
             "answer": {"kind": "number", "unit": "%LEL"}, "evidence_required": false},
            {"id": "i-text", "text": {"zh": "记录", "en": "Records"},
             "criterion": {"document": "判定标准", "clause": "第五条"}, "severity": "general",
             "answer": {"kind": "text"}, "evidence_required": false},
            {"id": "i-choice", "text": {"zh": "状态", "en": "State"},
             "criterion": {"document": "判定标准", "clause": "第六条"}, "severity": "general",
             "answer": {"kind": "choice", "choices": ["正常", "异常"]}, "evidence_required": false}
        ]
    }))
    .expect("template")
}

fn with_root<T: autosurgeon::Reconcile>(
    kind: RecordKind,
    id: &str,
    scope: Scope,
    key: &str,
    value: &T,
) -> AutoCommit {
    let mut doc = new_doc(kind, id, scope, 2);
    autosurgeon::reconcile_prop(&mut doc, ROOT, key, value).expect("reconcile");
    commit(&mut doc);
    doc
}

fn report() -> Collection {
    Collection {
        id: "0190f3a2-0000-7000-8000-00000000000b".parse().expect("id"),
        kind: CollectionKind::Practice,
        title: "边查边改经验".into(),
        body: "现场督促整改。".into(),
        author: "张三".into(),
        written_at: 1_733_310_000_000,
        media: vec![HASH.parse().expect("hash")],
    }
}

fn case() -> Case {
    Case {
        id: "case-0190f3a1".parse().expect("id"),
        visit: VISIT.parse().expect("id"),
        finding: "0190f3a1-8000-7000-8000-000000000001".parse().expect("id"),
        site_name: "某化工有限公司".into(),
        sector: Sector::HazardousChemicals,
        severity: Severity::Major,
        description: "可燃气体报警器未投用".into(),
        events: vec![CaseEvent {
            kind: CaseEventKind::Ordered,
            by: "王五".into(),
            at: 1_733_400_000_000,
            note: None,
            unit: Some("石家庄市应急管理局".into()),
            deadline: Some(1_734_000_000_000),
            media: vec![],
        }],
        fixed_on_spot: false,
    }
}

fn assignment() -> Assignment {
    Assignment {
        id: "0190f3a0-0000-7000-8000-00000000000a".parse().expect("id"),
        kind: AssignmentKind::PlannedTarget,
        title: "检查某化工有限公司".into(),
        body: "重点检查储罐区。".into(),
        sector: Some(Sector::HazardousChemicals),
        site: Some(minimal_visit().site),
        template: Some(TemplateRef {
            id: "chem-storage".parse().expect("id"),
            version: 2,
        }),
        due: None,
        experts: vec![ExpertContact {
            name: "赵六".into(),
            specialty: "化工安全".into(),
            sectors: vec![Sector::HazardousChemicals],
            unit: "省专家库".into(),
            phone: None,
        }],
        lead: None,
        issued_by: "省督导办".into(),
        issued_at: 1_733_200_000_000,
        cases: vec![],
    }
}

fn directory() -> Directory {
    let entry = |code: &str, name: &str, tier: Option<&str>, open: u32| DirectoryEntry {
        credit_code: code.into(),
        name: name.into(),
        former_names: if tier.is_some() {
            vec!["某化工厂".into()]
        } else {
            vec![]
        },
        address: "河北省石家庄市".into(),
        sectors: vec![Sector::HazardousChemicals],
        tier: tier.map(Into::into),
        open_hazards: open,
        overdue_hazards: open.saturating_sub(1),
        key_listed: tier == Some("A"),
        blacklisted: false,
    };
    let a = entry("91350100M000100Y43", "某化工有限公司", Some("A"), 2);
    let b = entry("91110000600037341L", "某仓储有限公司", None, 0);
    Directory {
        region: "hebei".into(),
        updated_at: 1_733_500_000_000,
        registered: 2,
        enterprises: BTreeMap::from([(a.credit_code.clone(), a), (b.credit_code.clone(), b)]),
    }
}

/// Every vector: its file name and its document.
fn vectors() -> Vec<(&'static str, AutoCommit)> {
    let region = Scope::group("hebei", "");
    vec![
        ("visit-full", visit_doc(&full_visit())),
        ("visit-minimal", visit_doc(&minimal_visit())),
        (
            "report",
            with_root(
                RecordKind::Report,
                "0190f3a2-0000-7000-8000-00000000000b",
                group(),
                "collection",
                &report(),
            ),
        ),
        (
            "template",
            with_root(
                RecordKind::Template,
                "template:chem-storage@2",
                Scope::global(),
                "template",
                &template(),
            ),
        ),
        (
            "case",
            with_root(RecordKind::Case, "case-0190f3a1", region, "case", &case()),
        ),
        (
            "assignment",
            with_root(
                RecordKind::Assignment,
                "0190f3a0-0000-7000-8000-00000000000a",
                group(),
                "assignment",
                &assignment(),
            ),
        ),
        (
            "directory",
            with_root(
                RecordKind::Directory,
                "directory:hebei",
                Scope::group("hebei", ""),
                "directory",
                &directory(),
            ),
        ),
    ]
}

/// The change that answers `i-number` on top of `visit-minimal`, written by another device.
fn answer_change(base: &mut AutoCommit) -> (automerge::Change, AutoCommit) {
    let mut doc = base.fork().with_actor(actor(3));
    let answers = match ReadDoc::get(&doc, ROOT, "answers").expect("get") {
        Some((_, obj)) => obj,
        None => panic!("answers map"),
    };
    let a = answer(AnswerValue::Number(-3.25), Some("复测"), 9);
    autosurgeon::reconcile_prop(&mut doc, &answers, "i-number", &a).expect("answer");
    commit(&mut doc);
    let change = doc.get_last_local_change().expect("change").clone();
    (change, doc)
}

/// Every value of a document, one line each: `path<TAB>type<TAB>value` (value as JSON).
fn listing(doc: &AutoCommit) -> String {
    let mut out = String::new();
    walk(&doc.hydrate(ROOT, None).expect("hydrate"), "", &mut out);
    out
}

fn walk(value: &Value, path: &str, out: &mut String) {
    let line = |out: &mut String, ty: &str, v: serde_json::Value| {
        out.push_str(&format!(
            "{}\t{ty}\t{v}\n",
            if path.is_empty() { "/" } else { path }
        ));
    };
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}/{k}")
        }
    };
    match value {
        Value::Map(map) => {
            line(out, "map", serde_json::Value::Null);
            // Keys in byte order, so the listing does not depend on hash order.
            let mut keys: Vec<_> = map.iter().collect();
            keys.sort_by(|a, b| a.0.cmp(b.0));
            for (k, v) in keys {
                walk(&v.value, &join(k), out);
            }
        }
        Value::List(list) => {
            line(out, "list", serde_json::Value::Null);
            for (i, v) in list.iter().enumerate() {
                walk(&v.value, &join(&i.to_string()), out);
            }
        }
        Value::Text(t) => line(out, "text", t.to_string().into()),
        Value::Scalar(s) => match s {
            S::Str(s) => line(out, "str", s.to_string().into()),
            S::Int(i) => line(out, "int", (*i).into()),
            S::Uint(u) => line(out, "uint", (*u).into()),
            S::F64(f) => line(out, "f64", (*f).into()),
            S::Boolean(b) => line(out, "bool", (*b).into()),
            S::Null => line(out, "null", serde_json::Value::Null),
            other => line(out, "other", format!("{other:?}").into()),
        },
    }
}

#[test]
fn the_committed_vectors_decode_to_their_listings_and_read_as_the_model() {
    let write = std::env::var("SITEPROOF_WRITE_VECTORS").is_ok_and(|v| v == "1");
    let mut all = vectors();
    let (change, after) = answer_change(&mut all[1].1);
    all.push(("visit-minimal+answer", after));
    if write {
        std::fs::create_dir_all(dir()).expect("dir");
        for (name, doc) in &mut all {
            std::fs::write(dir().join(format!("{name}.automerge")), doc.save()).expect("write");
            std::fs::write(dir().join(format!("{name}.txt")), listing(doc)).expect("write");
        }
        let mut change = change.clone();
        std::fs::write(dir().join("answer.change"), change.bytes()).expect("write");
    }
    for (name, expected) in &all {
        let bytes = std::fs::read(dir().join(format!("{name}.automerge"))).unwrap_or_else(|e| {
            panic!("{name}.automerge: {e} (SITEPROOF_WRITE_VECTORS=1 writes it)")
        });
        let doc = AutoCommit::load(&bytes).expect("loads");
        let text = std::fs::read_to_string(dir().join(format!("{name}.txt"))).expect("listing");
        assert_eq!(
            listing(&doc),
            text,
            "{name}: the saved document and its listing differ"
        );
        assert_eq!(
            listing(expected),
            text,
            "{name}: the model no longer writes this layout"
        );
        let header = RecordHeader::read(&doc).expect("header");
        record_check::check(&doc, &header.id, Some(&template())).expect("reads as the model");
    }
    // The single change applies to the minimal visit and gives the answered one.
    let raw = std::fs::read(dir().join("answer.change")).expect("change");
    let mut base =
        AutoCommit::load(&std::fs::read(dir().join("visit-minimal.automerge")).expect("base"))
            .expect("load");
    let change = automerge::Change::try_from(raw.as_slice()).expect("one change");
    base.apply_changes([change]).expect("applies");
    let after = std::fs::read_to_string(dir().join("visit-minimal+answer.txt")).expect("listing");
    assert_eq!(listing(&base), after);
    let (visit, _) = siteproof_core::document::read_visit(&base).expect("visit");
    assert_eq!(visit.answers["i-number"].value, AnswerValue::Number(-3.25));
    let full = siteproof_core::document::read_visit(
        &AutoCommit::load(&std::fs::read(dir().join("visit-full.automerge")).expect("f"))
            .expect("l"),
    )
    .expect("visit")
    .0;
    assert_eq!(full, full_visit());
}

#[test]
fn the_checker_refuses_what_the_layout_forbids() {
    let mut base = visit_doc(&minimal_visit());
    let id: RecordId = VISIT.parse().expect("id");
    type Break = fn(&mut AutoCommit);
    let cases: [(&str, Break); 4] = [
        ("started_at", |d| {
            automerge::transaction::Transactable::put(d, ROOT, "started_at", S::Uint(5))
                .expect("put");
        }),
        ("ended_at", |d| {
            automerge::transaction::Transactable::delete(d, ROOT, "ended_at").expect("delete");
        }),
        ("template", |d| {
            automerge::transaction::Transactable::put(d, ROOT, "template", "chem-storage@2")
                .expect("put");
        }),
        ("site/sector", |d| {
            let site = match ReadDoc::get(d, ROOT, "site").expect("get") {
                Some((_, o)) => o,
                None => panic!("site"),
            };
            automerge::transaction::Transactable::put(d, &site, "sector", "mining").expect("put");
        }),
    ];
    for (path, break_it) in cases {
        let mut doc = base.fork();
        break_it(&mut doc);
        match record_check::check(&doc, &id, None) {
            Err(siteproof_core::Error::InvalidRecord { path: p, .. }) => assert_eq!(p, path),
            other => panic!("{path}: {other:?}"),
        }
    }
    // A concurrent answer that loses to a valid one is kept and shown too: it is checked.
    let put_answer = |doc: &mut AutoCommit, json: &str| {
        let answers = match ReadDoc::get(doc, ROOT, "answers").expect("get") {
            Some((_, o)) => o,
            None => panic!("answers"),
        };
        automerge::transaction::Transactable::put(doc, &answers, "i-pass", json).expect("put");
        commit(doc);
    };
    let valid = serde_json::to_string(&answer(AnswerValue::Pass, None, 1)).expect("json");
    let mut winner = base.fork().with_actor(actor(6));
    let mut loser = base.fork().with_actor(actor(5));
    put_answer(&mut winner, &valid);
    put_answer(&mut loser, &valid.replace("\"pass\"", "\"maybe\""));
    winner.merge(&mut loser).expect("merge");
    match record_check::check(&winner, &id, None) {
        Err(siteproof_core::Error::InvalidRecord { path, .. }) => {
            assert_eq!(path, "answers/i-pass/value")
        }
        other => panic!("a bad losing answer: {other:?}"),
    }
    // A field a newer app added is ignored, and kept.
    let mut doc = base.fork();
    automerge::transaction::Transactable::put(&mut doc, ROOT, "weather", "晴").expect("put");
    record_check::check(&doc, &id, None).expect("unknown fields are allowed");
}
