//! Devices and a real server over HTTP on a loopback port: convergence in every order,
//! a device that never saw a record, a wiped device, server restarts, lost responses and a
//! server restored from an older backup.

use std::path::Path;

use siteproof_core::{AnswerValue, RecordId, Store, SyncClient, Template};
use siteproof_server::GroupId;
use siteproof_tests::answer;
use siteproof_tests::proxy::DroppingProxy;
use siteproof_tests::server::TestServer;

fn enroll(server: &TestServer, group: &GroupId, path: &Path, name: &str) -> Store {
    server.enroll_store(group, path, name)
}

struct Setup {
    _dir: tempfile::TempDir,
    server: TestServer,
    group: GroupId,
    template: Template,
    devices: Vec<Store>,
}

fn setup(n_devices: usize) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let group = server.create_group("第一督导组");
    let template = siteproof_tests::template(10);
    server.publish_template(&template);
    let devices = (0..n_devices)
        .map(|i| {
            enroll(
                &server,
                &group,
                &dir.path().join(format!("d{i}.db")),
                &format!("检查员{i}"),
            )
        })
        .collect();
    Setup {
        _dir: dir,
        server,
        group,
        template,
        devices,
    }
}

fn assert_all_equal(devices: &mut [Store], visit: &RecordId) {
    let reference = devices[0].visit(visit).expect("visit on device 0");
    let conflicts = devices[0].conflicts(visit).expect("conflicts");
    for (i, d) in devices.iter_mut().enumerate().skip(1) {
        assert_eq!(
            d.visit(visit).expect("visit"),
            reference,
            "device {i} differs"
        );
        assert_eq!(
            d.conflicts(visit).expect("conflicts"),
            conflicts,
            "device {i} conflicts differ"
        );
    }
}

#[test]
fn three_devices_editing_one_visit_offline_converge_in_every_sync_order() {
    for order in [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ] {
        let mut s = setup(3);
        assert!(
            s.devices[0].list_templates().expect("t").len() == 1,
            "template arrived by sync"
        );
        let visit = s.devices[0]
            .create_visit(siteproof_tests::new_visit(&s.template, "化工园区某企业"))
            .expect("visit");
        s.devices[0].sync().expect("push visit");
        for d in &mut s.devices[1..] {
            d.sync().expect("pull visit");
        }
        // Offline: everyone answers item i0 differently; device 2 also records a finding.
        answer(&mut s.devices[0], &visit, "i0", AnswerValue::Pass, "d0");
        answer(&mut s.devices[1], &visit, "i0", AnswerValue::Fail, "d1");
        answer(
            &mut s.devices[2],
            &visit,
            "i0",
            AnswerValue::NotApplicable,
            "d2",
        );
        answer(
            &mut s.devices[2],
            &visit,
            "i1",
            AnswerValue::Fail,
            "d2 only",
        );
        siteproof_tests::finding(&mut s.devices[1], &visit, "储罐区无防火堤");
        for round in 0..2 {
            for &i in &order {
                let summary = s.devices[i].sync().expect("sync");
                if round == 1 {
                    assert_eq!(summary.pushed, 0, "order {order:?}: nothing left to push");
                }
            }
        }
        assert_all_equal(&mut s.devices, &visit);
        let conflicts = s.devices[0].conflicts(&visit).expect("conflicts");
        assert_eq!(conflicts.len(), 1, "order {order:?}");
        let mut notes: Vec<_> = conflicts[0]
            .answers
            .iter()
            .filter_map(|a| a.note.clone())
            .collect();
        notes.sort();
        assert_eq!(
            notes,
            ["d0", "d1", "d2"],
            "order {order:?}: every answer kept"
        );
        let v = s.devices[0].visit(&visit).expect("visit");
        assert_eq!(v.answers["i1"].note.as_deref(), Some("d2 only"));
        assert_eq!(v.findings.len(), 1);
        assert_eq!(s.devices[0].outbox_len().expect("outbox"), 0);
    }
}

#[test]
fn a_new_device_and_a_wiped_device_get_everything_back() {
    let mut s = setup(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut visits = Vec::new();
    for n in 0..5 {
        let v = s.devices[0]
            .create_visit(siteproof_tests::new_visit(&s.template, &format!("企业{n}")))
            .expect("v");
        answer(&mut s.devices[0], &v, "i3", AnswerValue::Fail, "隐患");
        siteproof_tests::finding(&mut s.devices[0], &v, "未设置安全出口标志");
        visits.push(v);
    }
    s.devices[0].sync().expect("push");

    // A device that never saw these visits pulls them, whole.
    let mut fresh = enroll(&s.server, &s.group, &dir.path().join("fresh.db"), "新人");
    assert_eq!(fresh.list_visits().expect("list").len(), 5);
    for v in &visits {
        assert_eq!(
            fresh.visit(v).expect("visit"),
            s.devices[0].visit(v).expect("visit")
        );
    }

    // Device 0 loses its phone: a new store, a new enrollment, everything comes back.
    let mut wiped = enroll(&s.server, &s.group, &dir.path().join("wiped.db"), "检查员0");
    assert_ne!(wiped.device_id(), s.devices[0].device_id());
    for v in &visits {
        assert_eq!(
            wiped.visit(v).expect("visit"),
            s.devices[0].visit(v).expect("visit")
        );
    }
    // And keeps working on them.
    answer(
        &mut wiped,
        &visits[0],
        "i4",
        AnswerValue::Pass,
        "after wipe",
    );
    wiped.sync().expect("push after wipe");
    s.devices[1].sync().expect("pull");
    assert_eq!(
        s.devices[1].visit(&visits[0]).expect("v").answers["i4"]
            .note
            .as_deref(),
        Some("after wipe")
    );
}

#[test]
fn a_server_restarted_between_syncs_loses_nothing() {
    let mut s = setup(2);
    let visit = s.devices[0]
        .create_visit(siteproof_tests::new_visit(&s.template, "矿山"))
        .expect("v");
    answer(
        &mut s.devices[0],
        &visit,
        "i0",
        AnswerValue::Fail,
        "before restart",
    );
    s.devices[0].sync().expect("push");

    let addr = s.server.addr();
    let dir = s.server.stop();
    s.server = TestServer::start_on(&dir, addr);
    s.devices[1].sync().expect("pull after restart");
    assert_eq!(
        s.devices[1].visit(&visit).expect("v").answers["i0"]
            .note
            .as_deref(),
        Some("before restart")
    );

    answer(
        &mut s.devices[1],
        &visit,
        "i1",
        AnswerValue::Pass,
        "between restarts",
    );
    s.devices[1].sync().expect("push");
    let dir = s.server.stop();
    s.server = TestServer::start_on(&dir, addr);
    s.devices[0].sync().expect("pull after second restart");
    assert_all_equal(&mut s.devices, &visit);
    assert_eq!(s.devices[0].visit(&visit).expect("v").answers.len(), 2);
}

#[test]
fn responses_lost_after_the_server_committed_cause_no_loss_and_no_duplicates() {
    let mut s = setup(2);
    let proxy = DroppingProxy::start(s.server.addr(), 2);
    let token = s.devices[0]
        .server_token()
        .expect("token")
        .expect("enrolled");
    s.devices[0]
        .set_server(&proxy.url(), &token)
        .expect("route through proxy");

    let visit = s.devices[0]
        .create_visit(siteproof_tests::new_visit(&s.template, "工地"))
        .expect("v");
    for i in 0..3 {
        answer(
            &mut s.devices[0],
            &visit,
            &format!("i{i}"),
            AnswerValue::Fail,
            &format!("a{i}"),
        );
    }
    siteproof_tests::finding(&mut s.devices[0], &visit, "塔吊无限位");
    let pending = s.devices[0].outbox_len().expect("outbox");
    assert!(
        s.devices[0].sync().is_err(),
        "the first response is swallowed"
    );
    assert_eq!(
        s.devices[0].outbox_len().expect("outbox"),
        pending,
        "nothing acknowledged locally"
    );
    // The server has it all already: another device sees it.
    s.devices[1].sync().expect("pull");
    assert_eq!(s.devices[1].visit(&visit).expect("v").answers.len(), 3);

    answer(
        &mut s.devices[0],
        &visit,
        "i5",
        AnswerValue::Pass,
        "during outage",
    );
    assert!(
        s.devices[0].sync().is_err(),
        "the second response is swallowed too"
    );
    let summary = s.devices[0].sync().expect("third sync gets through");
    assert!(summary.pushed > 0, "re-sent changes are acknowledged");
    assert_eq!(proxy.dropped(), 2);
    assert_eq!(s.devices[0].outbox_len().expect("outbox"), 0);
    s.devices[1].sync().expect("pull");
    assert_all_equal(&mut s.devices, &visit);
    let v = s.devices[1].visit(&visit).expect("v");
    assert_eq!(v.answers.len(), 4);
    assert_eq!(v.findings.len(), 1, "no duplicate finding");
}

#[test]
fn a_server_restored_from_an_older_backup_is_detected_and_repaired() {
    let mut s = setup(3);
    let visit = s.devices[0]
        .create_visit(siteproof_tests::new_visit(&s.template, "燃气站"))
        .expect("v");
    answer(
        &mut s.devices[0],
        &visit,
        "i0",
        AnswerValue::Fail,
        "in backup",
    );
    s.devices[0].sync().expect("push A");

    // Back up the server's data folder.
    let addr = s.server.addr();
    let dir = s.server.stop();
    let backup = dir.with_file_name("backup");
    copy_dir(&dir, &backup);
    s.server = TestServer::start_on(&dir, addr);

    answer(
        &mut s.devices[0],
        &visit,
        "i1",
        AnswerValue::Fail,
        "after backup",
    );
    let second = s.devices[0]
        .create_visit(siteproof_tests::new_visit(&s.template, "加油站"))
        .expect("v2");
    s.devices[0].sync().expect("push B");
    s.devices[1].sync().expect("device 1 has A and B");

    // Disaster: the server comes back from the older backup.
    let dir = s.server.stop();
    std::fs::remove_dir_all(&dir).expect("rm");
    copy_dir(&backup, &dir);
    s.server = TestServer::start_on(&dir, addr);

    answer(
        &mut s.devices[1],
        &visit,
        "i2",
        AnswerValue::Pass,
        "after restore",
    );
    s.devices[1]
        .sync()
        .expect("device 1 detects the reset and re-sends");
    s.devices[1].sync().expect("settle");
    s.devices[0].sync().expect("device 0 too");
    s.devices[2]
        .sync()
        .expect("device 2 pulls the repaired state");
    s.devices[1]
        .sync()
        .expect("device 1 pulls device 0's re-sent changes");
    assert_all_equal(&mut s.devices, &visit);
    let v = s.devices[2].visit(&visit).expect("v");
    let notes: Vec<_> = ["i0", "i1", "i2"]
        .iter()
        .map(|i| v.answers[*i].note.clone())
        .collect();
    assert_eq!(
        notes,
        [
            Some("in backup".into()),
            Some("after backup".into()),
            Some("after restore".into())
        ]
    );
    assert_eq!(
        s.devices[2].visit(&second).expect("v2").site.name,
        "加油站",
        "a record the backup never had"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn a_template_installed_by_hand_gives_way_to_the_servers_copy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let group = server.create_group("手工模板组");
    let template = siteproof_tests::template(4);
    // The device installs the template itself, before the server publishes the same version.
    let mut store = siteproof_tests::open_store(&dir.path().join("d.db"), "检查员");
    store.put_template(&template).expect("install by hand");
    server.publish_template(&template);
    let code = server.enrollment_code(&group);
    SyncClient::new(&server.url())
        .expect("client")
        .enroll(&mut store, &code, "检查员")
        .expect("enroll");
    store.sync().expect("the server's copy replaces ours");
    store.sync().expect("and later syncs are quiet");
    let id = template.record_id();
    let ours = store.export_document(&id).expect("export");
    assert_eq!(store.list_templates().expect("list").len(), 1);
    let visit = store
        .create_visit(siteproof_tests::new_visit(&template, "工厂"))
        .expect("visit");
    answer(&mut store, &visit, "i1", AnswerValue::Pass, "ok");
    store.sync().expect("push a visit on it");
    // Another device gets the very same template document.
    let mut other = enroll(&server, &group, &dir.path().join("o.db"), "另一人");
    assert_eq!(other.export_document(&id).expect("export"), ours);
}
