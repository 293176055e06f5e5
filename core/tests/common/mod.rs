//! Fixtures shared by the core's integration tests.
#![allow(dead_code)]

use siteproof_core::*;

/// A small template with one item of every answer kind.
pub fn template() -> Template {
    serde_json::from_str(
        r#"{
      "id": "fixture", "version": 1, "sector": "fire_safety",
      "title": {"zh": "消防检查", "en": "Fire check"},
      "source": {"document": "重大火灾隐患判定方法", "reference": "GB 35181"},
      "items": [
        {"id": "exits", "text": {"zh": "安全出口畅通", "en": "Exits clear"},
         "criterion": {"document": "GB 35181", "clause": "6.1"}, "severity": "major",
         "answer": {"kind": "pass_fail"}, "evidence_required": true},
        {"id": "extinguishers", "text": {"zh": "灭火器数量", "en": "Extinguisher count"},
         "criterion": {"document": "GB 35181", "clause": "6.2"}, "severity": "general",
         "answer": {"kind": "number", "unit": "个"}, "evidence_required": false},
        {"id": "remarks", "text": {"zh": "备注", "en": "Remarks"},
         "criterion": {"document": "GB 35181", "clause": "6.3"}, "severity": "general",
         "answer": {"kind": "text"}, "evidence_required": false},
        {"id": "alarm", "text": {"zh": "报警系统", "en": "Alarm system"},
         "criterion": {"document": "GB 35181", "clause": "6.4"}, "severity": "major",
         "answer": {"kind": "choice", "choices": ["正常", "故障", "未安装"]}, "evidence_required": true}
      ]
    }"#,
    )
    .expect("fixture template is valid JSON")
}

/// A template with `n` pass/fail items `i0`..`i{n-1}`.
pub fn template_with_items(n: usize) -> Template {
    let mut t = template();
    t.id = "big".parse().expect("id");
    let item = t.items[0].clone();
    t.items = (0..n)
        .map(|i| TemplateItem {
            id: format!("i{i}").parse().expect("id"),
            ..item.clone()
        })
        .collect();
    t
}

pub fn new_visit(t: &Template, site: &str) -> NewVisit {
    NewVisit {
        site: Site {
            name: site.into(),
            credit_code: Some("91130100MA0000000X".into()),
            address: "石家庄市长安区".into(),
            sector: t.sector,
        },
        mode: VisitMode::Covert,
        team: vec!["张三".into(), "李四".into()],
        template: TemplateRef {
            id: t.id.clone(),
            version: t.version,
        },
        assignment: None,
        location: Some(GeoPoint {
            lat: 38.04,
            lon: 114.51,
            accuracy_m: Some(5.0),
        }),
    }
}

pub fn profile(name: &str) -> Profile {
    Profile {
        inspector: name.into(),
        scope: Scope::group("hebei", "g1"),
    }
}

/// A store in `dir` with the fixture template and profile.
pub fn store_at(path: &std::path::Path, inspector: &str) -> Store {
    let mut store = Store::open(path).expect("open store");
    store.set_profile(&profile(inspector)).expect("profile");
    if store.list_templates().expect("templates").is_empty() {
        store.put_template(&template()).expect("template");
    }
    store
}

pub fn pass() -> AnswerInput {
    AnswerInput {
        value: AnswerValue::Pass,
        note: None,
        media: vec![],
    }
}

pub fn fail(note: &str) -> AnswerInput {
    AnswerInput {
        value: AnswerValue::Fail,
        note: Some(note.into()),
        media: vec![],
    }
}

pub fn item(id: &str) -> ItemId {
    id.parse().expect("item id")
}
