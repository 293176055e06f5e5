//! Shared fixtures for the cross-crate scenarios in `tests/tests/` and the `capture-loop`
//! helper that the crash test kills.

pub mod footage;
pub mod peer;
pub mod procstat;
pub mod proxy;
pub mod server;

use rand::SeedableRng;
use rand::rngs::StdRng;
use siteproof_core::{
    AnswerInput, AnswerValue, GeoPoint, NewFinding, NewVisit, Profile, RecordId, Scope, Severity,
    Site, Store, Template, TemplateRef, VisitMode,
};

/// A checklist template with `n` pass/fail items named `i0`, `i1`, ...
pub fn template(n: usize) -> Template {
    let items: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "id": format!("i{i}"),
                "text": {"zh": format!("检查项 {i}"), "en": format!("Check item {i}")},
                "criterion": {"document": "测试判定标准", "clause": format!("第{i}条")},
                "severity": if i % 5 == 0 { "major" } else { "general" },
                "answer": {"kind": "pass_fail"},
                "evidence_required": i % 5 == 0
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "id": "scenario", "version": 1, "sector": "hazardous_chemicals",
        "title": {"zh": "场景模板", "en": "Scenario template"},
        "source": {"document": "测试判定标准", "reference": "test"},
        "items": items
    }))
    .expect("scenario template is valid")
}

/// A new covert visit to `site` with template `t`.
pub fn new_visit(t: &Template, site: &str) -> NewVisit {
    NewVisit {
        site: Site {
            name: site.into(),
            credit_code: None,
            address: "河北省石家庄市".into(),
            sector: t.sector,
        },
        mode: VisitMode::Covert,
        team: vec!["检查员".into()],
        template: TemplateRef {
            id: t.id.clone(),
            version: t.version,
        },
        assignment: None,
        location: Some(GeoPoint {
            lat: 38.0,
            lon: 114.5,
            accuracy_m: None,
        }),
    }
}

/// Answers `item` of `visit` with `value` and a note.
pub fn answer(store: &mut Store, visit: &RecordId, item: &str, value: AnswerValue, note: &str) {
    store
        .answer_item(
            visit,
            &item.parse().expect("item"),
            AnswerInput {
                value,
                note: Some(note.into()),
                media: vec![],
            },
        )
        .expect("answer");
}

/// Records a major finding described as `text` on `visit`; its id.
pub fn finding(store: &mut Store, visit: &RecordId, text: &str) -> siteproof_core::FindingId {
    store
        .add_finding(
            visit,
            NewFinding {
                description: text.into(),
                severity: Severity::Major,
                item: None,
                location: None,
                media: vec![],
                fixed_on_spot: false,
                interim_measures: None,
            },
        )
        .expect("finding")
}

/// The profile every scenario device uses unless it says otherwise.
pub fn profile(inspector: &str) -> Profile {
    Profile {
        inspector: inspector.into(),
        scope: Scope::group("hebei", "g1"),
    }
}

/// Opens a store and sets its profile.
pub fn open_store(path: &std::path::Path, inspector: &str) -> Store {
    let mut store = Store::open(path).expect("open store");
    store.set_profile(&profile(inspector)).expect("set profile");
    store
}

/// The seed for a randomised test: `SITEPROOF_SEED` if set, else random. Printed, so a
/// failure can be replayed.
pub fn seeded_rng(test: &str) -> (u64, StdRng) {
    let seed = std::env::var("SITEPROOF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("{test}: seed {seed} (replay with SITEPROOF_SEED={seed})");
    (seed, StdRng::seed_from_u64(seed))
}

/// Writes a `len`-byte clip (a fixed pseudo-random pattern) to `path` and attaches it to
/// `visit` as video evidence; returns the file's reference.
pub fn attach_clip(
    store: &mut Store,
    media: &siteproof_core::media::MediaStore,
    visit: &RecordId,
    path: &std::path::Path,
    len: u32,
) -> siteproof_core::MediaRef {
    let bytes: Vec<u8> = (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(path, &bytes).expect("clip");
    let capture = siteproof_core::MediaCapture {
        kind: siteproof_core::MediaKind::Video,
        mime: "video/mp4".into(),
        captured_at: None,
        location: None,
        poster: None,
    };
    store
        .add_evidence(visit, media, path, capture)
        .expect("evidence")
}
