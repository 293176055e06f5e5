//! The enterprise directory on the phone, over a real port: the region's registry reaches a
//! phone with its sync, is searched offline, a visit started from an entry links to the
//! enterprise in the office, the directory follows the registry (a new enterprise, hazards
//! found and closed, the blacklist), and a device never receives another region's.

mod common;
mod office_fixture;

use std::time::Duration;

use common::{Phone, RealServer, TestServer, template};
use office_fixture::Browser;
use siteproof_core::sync::wire::{self, SyncRequest, SyncResponse};
use siteproof_core::{
    Error as CoreError, NewFinding, RecordId, Sector, Severity, TemplateRef, VisitFromEnterprise,
    VisitMode,
};
use siteproof_server::ServerConfig;
use siteproof_server::backoffice::Role;

const A: &str = "91350100M000100Y43";
const B: &str = "91110000600037341L";
const C: &str = "91130100MA00000012";

impl Browser {
    async fn sign_in(server: &TestServer, login: &str, region: &str) -> Self {
        Self::open(server, login, Role::Reviewer, region, vec![]).await
    }

    /// Sends a form the office answers with a redirect.
    async fn submit(&self, real: &RealServer, path: &str, form: &[(&str, &str)]) {
        let (status, body) = self.post(real, path, form).await;
        assert_eq!(status, 303, "{path}: {body}");
    }

    /// Imports a roster (CSV) as the list page's script does.
    async fn import_csv(&self, real: &RealServer, csv: &str) {
        let (status, body) = self.import(real, csv.as_bytes().to_vec()).await;
        assert!(status < 400, "import: {body}");
    }
}

/// A phone of `group` syncing over HTTP with the server on the real port.
async fn phone(server: &TestServer, real: &RealServer, group: &str) -> Phone {
    let mut phone = Phone::enroll(server, group).await;
    phone
        .store
        .set_server(&real.url(""), &phone.token)
        .expect("server");
    phone
}

fn sync(phone: &mut Phone) {
    tokio::task::block_in_place(|| phone.store.sync()).expect("sync over HTTP");
}

fn names(phone: &Phone, search: Option<&str>) -> Vec<String> {
    phone
        .store
        .directory(search, None)
        .expect("directory")
        .into_iter()
        .map(|e| e.name)
        .collect()
}

fn from_enterprise() -> VisitFromEnterprise {
    VisitFromEnterprise {
        mode: VisitMode::Covert,
        team: vec!["张三".into()],
        template: TemplateRef {
            id: template().id,
            version: template().version,
        },
        sector: None,
        location: None,
    }
}

const HEBEI: &str = "统一社会信用代码,名称,曾用名,地址,行业领域\n\
    91350100M000100Y43,某化工有限公司,某化工厂,石家庄市长安区建设大街1号,hazardous_chemicals\n\
    91110000600037341L,某燃气有限公司,,石家庄市桥西区,gas\n";

/// The directory reaches a phone with its sync and is searched offline; a visit started from
/// an entry carries its name, code and address and is the enterprise's in the office; the
/// directory then follows the registry and the ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_reaches_a_phone_and_a_visit_started_from_it_is_the_enterprises() {
    // Devices' pushes are built into the directory at the next sync (no wait).
    let mut config = ServerConfig::default();
    config.office.directory_min_gap = Duration::ZERO;
    let server = TestServer::with_config(config).await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice", "hebei").await;
    let mut g1 = phone(&server, &real, "g1").await;
    sync(&mut g1);
    assert!(g1.store.directory(None, None).expect("empty").is_empty());
    assert!(g1.store.directory_info().expect("info").is_none());

    office.import_csv(&real, HEBEI).await;
    sync(&mut g1);
    assert_eq!(names(&g1, None), ["某化工有限公司", "某燃气有限公司"]);
    let info = g1.store.directory_info().expect("info").expect("held");
    assert_eq!(
        (info.region.as_str(), info.registered, info.held),
        ("hebei", 2, 2)
    );

    // Offline search: by name, former name, code (any case), address.
    assert_eq!(names(&g1, Some("燃气")), ["某燃气有限公司"]);
    assert_eq!(names(&g1, Some("化工厂")), ["某化工有限公司"]);
    assert_eq!(
        names(&g1, Some(&A.to_lowercase()[..10])),
        ["某化工有限公司"]
    );
    assert_eq!(names(&g1, Some(" 建设大街 ")), ["某化工有限公司"]);
    assert!(names(&g1, Some("不存在")).is_empty());
    let entry = g1.store.directory_entry(&A.to_lowercase()).expect("entry");
    assert_eq!(entry.former_names, ["某化工厂"]);
    assert_eq!(entry.sectors, [Sector::HazardousChemicals]);
    assert_eq!((entry.open_hazards, entry.overdue_hazards), (0, 0));
    assert!(!entry.blacklisted);

    // A visit picked from the directory, with a hazard.
    let visit = g1
        .store
        .start_visit_from_enterprise(A, from_enterprise())
        .expect("visit from the directory");
    let site = g1.store.visit(&visit).expect("visit").site;
    assert_eq!(site.name, "某化工有限公司");
    assert_eq!(site.credit_code.as_deref(), Some(A));
    assert_eq!(site.address, "石家庄市长安区建设大街1号");
    assert_eq!(site.sector, template().sector);
    let finding = g1
        .store
        .add_finding(
            &visit,
            NewFinding {
                description: "储罐区无可燃气体报警".into(),
                severity: Severity::Major,
                item: None,
                location: None,
                media: vec![],
                fixed_on_spot: false,
                interim_measures: Some("停止作业".into()),
            },
        )
        .expect("finding");
    sync(&mut g1);

    // The office finds it on the enterprise's page, by the code.
    let (status, page) = office.get(&real, &format!("/office/enterprises/{A}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(visit.as_str()), "{page}");

    // The next sync brings the hazard and a tier into the directory.
    sync(&mut g1);
    let entry = g1.store.directory_entry(A).expect("entry");
    assert_eq!((entry.open_hazards, entry.overdue_hazards), (1, 0));
    assert!(entry.tier.is_some(), "{entry:?}");
    assert_eq!(g1.store.directory_entry(B).expect("B").open_hazards, 0);

    // Office changes reach the phone at its next sync: the hazard ordered with a past
    // deadline (overdue), the blacklist, a new enterprise; then the hazard closed.
    let events = format!(
        "/office/cases/{}/events",
        RecordId::for_finding_case(&visit, &finding)
    );
    office
        .submit(
            &real,
            &events,
            &[
                ("kind", "ordered"),
                ("unit", "某化工有限公司"),
                ("deadline", "2020-01-31"),
            ],
        )
        .await;
    office
        .submit(
            &real,
            "/office/supervision/blacklist",
            &[
                ("credit_code", A),
                ("reason", "屡查屡犯"),
                ("decided_on", "2026-01-05"),
            ],
        )
        .await;
    office
        .import_csv(
            &real,
            &format!("credit_code,name,address\n{C},某仓储有限公司,石家庄市新华区\n"),
        )
        .await;
    sync(&mut g1);
    let entry = g1.store.directory_entry(A).expect("entry");
    assert_eq!((entry.open_hazards, entry.overdue_hazards), (1, 1));
    assert!(entry.blacklisted);
    assert_eq!(
        names(&g1, None),
        ["某仓储有限公司", "某化工有限公司", "某燃气有限公司"]
    );
    for kind in ["rectified", "verified", "closed"] {
        office.submit(&real, &events, &[("kind", kind)]).await;
    }
    sync(&mut g1);
    let entry = g1.store.directory_entry(A).expect("entry");
    assert_eq!((entry.open_hazards, entry.overdue_hazards), (0, 0));
}

/// Each region's phones hold their own region's directory and never another's, even for a
/// credit code registered in both; asking for another region's directory is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_of_another_region_never_receives_another_regions_enterprises() {
    let server = TestServer::new().await;
    server
        .state
        .admin
        .create_group(
            "shanxi".parse().expect("region"),
            "s1",
            Some("s1".parse().expect("group")),
        )
        .await
        .expect("group");
    let real = RealServer::start(&server).await;
    let hebei = Browser::sign_in(&server, "alice", "hebei").await;
    let shanxi = Browser::sign_in(&server, "bob", "shanxi").await;
    hebei.import_csv(&real, HEBEI).await;
    shanxi
        .import_csv(
            &real,
            &format!(
                "credit_code,name,address\n{A},山西某化工公司,太原市\n{C},山西某仓储公司,太原市\n"
            ),
        )
        .await;

    let mut g1 = phone(&server, &real, "g1").await;
    let mut s1 = phone(&server, &real, "s1").await;
    sync(&mut g1);
    sync(&mut s1);
    assert_eq!(names(&g1, None), ["某化工有限公司", "某燃气有限公司"]);
    assert_eq!(names(&s1, None), ["山西某仓储公司", "山西某化工公司"]);
    assert!(matches!(
        s1.store.directory_entry(B),
        Err(CoreError::NotFound { .. })
    ));
    assert!(
        s1.store
            .start_visit_from_enterprise(B, from_enterprise())
            .is_err()
    );
    assert_eq!(s1.store.directory_entry(A).expect("A").address, "太原市");

    // On the wire: a whole pull of the shanxi device holds shanxi's directory only, and
    // asking for hebei's by id is answered as a record that does not exist.
    let req = siteproof_core::sync::wire::SyncRequest {
        cursor: None,
        push: vec![],
        need_full: vec![],
        max_bytes: 8 << 20,
        reads: vec!["directory".into()],
    };
    let resp = server.sync(&s1.token, &req).await;
    let directories: Vec<String> = resp
        .records
        .iter()
        .filter(|r| r.kind == "directory")
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(directories, ["directory:shanxi"]);
    let hebei_id = RecordId::for_directory("hebei").expect("id");
    let (status, _, body) = server
        .sync_raw(
            Some(&s1.token),
            siteproof_core::sync::wire::encode(&siteproof_core::sync::wire::SyncRequest {
                need_full: vec![hebei_id],
                ..req
            }),
        )
        .await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
}

/// A build that finds nothing changed writes nothing; a change writes only that entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_writes_only_what_changed() {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice", "hebei").await;
    let backoffice = &server.state.backoffice;
    let now = siteproof_core::now();
    assert!(
        !backoffice
            .write_directory("hebei", now)
            .await
            .expect("none yet")
    );
    office.import_csv(&real, HEBEI).await;
    assert!(
        backoffice
            .write_directory("hebei", now)
            .await
            .expect("first")
    );
    let id = RecordId::for_directory("hebei").expect("id");
    let before = server.stored_changes(&id).await;
    assert!(
        !backoffice
            .write_directory("hebei", now + 1)
            .await
            .expect("same")
    );
    assert_eq!(server.stored_changes(&id).await, before);
    office
        .import_csv(&real, &format!("credit_code,name\n{C},某仓储有限公司\n"))
        .await;
    assert!(
        backoffice
            .write_directory("hebei", now + 2)
            .await
            .expect("one more")
    );
    assert_eq!(server.stored_changes(&id).await, before + 1);
}

/// Posts one sync request over the real port as a client of its own would; the status and
/// the decoded response (for a 200).
async fn post_sync(
    real: &RealServer,
    token: &str,
    req: &SyncRequest,
) -> (u16, Option<SyncResponse>) {
    let resp = reqwest::Client::new()
        .post(real.url("/v1/sync"))
        .bearer_auth(token)
        .header("content-type", wire::CONTENT_TYPE)
        .body(wire::encode(req))
        .send()
        .await
        .expect("sync");
    let status = resp.status().as_u16();
    let body = resp.bytes().await.expect("body");
    let decoded = (status == 200).then(|| wire::decode(&body).expect("a sync response"));
    (status, decoded)
}

fn directories(resp: &SyncResponse) -> Vec<(String, bool)> {
    resp.records
        .iter()
        .filter(|r| r.kind == "directory")
        .map(|r| (r.id.to_string(), r.full))
        .collect()
}

/// App builds from before the directory stop syncing on a record kind they do not know. A
/// client that does not announce `directory` in its requests (`reads`) is never sent it,
/// cannot ask for it, and syncs as before: its pushes are stored, its pulls carry the rest.
/// The same device announcing it later (an app update, its cursor from before) gets the
/// directory whole at that sync, then only its changes; the Rust client announces it and
/// keeps the announcement in its stored cursor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_clients_that_announce_the_directory_receive_it() {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice", "hebei").await;
    office.import_csv(&real, HEBEI).await;
    // A current phone of the region: the directory exists and reaches it.
    let mut current = phone(&server, &real, "g1").await;
    sync(&mut current);
    assert_eq!(names(&current, None).len(), 2);
    let cursor = current
        .store
        .sync_cursor()
        .expect("cursor")
        .expect("synced");
    assert_eq!(cursor.reads, ["directory"]);
    let id = RecordId::for_directory("hebei").expect("id");

    // An old-style client: no `reads`. Its whole first pull does not have the directory; it
    // pushes a visit, which is stored, and pulls the other phone's visit.
    let mut old = Phone::enroll(&server, "g1").await;
    let token = old.token.clone();
    let (status, first) = post_sync(&real, &token, &old.request(8 << 20)).await;
    let first = first.unwrap_or_else(|| panic!("old client's first sync: {status}"));
    assert!(directories(&first).is_empty());
    assert!(first.cursor.reads.is_empty());
    old.apply(&first);
    let mine = old.capture_visit("老版本的现场");
    let theirs = current.capture_visit("新版本的现场");
    sync(&mut current);
    // The office changes the registry: the directory changes, the old client still gets none.
    office
        .import_csv(&real, &format!("credit_code,name\n{C},某仓储有限公司\n"))
        .await;
    sync(&mut current);
    assert_eq!(names(&current, None).len(), 3);
    let (status, second) = post_sync(&real, &token, &old.request(8 << 20)).await;
    let second = second.unwrap_or_else(|| panic!("old client's sync: {status}"));
    assert!(
        second
            .acked
            .iter()
            .any(|a| a.id == mine && !a.hashes.is_empty())
    );
    assert!(second.records.iter().any(|r| r.id == theirs));
    assert!(directories(&second).is_empty(), "{:?}", second.records);
    old.apply(&second);
    assert_eq!(old.store.outbox_len().expect("outbox"), 0);
    // Asking for it by id is answered as for a record it cannot see.
    let (status, _) = post_sync(
        &real,
        &token,
        &SyncRequest {
            need_full: vec![id.clone()],
            ..old.request(8 << 20)
        },
    )
    .await;
    assert_eq!(status, 404);

    // The app is updated: same device, same cursor, now announcing the kind. The directory
    // comes whole (it was never sent), then the cursor covers it: the next sync carries none.
    let updated = SyncRequest {
        reads: vec!["directory".into()],
        ..old.request(8 << 20)
    };
    assert!(updated.cursor.as_ref().is_some_and(|c| c.reads.is_empty()));
    let (status, third) = post_sync(&real, &token, &updated).await;
    let third = third.unwrap_or_else(|| panic!("updated client's sync: {status}"));
    assert_eq!(directories(&third), [(id.to_string(), true)]);
    assert_eq!(third.cursor.reads, ["directory"]);
    old.apply(&third);
    let held = old.store.directory(None, None).expect("directory");
    assert_eq!(held.len(), 3);
    let (status, fourth) = post_sync(
        &real,
        &token,
        &SyncRequest {
            reads: vec!["directory".into()],
            ..old.request(8 << 20)
        },
    )
    .await;
    let fourth = fourth.unwrap_or_else(|| panic!("updated client's next sync: {status}"));
    assert!(directories(&fourth).is_empty(), "{:?}", fourth.records);
    assert_eq!(fourth.cursor.reads, ["directory"]);
}
