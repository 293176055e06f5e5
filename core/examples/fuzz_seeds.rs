//! Writes the valid seeds of the fuzz corpora (`fuzz/corpus/<target>/seed-*`) from real data:
//! a store captures a visit, and its sync request and saved documents become the seeds.
//!
//! ```sh
//! cargo run -p siteproof-core --example fuzz_seeds -- fuzz/corpus
//! ```
//!
//! The scope is the one `siteproof_server::fuzz_entry` gives its device, so pushed visits
//! pass validation.

use std::path::{Path, PathBuf};

use serde_bytes::ByteBuf;
use siteproof_core::sync::wire::{self, Cursor, PushRecord, SyncRequest};
use siteproof_core::*;

const TEMPLATE: &str = r#"{
  "id": "gas-demo", "version": 1, "sector": "gas",
  "title": {"zh": "燃气检查", "en": "Gas check"},
  "source": {"document": "城镇燃气经营安全重大隐患判定标准", "reference": "demo"},
  "items": [{"id": "g-01", "text": {"zh": "报警器完好", "en": "Gas alarm works"},
             "criterion": {"document": "城镇燃气经营安全重大隐患判定标准", "clause": "第三条"},
             "severity": "major", "answer": {"kind": "pass_fail"}, "evidence_required": true}]
}"#;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(dir.path().join("seeds.db"))?;
    store.set_profile(&Profile {
        inspector: "张三".into(),
        scope: Scope::group("fuzz-region", "fuzz-group"),
    })?;
    let template: Template = serde_json::from_str(TEMPLATE)?;
    let template_record = store.put_template(&template)?;
    let visit = store.create_visit(NewVisit {
        site: Site {
            name: "某燃气站".into(),
            credit_code: None,
            address: "石家庄".into(),
            sector: Sector::Gas,
        },
        mode: VisitMode::Covert,
        team: vec!["张三".into()],
        template: TemplateRef {
            id: template.id.clone(),
            version: 1,
        },
        assignment: None,
        location: None,
    })?;
    store.answer_item(
        &visit,
        &"g-01".parse()?,
        AnswerInput {
            value: AnswerValue::Fail,
            note: Some("报警器断电".into()),
            media: vec![],
        },
    )?;
    store.add_finding(
        &visit,
        NewFinding {
            description: "可燃气体报警器未通电".into(),
            severity: Severity::Major,
            item: Some("g-01".parse()?),
            location: None,
            media: vec![],
            fixed_on_spot: false,
            interim_measures: Some("停止营业".into()),
        },
    )?;

    // document_import: saved documents, and a visit as a run of changes.
    let docs = out.join("document_import");
    write(&docs, "seed-visit-saved", &store.export_document(&visit)?)?;
    write(
        &docs,
        "seed-template-saved",
        &store.export_document(&template_record)?,
    )?;
    let pending = store.pending_changes(10)?;
    let visit_changes = pending
        .iter()
        .find(|p| p.id == visit)
        .ok_or("the visit has pending changes")?;
    write(&docs, "seed-visit-changes", &visit_changes.changes.concat())?;

    // sync_request: the real request, a pull-only one, and one with a cursor and need_full.
    let sync = out.join("sync_request");
    let mut request = store.prepare_sync()?;
    request.push.retain(|p| p.id == visit);
    write(&sync, "seed-push-visit", &wire::encode(&request))?;
    let pull = SyncRequest {
        cursor: Some(Cursor {
            epoch: "695d21a23f414deebded2662d3099c2d".into(),
            seq: 3,
            check: ByteBuf::from(vec![7; 32]),
            reads: Vec::new(),
        }),
        push: vec![],
        need_full: vec![visit.clone()],
        max_bytes: 1 << 20,
        reads: Vec::new(),
    };
    write(&sync, "seed-pull-cursor", &wire::encode(&pull))?;
    let first_change_only = SyncRequest {
        cursor: None,
        push: vec![PushRecord {
            id: visit.clone(),
            changes: visit_changes.changes[..1]
                .iter()
                .cloned()
                .map(ByteBuf::from)
                .collect(),
        }],
        need_full: vec![],
        max_bytes: 0,
        reads: Vec::new(),
    };
    write(
        &sync,
        "seed-push-creation",
        &wire::encode(&first_change_only),
    )?;
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name), bytes)
}
