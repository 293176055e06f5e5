//! Records are a contract: a pushed record the model cannot read is refused whole with 422
//! `invalid_record` (or `header_changed`), nothing of the request is stored, and the group's
//! other devices keep syncing and new devices enroll. A server that stored such a record
//! before it checked content (written here straight into its storage) does not stop devices
//! either: they keep the record aside as unreadable and read it once it is repaired.

use automerge::{AutoCommit, ROOT, ReadDoc, ScalarValue, transaction::Transactable};
use serde_bytes::ByteBuf;
use siteproof_core::sync::wire::{self, PushRecord, SyncRequest};
use siteproof_core::{AnswerInput, AnswerValue, RecordId, RecordKind, Store, Template};
use siteproof_server::GroupId;
use siteproof_server::storage::{PushWrite, RecordWrite};
use siteproof_tests::server::TestServer;

struct Group {
    dir: tempfile::TempDir,
    server: TestServer,
    group: GroupId,
    template: Template,
    a: Store,
    b: Store,
    /// Holds a token and makes the records the malformed pushes start from; never syncs.
    m: Store,
    visit: RecordId,
}

fn group() -> Group {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let group = server.create_group("第一督导组");
    let template = siteproof_tests::template(4);
    server.publish_template(&template);
    let mut a = server.enroll_store(&group, &dir.path().join("a.db"), "甲");
    let mut b = server.enroll_store(&group, &dir.path().join("b.db"), "乙");
    let mut m = server.enroll_store(&group, &dir.path().join("m.db"), "丙");
    let visit = a
        .create_visit(siteproof_tests::new_visit(&template, "某化工企业"))
        .expect("visit");
    a.sync().expect("push");
    b.sync().expect("pull");
    m.sync().expect("pull");
    Group {
        dir,
        server,
        group,
        template,
        a,
        b,
        m,
        visit,
    }
}

/// Posts a raw push as device `m` and returns the status and the error code.
fn raw_push(g: &Group, records: Vec<(RecordId, Vec<Vec<u8>>)>) -> (u16, String, String) {
    let request = SyncRequest {
        cursor: None,
        push: records
            .into_iter()
            .map(|(id, changes)| PushRecord {
                id,
                changes: changes.into_iter().map(ByteBuf::from).collect(),
            })
            .collect(),
        need_full: vec![],
        max_bytes: 1 << 20,
        reads: Vec::new(),
    };
    let token = g.m.server_token().expect("token").expect("enrolled");
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/v1/sync", g.server.url()))
        .bearer_auth(token)
        .header("content-type", wire::CONTENT_TYPE)
        .body(wire::encode(&request))
        .send()
        .expect("send");
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().unwrap_or_default();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
        body["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// A new visit made through the model on `m`, loaded as a plain Automerge document.
fn fresh_visit(g: &mut Group) -> (RecordId, AutoCommit) {
    let id =
        g.m.create_visit(siteproof_tests::new_visit(&g.template, "新企业"))
            .expect("visit");
    let bytes = g.m.export_document(&id).expect("export");
    (id, AutoCommit::load(&bytes).expect("load"))
}

fn all_changes(doc: &mut AutoCommit) -> Vec<Vec<u8>> {
    doc.get_changes(&[])
        .into_iter()
        .map(|mut c| c.bytes().into_owned())
        .collect()
}

fn last_change(doc: &mut AutoCommit) -> Vec<u8> {
    all_changes(doc).pop().expect("a change")
}

/// What the server holds of a record, as bytes (`None`: nothing).
fn stored(g: &Group, id: &RecordId) -> Option<Vec<u8>> {
    g.server
        .block_on(g.server.state().storage.full_document(id))
        .expect("storage")
        .map(|f| f.to_bytes())
}

/// The group goes on: `a` answers, `b` sees it, and a new device enrolls and gets the
/// template and the visit (and `unreadable` records it keeps aside).
fn group_keeps_syncing(g: &mut Group, round: usize, unreadable: usize) {
    let note = format!("round {round}");
    g.a.answer_item(
        &g.visit,
        &"i1".parse().expect("item"),
        AnswerInput {
            value: AnswerValue::Fail,
            note: Some(note.clone()),
            media: vec![],
        },
    )
    .expect("answer");
    g.a.sync().expect("a syncs");
    g.b.sync().expect("b syncs");
    let seen = g.b.visit(&g.visit).expect("visit on b");
    assert_eq!(seen.answers["i1"].note.as_deref(), Some(note.as_str()));
    let path = g.dir.path().join(format!("new{round}.db"));
    let mut fresh = g.server.enroll_store(&g.group, &path, "丁");
    assert_eq!(fresh.list_templates().expect("templates").len(), 1);
    assert!(fresh.visit(&g.visit).is_ok(), "new device has the visit");
    assert_eq!(
        fresh.unreadable_records().expect("unreadable").len(),
        unreadable
    );
}

#[test]
fn each_malformed_visit_is_refused_whole_and_the_group_keeps_syncing() {
    let mut g = group();
    type Break = fn(&mut AutoCommit);
    let new_record_forms: [(&str, Break, &str); 5] = [
        (
            "times as unsigned ints",
            |d| {
                d.put(ROOT, "started_at", ScalarValue::Uint(1_700_000_000_000))
                    .expect("put");
            },
            "started_at",
        ),
        (
            "template as a string",
            |d| {
                d.put(ROOT, "template", "scenario@1").expect("put");
            },
            "template",
        ),
        (
            "a missing null field",
            |d| {
                d.delete(ROOT, "ended_at").expect("delete");
            },
            "ended_at",
        ),
        (
            "a header string as text",
            |d| {
                d.put_object(ROOT, "kind", automerge::ObjType::Text)
                    .expect("put");
            },
            "kind",
        ),
        (
            "a schema this version does not know",
            |d| {
                d.put(ROOT, "schema", ScalarValue::Uint(2)).expect("put");
            },
            "schema",
        ),
    ];
    for (round, (form, break_it, path)) in new_record_forms.into_iter().enumerate() {
        let (id, mut doc) = fresh_visit(&mut g);
        break_it(&mut doc);
        doc.commit();
        // A valid record in the same request: refused with the bad one.
        let (good, mut good_doc) = fresh_visit(&mut g);
        let (status, code, message) = raw_push(
            &g,
            vec![
                (good.clone(), all_changes(&mut good_doc)),
                (id.clone(), all_changes(&mut doc)),
            ],
        );
        assert_eq!(
            (status, code.as_str()),
            (422, "invalid_record"),
            "{form}: {message}"
        );
        assert!(
            message.contains(id.as_str()),
            "{form}: names the record: {message}"
        );
        assert!(
            message.contains(&format!("\"{path}")),
            "{form}: names {path}: {message}"
        );
        assert_eq!(stored(&g, &id), None, "{form}: nothing stored");
        assert_eq!(
            stored(&g, &good),
            None,
            "{form}: nothing of the request stored"
        );
        group_keeps_syncing(&mut g, round, 0);
    }

    // Changes to a stored record: an answer that is not one, and a header change.
    let before = stored(&g, &g.visit).expect("stored");
    let mut doc = AutoCommit::load(&g.b.export_document(&g.visit).expect("export")).expect("load");
    let answers = match doc.get(ROOT, "answers").expect("get") {
        Some((_, obj)) => obj,
        None => panic!("a visit has answers"),
    };
    let maybe = r#"{"value":"maybe","note":null,"media":[],"by":"乙","device":"d1","at":1}"#;
    doc.put(&answers, "i0", maybe).expect("put");
    doc.commit();
    let (status, code, message) =
        raw_push(&g, vec![(g.visit.clone(), vec![last_change(&mut doc)])]);
    assert_eq!(
        (status, code.as_str()),
        (422, "invalid_record"),
        "{message}"
    );
    assert!(message.contains("answers/i0/value"), "{message}");
    assert_eq!(stored(&g, &g.visit), Some(before.clone()), "nothing stored");
    group_keeps_syncing(&mut g, 10, 0);

    let before = stored(&g, &g.visit).expect("stored");
    let mut doc = AutoCommit::load(&g.b.export_document(&g.visit).expect("export")).expect("load");
    doc.put(ROOT, "schema", ScalarValue::Uint(2)).expect("put");
    doc.commit();
    let (status, code, message) =
        raw_push(&g, vec![(g.visit.clone(), vec![last_change(&mut doc)])]);
    assert_eq!(
        (status, code.as_str()),
        (422, "header_changed"),
        "{message}"
    );
    assert_eq!(stored(&g, &g.visit), Some(before), "nothing stored");
    group_keeps_syncing(&mut g, 11, 0);
}

#[test]
fn each_malformed_update_to_a_stored_record_is_refused_where_it_writes() {
    // The server checks what a push to a stored record writes (each field or map entry
    // whole), not the whole record again: every form must still be refused at its field.
    let mut g = group();
    type Break = fn(&mut AutoCommit);
    let forms: [(&str, Break, &str); 6] = [
        (
            "start time as an unsigned int",
            |d| {
                d.put(ROOT, "started_at", ScalarValue::Uint(1))
                    .expect("put");
            },
            "started_at",
        ),
        (
            "a missing null field",
            |d| {
                d.delete(ROOT, "ended_at").expect("delete");
            },
            "ended_at",
        ),
        (
            "template as a string",
            |d| {
                d.put(ROOT, "template", "scenario@1").expect("put");
            },
            "template",
        ),
        (
            "a sector that is none",
            |d| {
                let site = match d.get(ROOT, "site").expect("get") {
                    Some((_, obj)) => obj,
                    None => panic!("a visit has a site"),
                };
                d.put(&site, "sector", "bakery").expect("put");
            },
            "site/sector",
        ),
        (
            "a finding without its fields",
            |d| {
                let findings = match d.get(ROOT, "findings").expect("get") {
                    Some((_, obj)) => obj,
                    None => panic!("a visit has findings"),
                };
                let f = d
                    .put_object(
                        &findings,
                        "0190f3a1-8000-7000-8000-000000000009",
                        automerge::ObjType::Map,
                    )
                    .expect("put");
                d.put(&f, "id", "0190f3a1-8000-7000-8000-000000000009")
                    .expect("put");
            },
            "findings/0190f3a1-8000-7000-8000-000000000009/",
        ),
        (
            "an answer under a key that is no item id",
            |d| {
                let answers = match d.get(ROOT, "answers").expect("get") {
                    Some((_, obj)) => obj,
                    None => panic!("a visit has answers"),
                };
                d.put(&answers, "not an item", "{}").expect("put");
            },
            "answers/not an item",
        ),
    ];
    for (round, (form, break_it, path)) in forms.into_iter().enumerate() {
        let before = stored(&g, &g.visit).expect("stored");
        let mut doc =
            AutoCommit::load(&g.b.export_document(&g.visit).expect("export")).expect("load");
        break_it(&mut doc);
        doc.commit();
        let (status, code, message) =
            raw_push(&g, vec![(g.visit.clone(), vec![last_change(&mut doc)])]);
        assert_eq!(
            (status, code.as_str()),
            (422, "invalid_record"),
            "{form}: {message}"
        );
        assert!(
            message.contains(&format!("\"{path}")),
            "{form}: names {path}: {message}"
        );
        assert_eq!(stored(&g, &g.visit), Some(before), "{form}: nothing stored");
        group_keeps_syncing(&mut g, 20 + round, 0);
    }
}

#[test]
fn an_answer_that_does_not_fit_its_template_item_is_refused() {
    let mut g = group();
    let mut doc = AutoCommit::load(&g.b.export_document(&g.visit).expect("export")).expect("load");
    let answers = match doc.get(ROOT, "answers").expect("get") {
        Some((_, obj)) => obj,
        None => panic!("a visit has answers"),
    };
    // Well-formed, but `i0` is a pass/fail item, and `zz` is no item of the template.
    for (item, json) in [
        (
            "i0",
            r#"{"value":{"number":1.5},"note":null,"media":[],"by":"乙","device":"d1","at":1}"#,
        ),
        (
            "zz",
            r#"{"value":"pass","note":null,"media":[],"by":"乙","device":"d1","at":1}"#,
        ),
    ] {
        let mut copy = doc.fork();
        copy.put(&answers, item, json).expect("put");
        copy.commit();
        let (status, code, message) =
            raw_push(&g, vec![(g.visit.clone(), vec![last_change(&mut copy)])]);
        assert_eq!(
            (status, code.as_str()),
            (422, "invalid_record"),
            "{message}"
        );
        assert!(message.contains(&format!("answers/{item}")), "{message}");
    }
    doc.put(
        &answers,
        "i0",
        r#"{"value":"not_applicable","note":null,"media":[],"by":"乙","device":"d1","at":1}"#,
    )
    .expect("put");
    doc.commit();
    let (status, _, message) = raw_push(&g, vec![(g.visit.clone(), vec![last_change(&mut doc)])]);
    assert_eq!(status, 200, "a fitting answer is stored: {message}");
    group_keeps_syncing(&mut g, 0, 0);
}

/// Writes `changes` of record `id` straight into the server's storage, as a server from
/// before content checks would have stored them.
fn store_unchecked(g: &Group, doc: &AutoCommit, changes: Vec<automerge::Change>) {
    let header = siteproof_core::RecordHeader::read(doc).expect("header");
    let write = PushWrite {
        pushed_by: None,
        records: vec![RecordWrite {
            header,
            changes: changes
                .into_iter()
                .map(|mut c| (c.hash().0, c.bytes().into_owned()))
                .collect(),
            known_through: 0,
            snapshot: None,
        }],
    };
    g.server
        .block_on(g.server.state().storage.store_push(&write))
        .expect("stored without checks");
}

#[test]
fn devices_skip_an_unreadable_record_an_older_server_stored_and_read_it_once_repaired() {
    let mut g = group();
    let (id, mut doc) = fresh_visit(&mut g);
    let valid_heads = doc.get_heads();
    doc.put(ROOT, "started_at", ScalarValue::Uint(1_700_000_000_000))
        .expect("put");
    doc.commit();
    let all = doc.get_changes(&[]);
    store_unchecked(&g, &doc, all);

    for store in [&mut g.a, &mut g.b] {
        store.sync().expect("sync goes on");
        let unreadable = store.unreadable_records().expect("unreadable");
        assert_eq!(unreadable.len(), 1);
        assert_eq!(unreadable[0].id, id);
        assert_eq!(unreadable[0].path, "started_at");
        assert_eq!(
            store.record_kind(&id).expect("kind"),
            Some(RecordKind::Visit),
            "kept"
        );
        let listed: Vec<RecordId> = store
            .list_visits()
            .expect("list")
            .into_iter()
            .map(|v| v.id)
            .collect();
        assert_eq!(listed, vec![g.visit.clone()], "left out of the list");
        assert!(matches!(
            store.visit(&id),
            Err(siteproof_core::Error::InvalidRecord { .. })
        ));
    }
    group_keeps_syncing(&mut g, 0, 1);

    // A repairing change (an Int again) makes it readable everywhere.
    doc.put(ROOT, "started_at", 1_700_000_000_000_i64)
        .expect("put");
    doc.commit();
    let repair: Vec<automerge::Change> =
        doc.get_changes(&valid_heads).into_iter().skip(1).collect();
    store_unchecked(&g, &doc, repair);
    g.a.sync().expect("sync");
    assert!(g.a.unreadable_records().expect("unreadable").is_empty());
    assert_eq!(
        g.a.visit(&id).expect("readable again").started_at,
        1_700_000_000_000
    );
    assert_eq!(g.a.list_visits().expect("list").len(), 2);
}
