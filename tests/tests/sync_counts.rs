//! Regression guards that count instead of timing, so they cannot flake on a shared machine:
//! one changed answer with many visits in scope costs one round trip and under 2 KB on the
//! wire.

use siteproof_core::{AnswerValue, RecordId};
use siteproof_tests::answer;
use siteproof_tests::server::TestServer;

const VISITS: usize = 100;
const ANSWERS: usize = 10;

#[test]
fn one_changed_answer_with_many_visits_in_scope_stays_within_its_byte_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let group = server.create_group("第一督导组");
    let template = siteproof_tests::template(ANSWERS);
    server.publish_template(&template);
    let mut seeder = server.enroll_store(&group, &dir.path().join("seeder.db"), "甲");
    let visits: Vec<RecordId> = (0..VISITS)
        .map(|n| {
            let v = seeder
                .create_visit(siteproof_tests::new_visit(&template, &format!("企业{n}")))
                .expect("visit");
            for i in 0..ANSWERS {
                answer(
                    &mut seeder,
                    &v,
                    &format!("i{i}"),
                    AnswerValue::Pass,
                    &format!("{n}-{i}"),
                );
            }
            v
        })
        .collect();
    seeder.sync().expect("push");

    let mut fresh = server.enroll_store(&group, &dir.path().join("fresh.db"), "乙");
    fresh.sync().expect("settled");
    assert_eq!(fresh.list_visits().expect("list").len(), VISITS);

    answer(&mut fresh, &visits[7], "i3", AnswerValue::Fail, "changed");
    let s = fresh.sync().expect("sync one change");
    assert_eq!(s.round_trips, 1, "one round trip");
    let wire = s.bytes_up + s.bytes_down;
    assert!(
        wire < 2_000,
        "one changed answer costs {wire} B on the wire (budget 2,000)"
    );
}
