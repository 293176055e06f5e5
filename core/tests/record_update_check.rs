//! The check of an update (`record_check::check_update`, what the server runs on a push to a
//! stored record) finds what the full check finds: every malformed form below, written as an
//! update to the full visit vector of `docs/record-vectors/`, is refused by both at the same
//! field, and every well-formed update passes both. It also reads only what the update wrote.

use std::path::PathBuf;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue as S};
use siteproof_core::RecordId;
use siteproof_core::record_check::{self, Touched};

const FINDING: &str = "0190f3a1-8000-7000-8000-000000000001";
const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const GOOD_ANSWER: &str = r#"{"value":"pass","note":null,"media":[],"by":"乙","device":"39b593e6-16e7-4763-9b33-4e35aebd3853","at":1}"#;

fn base() -> AutoCommit {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/record-vectors/visit-full.automerge");
    let bytes = std::fs::read(path).expect("vector");
    AutoCommit::load(&bytes).expect("loads")
}

fn obj(doc: &AutoCommit, path: &[&str]) -> ObjId {
    let mut at = ROOT;
    for key in path {
        at = match doc.get(&at, *key).expect("get") {
            Some((_, id)) => id,
            None => panic!("no {key}"),
        };
    }
    at
}

type Edit = fn(&mut AutoCommit);

const RESULT: &str = "0190f3a1-9000-7000-8000-000000000009";

/// Records a re-inspection result with `outcome`, making the visit's `reinspections` map if
/// it has none.
fn reinspection(d: &mut AutoCommit, outcome: &str) {
    let map = match d.get(ROOT, "reinspections").expect("get") {
        Some((_, id)) => id,
        None => d
            .put_object(ROOT, "reinspections", ObjType::Map)
            .expect("put"),
    };
    let r = d.put_object(&map, RESULT, ObjType::Map).expect("put");
    for (k, v) in [
        ("id", RESULT),
        ("case", "case:0123456789abcdef0123456789abcdef"),
        ("outcome", outcome),
        ("by", "张三"),
        ("device", "39b593e6-16e7-4763-9b33-4e35aebd3853"),
    ] {
        d.put(&r, k, v).expect("put");
    }
    d.put(&r, "note", S::Null).expect("put");
    d.put(&r, "at", 1_i64).expect("put");
    let media = d.put_object(&r, "media", ObjType::List).expect("put");
    d.insert(&media, 0, HASH).expect("insert");
}

/// Updates that leave the visit readable.
const GOOD: &[(&str, Edit)] = &[
    ("a new answer", |d| {
        let a = obj(d, &["answers"]);
        d.put(&a, "i-new", GOOD_ANSWER).expect("put");
    }),
    ("an answer deleted", |d| {
        let a = obj(d, &["answers"]);
        d.delete(&a, "i-pass").expect("delete");
    }),
    ("the visit ended again", |d| {
        d.put(ROOT, "ended_at", 1_733_400_000_000_i64).expect("put");
    }),
    ("a finding's description edited", |d| {
        let f = obj(d, &["findings", FINDING]);
        d.put(&f, "description", "已整改").expect("put");
    }),
    ("a finding's media list grows", |d| {
        let m = obj(d, &["findings", FINDING, "media"]);
        d.insert(&m, 1, HASH).expect("insert");
    }),
    ("a newer app's field", |d| {
        d.put(ROOT, "weather", "晴").expect("put");
    }),
    ("a team member added", |d| {
        let t = obj(d, &["team"]);
        d.insert(&t, 2, "王五").expect("insert");
    }),
    ("a re-inspection result recorded", |d| {
        reinspection(d, "rectified")
    }),
];

/// Updates that make the visit unreadable, and the field the refusal must name.
const BAD: &[(&str, Edit, &str)] = &[
    (
        "start time as an unsigned int",
        |d| {
            d.put(ROOT, "started_at", S::Uint(1)).expect("put");
        },
        "started_at",
    ),
    (
        "ended_at deleted",
        |d| {
            d.delete(ROOT, "ended_at").expect("delete");
        },
        "ended_at",
    ),
    (
        "template as a string",
        |d| {
            d.put(ROOT, "template", "chem-storage@2").expect("put");
        },
        "template",
    ),
    (
        "answers replaced by a string",
        |d| {
            d.put(ROOT, "answers", "none").expect("put");
        },
        "answers",
    ),
    (
        "an answer that is not one",
        |d| {
            let a = obj(d, &["answers"]);
            d.put(&a, "i-pass", r#"{"value":"maybe"}"#).expect("put");
        },
        "answers/i-pass/value",
    ),
    (
        "an answer as a text object",
        |d| {
            let a = obj(d, &["answers"]);
            d.put_object(&a, "i-pass", ObjType::Text).expect("put");
        },
        "answers/i-pass",
    ),
    (
        "an answer under a key that is no item id",
        |d| {
            let a = obj(d, &["answers"]);
            d.put(&a, "not an item", GOOD_ANSWER).expect("put");
        },
        "answers/not an item",
    ),
    (
        "a finding's severity unknown",
        |d| {
            let f = obj(d, &["findings", FINDING]);
            d.put(&f, "severity", "minor").expect("put");
        },
        "findings/0190f3a1-8000-7000-8000-000000000001/severity",
    ),
    (
        "a finding's id deleted",
        |d| {
            let f = obj(d, &["findings", FINDING]);
            d.delete(&f, "id").expect("delete");
        },
        "findings/0190f3a1-8000-7000-8000-000000000001/id",
    ),
    (
        "a finding's media hash malformed",
        |d| {
            let m = obj(d, &["findings", FINDING, "media"]);
            d.insert(&m, 0, "not a hash").expect("insert");
        },
        "findings/0190f3a1-8000-7000-8000-000000000001/media/0",
    ),
    (
        "a new finding stored under another id",
        |d| {
            let f = obj(d, &["findings"]);
            let other = "0190f3a1-8000-7000-8000-000000000002";
            let copy = d.put_object(&f, other, ObjType::Map).expect("put");
            for (k, v) in [
                ("id", FINDING),
                ("description", "x"),
                ("severity", "general"),
                ("by", "乙"),
                ("device", "39b593e6-16e7-4763-9b33-4e35aebd3853"),
            ] {
                d.put(&copy, k, v).expect("put");
            }
            d.put(&copy, "item", S::Null).expect("put");
            d.put(&copy, "location", S::Null).expect("put");
            d.put(&copy, "interim_measures", S::Null).expect("put");
            d.put(&copy, "fixed_on_spot", false).expect("put");
            d.put(&copy, "at", 1_i64).expect("put");
            d.put_object(&copy, "media", ObjType::List).expect("put");
        },
        "findings/0190f3a1-8000-7000-8000-000000000002/id",
    ),
    (
        "a media size as a signed int",
        |d| {
            let m = obj(d, &["media", HASH]);
            d.put(&m, "size", 5_i64).expect("put");
        },
        "media/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08/size",
    ),
    (
        "the site's sector unknown",
        |d| {
            let s = obj(d, &["site"]);
            d.put(&s, "sector", "bakery").expect("put");
        },
        "site/sector",
    ),
    (
        "the location's latitude as a string",
        |d| {
            let l = obj(d, &["location"]);
            d.put(&l, "lat", "38").expect("put");
        },
        "location/lat",
    ),
    (
        "a team member as an int",
        |d| {
            let t = obj(d, &["team"]);
            d.insert(&t, 0, 7_i64).expect("insert");
        },
        "team/0",
    ),
    (
        "a re-inspection result with an unknown outcome",
        |d| reinspection(d, "maybe"),
        "reinspections/0190f3a1-9000-7000-8000-000000000009/outcome",
    ),
    (
        "the kind changed",
        |d| {
            d.put(ROOT, "kind", "report").expect("put");
        },
        "collection",
    ),
];

/// Applies `edit` as an update and returns (touched, full check, update check) outcomes as
/// the path each refusal names.
fn both(edit: Edit) -> (Touched, Option<String>, Option<String>) {
    let id = "0190f3a1-7c2e-7a4b-8d1e-2f3a4b5c6d7e".parse().expect("id");
    as_update(base(), &id, edit)
}

/// Applies `edit`, made on another replica, as an update to record `id` held as `doc`.
fn as_update(
    mut doc: AutoCommit,
    id: &RecordId,
    edit: Edit,
) -> (Touched, Option<String>, Option<String>) {
    let mut device = doc.fork().with_actor(ActorId::from(vec![9_u8; 16]));
    let before = device.get_heads();
    edit(&mut device);
    device.commit();
    let changes = device.get_changes(&before);
    doc.apply_changes(changes.clone()).expect("applies");
    let touched = Touched::of(&doc, &changes);
    let path = |r: siteproof_core::Result<()>| match r {
        Ok(()) => None,
        Err(siteproof_core::Error::InvalidRecord { path, .. }) => Some(path),
        Err(e) => panic!("unexpected error {e}"),
    };
    let full = path(record_check::check(&doc, id, None));
    let update = path(record_check::check_update(&doc, id, None, &touched));
    (touched, full, update)
}

#[test]
fn the_update_check_passes_every_well_formed_update() {
    assert_eq!(both(|_| {}).1, None, "the vector reads as the model");
    for (what, edit) in GOOD {
        let (touched, full, update) = both(*edit);
        assert_eq!(full, None, "{what}: the full check passes");
        assert_eq!(
            update, None,
            "{what}: the update check passes ({touched:?})"
        );
    }
}

#[test]
fn the_update_check_refuses_every_malformed_update_at_the_field_the_full_check_names() {
    for (what, edit, path) in BAD {
        let (touched, full, update) = both(*edit);
        assert_eq!(full.as_deref(), Some(*path), "{what}: the full check");
        assert_eq!(
            update.as_deref(),
            Some(*path),
            "{what}: the update check ({touched:?})"
        );
    }
}

#[test]
fn a_bad_answer_concurrent_with_a_good_one_is_refused() {
    // Two devices answer one item offline; the losing value is as visible as the winner.
    let mut doc = base();
    let before = doc.get_heads();
    let mut a = doc.fork().with_actor(ActorId::from(vec![1_u8; 16]));
    let mut b = doc.fork().with_actor(ActorId::from(vec![0xfe_u8; 16]));
    let (aa, ba) = (obj(&a, &["answers"]), obj(&b, &["answers"]));
    a.put(&aa, "i-pass", GOOD_ANSWER).expect("put");
    b.put(&ba, "i-pass", r#"{"value":"maybe"}"#).expect("put");
    a.commit();
    b.commit();
    doc.apply_changes(a.get_changes(&before)).expect("stored");
    let pushed = b.get_changes(&before);
    doc.apply_changes(pushed.clone()).expect("pushed");
    let id: RecordId = "0190f3a1-7c2e-7a4b-8d1e-2f3a4b5c6d7e".parse().expect("id");
    let touched = Touched::of(&doc, &pushed);
    let refused = record_check::check_update(&doc, &id, None, &touched);
    assert!(
        matches!(&refused, Err(siteproof_core::Error::InvalidRecord { path, .. }) if path.starts_with("answers/i-pass")),
        "{refused:?}"
    );
}

/// Appends `edit`'s event to the case vector as an update; returns the touched parts and the
/// paths the full and the update check refuse.
fn case_update(edit: Edit) -> (Touched, Option<String>, Option<String>) {
    case_update_of(|_| {}, edit)
}

/// As [`case_update`], on the case vector as `stored` left it.
fn case_update_of(stored: Edit, edit: Edit) -> (Touched, Option<String>, Option<String>) {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/record-vectors/case.automerge");
    let mut doc = AutoCommit::load(&std::fs::read(path).expect("vector")).expect("loads");
    stored(&mut doc);
    doc.commit();
    as_update(doc, &"case-0190f3a1".parse().expect("id"), edit)
}

/// Appends an event with `kind` at the end of the case's events, as the office does.
fn append_event(d: &mut AutoCommit, kind: &str) -> ObjId {
    let events = obj(d, &["case", "events"]);
    let e = d
        .insert_object(&events, d.length(&events), ObjType::Map)
        .expect("insert");
    for (k, v) in [("kind", kind), ("by", "王五")] {
        d.put(&e, k, v).expect("put");
    }
    for k in ["note", "unit", "deadline"] {
        d.put(&e, k, S::Null).expect("put");
    }
    d.put(&e, "at", 1_734_100_000_000_i64).expect("put");
    d.put_object(&e, "media", ObjType::List).expect("put");
    e
}

#[test]
fn an_event_appended_to_a_case_is_checked_alone_and_refused_when_malformed() {
    let (touched, full, update) = case_update(|d| {
        append_event(d, "rectified");
    });
    assert_eq!((full, update), (None, None), "{touched:?}");
    let bad: &[(&str, Edit, &str)] = &[
        (
            "an unknown kind",
            |d| {
                append_event(d, "forgotten");
            },
            "case/events/1",
        ),
        (
            "no author",
            |d| {
                let e = append_event(d, "rectified");
                d.delete(&e, "by").expect("delete");
            },
            "case/events/1",
        ),
        (
            "an empty event",
            |d| {
                let events = obj(d, &["case", "events"]);
                d.insert_object(&events, 1, ObjType::Map).expect("insert");
            },
            "case/events/1",
        ),
        (
            "a scalar for an event (the whole case is read)",
            |d| {
                let events = obj(d, &["case", "events"]);
                d.insert(&events, 1, "closed").expect("insert");
            },
            "case",
        ),
        (
            "an older event's time made text",
            |d| {
                let e = obj(d, &["case", "events"]);
                let first = d.get(&e, 0).expect("get").expect("event").1;
                d.put(&first, "at", "yesterday").expect("put");
            },
            "case/events/0",
        ),
        (
            "the case's id changed",
            |d| {
                let c = obj(d, &["case"]);
                d.put(&c, "id", "case-other").expect("put");
            },
            "case/id",
        ),
    ];
    for (what, edit, path) in bad {
        let (touched, full, update) = case_update(*edit);
        assert!(full.is_some(), "{what}: the full check refuses");
        assert_eq!(
            update.as_deref(),
            Some(*path),
            "{what}: the update check ({touched:?})"
        );
    }
    // The events before the appended one are not read again: an older event made malformed
    // in the stored copy (which the check never lets in) goes unnoticed by the update check.
    let (_, full, update) = case_update_of(
        |d| {
            let e = obj(d, &["case", "events"]);
            let first = d.get(&e, 0).expect("get").expect("event").1;
            d.put(&first, "at", "yesterday").expect("put");
        },
        |d| {
            append_event(d, "rectified");
        },
    );
    assert_eq!((full.as_deref(), update), (Some("case"), None));
}

/// A push holding several changes to one answer: each value put is checked, the replaced ones
/// too (a device pulling part of the changes sees them), while the full check sees only the
/// last.
#[test]
fn a_bad_answer_replaced_within_the_same_push_is_refused() {
    let (touched, full, update) = both(|d| {
        let a = obj(d, &["answers"]);
        d.put(&a, "i-pass", r#"{"value":"maybe"}"#).expect("put");
        d.commit();
        d.put(&a, "i-pass", GOOD_ANSWER).expect("put");
    });
    assert_eq!(full, None, "the full check sees the last value only");
    assert_eq!(
        update.as_deref(),
        Some("answers/i-pass/value"),
        "the update check reads what the changes put ({touched:?})"
    );
}

/// The update check of answers reads the values the changes put, not the document: an
/// answer's older value, stored before the check existed and unreadable now, does not make
/// a good answer put beside it be refused; and a deletion puts nothing to check.
#[test]
fn the_answers_check_reads_the_values_the_changes_put() {
    let mut stored = base();
    let a = obj(&stored, &["answers"]);
    let mut other = stored.fork().with_actor(ActorId::from(vec![3_u8; 16]));
    stored
        .put(&a, "i-pass", r#"{"value":"maybe"}"#)
        .expect("an old unreadable value");
    stored.commit();
    let id: RecordId = "0190f3a1-7c2e-7a4b-8d1e-2f3a4b5c6d7e".parse().expect("id");
    // A good value from a replica that never saw the old one: both stay visible.
    let before = other.get_heads();
    let oa = obj(&other, &["answers"]);
    other.put(&oa, "i-pass", GOOD_ANSWER).expect("put");
    other.commit();
    let pushed = other.get_changes(&before);
    stored.apply_changes(pushed.clone()).expect("applies");
    assert_eq!(stored.get_all(&a, "i-pass").expect("values").len(), 2);
    assert!(
        matches!(record_check::check(&stored, &id, None), Err(siteproof_core::Error::InvalidRecord { path, .. }) if path == "answers/i-pass/value"),
        "the full check reads the old value"
    );
    let touched = Touched::of(&stored, &pushed);
    assert!(
        record_check::check_update(&stored, &id, None, &touched).is_ok(),
        "only the pushed value is read ({touched:?})"
    );
    // A deletion puts nothing to check.
    let (_, _, update) = as_update(stored, &id, |d| {
        let a = obj(d, &["answers"]);
        d.delete(&a, "i-pass").expect("delete");
    });
    assert_eq!(update, None);
}
