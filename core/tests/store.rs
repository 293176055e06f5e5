//! Behaviour of the store through its public API: capture, read, merge, bad input.

mod common;

use common::*;
use siteproof_core::*;

#[test]
fn a_visit_captured_offline_is_all_there_after_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("phone.db");
    let t = template();
    let (visit, device) = {
        let mut store = store_at(&path, "张三");
        let visit = store
            .create_visit(new_visit(&t, "华北化工厂"))
            .expect("create");
        store
            .answer_item(&visit, &item("exits"), fail("二号出口堵塞"))
            .expect("answer");
        store
            .answer_item(
                &visit,
                &item("extinguishers"),
                AnswerInput {
                    value: AnswerValue::Number(4.0),
                    note: None,
                    media: vec![],
                },
            )
            .expect("number");
        let photo = MediaRef {
            hash: "a".repeat(64).parse().expect("hash"),
            size: 1234,
            kind: MediaKind::Photo,
            mime: "image/jpeg".into(),
            captured_at: 1,
            location: None,
            device: store.device_id().clone(),
            signature: None,
        };
        store.attach_media(&visit, &photo).expect("attach");
        store
            .add_finding(
                &visit,
                NewFinding {
                    description: "安全出口被货物堵塞".into(),
                    severity: Severity::Major,
                    item: Some(item("exits")),
                    location: None,
                    media: vec![photo.hash.clone()],
                    fixed_on_spot: true,
                    interim_measures: None,
                },
            )
            .expect("finding");
        (visit, store.device_id().clone())
    };

    let mut store = Store::open(&path).expect("reopen");
    assert_eq!(store.device_id(), &device, "device id persists");
    let v = store.visit(&visit).expect("load");
    assert_eq!(v.site.name, "华北化工厂");
    assert_eq!(v.mode, VisitMode::Covert);
    assert_eq!(v.answers["exits"].value, AnswerValue::Fail);
    assert_eq!(v.answers["exits"].note.as_deref(), Some("二号出口堵塞"));
    assert_eq!(v.answers["exits"].by, "张三");
    assert_eq!(v.answers["extinguishers"].value, AnswerValue::Number(4.0));
    assert_eq!(v.findings.len(), 1);
    assert!(
        v.findings
            .values()
            .all(|f| f.fixed_on_spot && f.media.len() == 1)
    );
    let list = store.list_visits().expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(
        (
            list[0].answered,
            list[0].major_findings,
            list[0].general_findings
        ),
        (2, 1, 0)
    );
    assert_eq!(
        store.outbox_len().expect("outbox"),
        5,
        "five visit changes; the template is not ours to push"
    );
}

#[test]
fn two_inspectors_answering_one_item_offline_keep_both_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = template();
    let mut a = store_at(&dir.path().join("a.db"), "张三");
    let mut b = store_at(&dir.path().join("b.db"), "李四");
    let visit = a.create_visit(new_visit(&t, "仓库")).expect("create");
    b.merge(
        Some(&visit),
        &a.export_document(&visit).expect("export"),
        MergeOrigin::Peer,
    )
    .expect("b gets the visit");

    a.answer_item(&visit, &item("exits"), pass())
        .expect("a answers");
    b.answer_item(&visit, &item("exits"), fail("堵塞"))
        .expect("b answers");
    b.answer_item(
        &visit,
        &item("remarks"),
        AnswerInput {
            value: AnswerValue::Text("夜间无人值守".into()),
            note: None,
            media: vec![],
        },
    )
    .expect("b answers another item");

    let from_b = b.export_document(&visit).expect("export b");
    let from_a = a.export_document(&visit).expect("export a");
    a.merge(Some(&visit), &from_b, MergeOrigin::Peer)
        .expect("a merges b");
    b.merge(Some(&visit), &from_a, MergeOrigin::Peer)
        .expect("b merges a");

    for store in [&mut a, &mut b] {
        let conflicts = store.conflicts(&visit).expect("conflicts");
        assert_eq!(conflicts.len(), 1, "exactly the one item conflicts");
        assert_eq!(conflicts[0].item, item("exits"));
        let mut values: Vec<_> = conflicts[0].answers.iter().map(|a| a.by.clone()).collect();
        values.sort();
        assert_eq!(values, ["張三".replace('張', "张"), "李四".to_string()]);
        let shown = store.visit(&visit).expect("visit").answers["exits"].clone();
        assert_eq!(
            shown, conflicts[0].answers[0],
            "the shown value is listed first"
        );
        assert_eq!(store.list_visits().expect("list")[0].conflicts, 1);
    }
    assert_eq!(
        a.visit(&visit).expect("a"),
        b.visit(&visit).expect("b"),
        "replicas agree"
    );

    // Answering again after seeing both resolves the conflict.
    a.answer_item(&visit, &item("exits"), fail("确认堵塞"))
        .expect("resolve");
    assert!(a.conflicts(&visit).expect("conflicts").is_empty());
}

#[test]
fn bad_input_is_a_typed_error_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = template();
    let mut store = store_at(&dir.path().join("s.db"), "张三");
    let visit = store.create_visit(new_visit(&t, "工地")).expect("create");
    let before = (
        store.export_document(&visit).expect("export"),
        store.outbox_len().expect("n"),
    );
    let unchanged = |store: &mut Store| {
        assert_eq!(store.export_document(&visit).expect("export"), before.0);
        assert_eq!(store.outbox_len().expect("n"), before.1);
    };

    let err = store
        .merge(None, b"\x85garbage bytes", MergeOrigin::Peer)
        .unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err}");
    let err = store
        .merge(Some(&visit), b"\x85garbage bytes", MergeOrigin::Peer)
        .unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err}");
    unchanged(&mut store);

    let template_id = t.record_id();
    assert!(matches!(
        store.visit(&template_id),
        Err(Error::WrongKind { .. })
    ));
    let err = store
        .answer_item(&template_id, &item("exits"), pass())
        .unwrap_err();
    assert!(matches!(err, Error::WrongKind { .. }), "{err}");

    let unknown: RecordId = "no-such-visit".parse().expect("id");
    assert!(matches!(store.visit(&unknown), Err(Error::NotFound { .. })));
    assert!(matches!(
        store.answer_item(&unknown, &item("exits"), pass()),
        Err(Error::NotFound { .. })
    ));

    let err = store
        .answer_item(&visit, &item("not-in-template"), pass())
        .unwrap_err();
    assert!(matches!(err, Error::UnknownItem { .. }), "{err}");
    let err = store
        .answer_item(
            &visit,
            &item("exits"),
            AnswerInput {
                value: AnswerValue::Number(3.0),
                note: None,
                media: vec![],
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidAnswer { .. }), "{err}");
    let err = store
        .answer_item(
            &visit,
            &item("alarm"),
            AnswerInput {
                value: AnswerValue::Choice("不存在".into()),
                note: None,
                media: vec![],
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidAnswer { .. }), "{err}");
    let err = store
        .answer_item(
            &visit,
            &item("exits"),
            AnswerInput {
                value: AnswerValue::Fail,
                note: None,
                media: vec!["b".repeat(64).parse().expect("hash")],
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::UnknownMedia { .. }), "{err}");
    unchanged(&mut store);

    // A document of another kind posing as this visit is refused.
    let mut other = store_at(&dir.path().join("o.db"), "王五");
    let other_visit = other.create_visit(new_visit(&t, "别处")).expect("create");
    let err = store
        .merge(
            Some(&visit),
            &other.export_document(&other_visit).expect("x"),
            MergeOrigin::Peer,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Malformed(_) | Error::WrongKind { .. }),
        "{err}"
    );
    unchanged(&mut store);
    assert!(
        store.answer_item(&visit, &item("exits"), pass()).is_ok(),
        "store still works"
    );
}

#[test]
fn changes_with_missing_history_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = template();
    let mut a = store_at(&dir.path().join("a.db"), "张三");
    let mut b = store_at(&dir.path().join("b.db"), "李四");
    let visit = a.create_visit(new_visit(&t, "矿山")).expect("create");
    b.merge(
        Some(&visit),
        &a.export_document(&visit).expect("x"),
        MergeOrigin::Peer,
    )
    .expect("merge");
    a.answer_item(&visit, &item("exits"), pass()).expect("1");
    a.answer_item(&visit, &item("exits"), fail("x")).expect("2");
    let pending = a.pending_changes(10).expect("pending");
    let last = pending
        .iter()
        .find(|p| p.id == visit)
        .expect("visit pending")
        .changes
        .last()
        .expect("c")
        .clone();
    let before = b.export_document(&visit).expect("x");
    let err = b
        .merge(Some(&visit), &last, MergeOrigin::Server)
        .unwrap_err();
    assert!(matches!(err, Error::MissingDependencies { .. }), "{err}");
    assert_eq!(b.export_document(&visit).expect("x"), before);
}

#[test]
fn many_captures_are_compacted_into_a_snapshot_without_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.db");
    let t = template_with_items(150);
    let visit = {
        let mut store = Store::open(&path).expect("open");
        store.set_profile(&profile("张三")).expect("p");
        store.put_template(&t).expect("template");
        let visit = store.create_visit(new_visit(&t, "大厂")).expect("create");
        for i in 0..400 {
            store
                .answer_item(&visit, &item(&format!("i{}", i % 150)), pass())
                .expect("answer");
        }
        let (chunks, snapshots) = store.chunk_stats(&visit).expect("stats");
        assert!(
            chunks < 300,
            "old chunks deleted after the snapshot ({chunks} left of 401 writes)"
        );
        assert_eq!(snapshots, 1);
        visit
    };
    let mut store = Store::open(&path).expect("reopen");
    assert_eq!(store.visit(&visit).expect("visit").answers.len(), 150);
    assert_eq!(store.list_visits().expect("list")[0].answered, 150);
}

#[test]
fn template_versions_are_immutable_and_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = store_at(&dir.path().join("t.db"), "张三");
    let t = template();
    assert!(
        store.put_template(&t).is_err(),
        "same version twice is refused"
    );
    let mut v2 = t.clone();
    v2.version = 2;
    v2.items.pop();
    store.put_template(&v2).expect("v2");
    let list = store.list_templates().expect("list");
    assert_eq!(
        list.iter()
            .map(|s| (s.version, s.items))
            .collect::<Vec<_>>(),
        [(1, 4), (2, 3)]
    );
    let visit = store
        .create_visit(new_visit(&t, "v1 visit"))
        .expect("visit on v1");
    store
        .answer_item(
            &visit,
            &item("alarm"),
            AnswerInput {
                value: AnswerValue::Choice("正常".into()),
                note: None,
                media: vec![],
            },
        )
        .expect("v1 still has the alarm item");
    let mut bad = t.clone();
    bad.version = 3;
    bad.items[1].id = bad.items[0].id.clone();
    assert!(matches!(
        store.put_template(&bad),
        Err(Error::InvalidTemplate { .. })
    ));
}
