//! A client in another language, written from `docs/sync-protocol.md` and `docs/records.md`
//! alone (`tests/js-client/client.mjs`: JavaScript with `@automerge/automerge` and `cborg`),
//! against a real server: it enrolls, pulls the template, creates a visit answering an item of
//! every answer kind and pushes it; a Rust device reads that visit field for field. Then it
//! pushes each kind of malformed record: each is refused with 422, nothing is stored, the
//! group's Rust devices keep syncing and a new device enrolls.
//!
//! Needs Node.js and `npm ci` in `tests/js-client` (what `scripts/test-all.sh` does).

use std::path::PathBuf;
use std::process::Command;

use siteproof_core::{AnswerInput, AnswerValue, RecordId, Template, Visit};
use siteproof_tests::server::TestServer;

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js-client")
}

fn run_client(args: &[&str]) -> serde_json::Value {
    assert!(
        client_dir()
            .join("node_modules/@automerge/automerge")
            .is_dir(),
        "the JavaScript client's packages are not installed: run `npm ci` in tests/js-client"
    );
    let out = Command::new("node")
        .arg(client_dir().join("client.mjs"))
        .args(args)
        .output()
        .expect("node runs (install Node.js)");
    assert!(
        out.status.success(),
        "js client {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the js client prints JSON")
}

/// A template with one item of each answer kind.
fn template() -> Template {
    let item = |id: &str, answer: serde_json::Value| {
        serde_json::json!({
            "id": id, "text": {"zh": "检查项", "en": "Check item"},
            "criterion": {"document": "判定标准", "clause": "第三条"}, "severity": "major",
            "answer": answer, "evidence_required": false
        })
    };
    serde_json::from_value(serde_json::json!({
        "id": "js", "version": 3, "sector": "gas",
        "title": {"zh": "燃气", "en": "Gas"},
        "source": {"document": "判定标准", "reference": "test"},
        "items": [
            item("pf", serde_json::json!({"kind": "pass_fail"})),
            item("num", serde_json::json!({"kind": "number", "unit": "%LEL"})),
            item("txt", serde_json::json!({"kind": "text"})),
            item("ch", serde_json::json!({"kind": "choice", "choices": ["正常", "异常"]})),
        ]
    }))
    .expect("template")
}

#[test]
fn a_client_written_from_the_docs_in_javascript_syncs_and_its_malformed_pushes_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let group = server.create_group("第一督导组");
    server.publish_template(&template());
    let mut a = server.enroll_store(&group, &dir.path().join("a.db"), "甲");
    let state = dir.path().to_str().expect("utf-8 path");
    let url = server.url();

    let code = server.enrollment_code(&group);
    let good = run_client(&["good", state, &url, &code]);
    let expected: Visit = serde_json::from_value(good["visit"].clone()).expect("visit JSON");
    a.sync().expect("a pulls the js visit");
    let read = a.visit(&expected.id).expect("a reads the js visit");
    assert_eq!(read, expected, "field for field");
    assert_eq!(read.answers.len(), 4, "one answer per answer kind");
    assert_eq!(read.answers["num"].value, AnswerValue::Number(12.5));
    assert_eq!(read.answers["ch"].value, AnswerValue::Choice("正常".into()));

    let js_visit = expected.id.clone();
    let before = server
        .block_on(server.state().storage.full_document(&js_visit))
        .expect("storage")
        .map(|f| f.to_bytes());
    let bad = run_client(&["bad", state, &url]);
    let refused = bad["refused"].as_array().expect("list");
    assert_eq!(refused.len(), 9);
    for r in refused {
        let form = r["form"].as_str().expect("form");
        let want = if form == "a schema change" {
            "header_changed"
        } else {
            "invalid_record"
        };
        assert_eq!(
            (r["status"].as_u64(), r["error"].as_str()),
            (Some(422), Some(want)),
            "{form}: {r}"
        );
        let id: RecordId = r["id"].as_str().expect("id").parse().expect("record id");
        if id != js_visit {
            let held = server
                .block_on(server.state().storage.full_document(&id))
                .expect("storage");
            assert!(held.is_none(), "{form}: nothing stored");
        }
    }
    let after = server
        .block_on(server.state().storage.full_document(&js_visit))
        .expect("storage")
        .map(|f| f.to_bytes());
    assert_eq!(before, after, "the js visit is as it was");

    // The group goes on: a Rust device answers the js visit, and a new device gets it all.
    a.answer_item(
        &js_visit,
        &"pf".parse().expect("item"),
        AnswerInput {
            value: AnswerValue::Pass,
            note: Some("复查".into()),
            media: vec![],
        },
    )
    .expect("answer");
    a.sync().expect("a syncs");
    let mut b = server.enroll_store(&group, &dir.path().join("b.db"), "乙");
    assert_eq!(b.list_templates().expect("templates").len(), 1);
    let seen = b.visit(&js_visit).expect("b reads the js visit");
    assert_eq!(seen.answers["pf"].value, AnswerValue::Pass);
    assert!(b.unreadable_records().expect("unreadable").is_empty());
}
