//! Inspection content over a real server: template versions through the library to devices,
//! pushes (assignments) reaching exactly their group, collections coming back, and a
//! whistleblower lead going from the public form to an assignment to a visit.

use siteproof_core::{
    AnswerInput, AnswerValue, AssignmentKind, CollectionKind, Error as CoreError, Sector, Site,
    Store, Template, TemplateRef, VisitFromAssignment, VisitMode,
};
use siteproof_server::Error as ServerError;
use siteproof_server::GroupId;
use siteproof_server::backoffice::{Expert, NewAssignment, Role, Triage, WebUser};
use siteproof_tests::server::TestServer;

fn template_v(version: u32, items: usize) -> Template {
    let mut t = siteproof_tests::template(items);
    t.version = version;
    if version > 1 {
        t.items[0].text.zh = format!("检查项 0（第{version}版修订）");
    }
    t
}

fn publish_through_library(server: &TestServer, t: &Template) {
    let text = serde_json::to_string(t).expect("json");
    server.block_on(async {
        server
            .office()
            .import_template(&text)
            .await
            .expect("import");
        server
            .office()
            .publish_draft(t.id.as_str(), t.version)
            .await
            .expect("publish");
    });
}

fn template_ref(t: &Template) -> TemplateRef {
    TemplateRef {
        id: t.id.clone(),
        version: t.version,
    }
}

fn pass(
    store: &mut Store,
    visit: &siteproof_core::RecordId,
    item: &str,
) -> siteproof_core::Result<()> {
    store.answer_item(
        visit,
        &item.parse().expect("item"),
        AnswerInput {
            value: AnswerValue::Pass,
            note: None,
            media: vec![],
        },
    )
}

struct World {
    dir: tempfile::TempDir,
    server: TestServer,
    g1: GroupId,
    g2: GroupId,
    reviewer: WebUser,
}

fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let g1 = server.create_group("第一督导组");
    let g2 = server.create_group("第二督导组");
    let reviewer = server.office_user("reviewer", Role::Reviewer);
    World {
        dir,
        server,
        g1,
        g2,
        reviewer,
    }
}

impl World {
    fn device(&self, group: &GroupId, name: &str) -> Store {
        self.server
            .enroll_store(group, &self.dir.path().join(format!("{name}.db")), name)
    }
}

fn site(name: &str) -> Site {
    Site {
        name: name.into(),
        credit_code: Some("91130100MA0000000X".into()),
        address: "河北省石家庄市长安区".into(),
        sector: Sector::HazardousChemicals,
    }
}

#[test]
fn template_versions_reach_devices_and_old_visits_keep_theirs() {
    let w = world();
    let v1 = template_v(1, 10);
    publish_through_library(&w.server, &v1);
    let mut a = w.device(&w.g1, "a");

    // Round trip: the version a device holds is exactly the one imported at the office.
    assert_eq!(*a.template(&v1.id, 1).expect("v1 on the device"), v1);
    let mut new_visit = siteproof_tests::new_visit(&v1, "石家庄某化工有限公司");
    new_visit.template = template_ref(&v1);
    let old = a.create_visit(new_visit.clone()).expect("visit on v1");
    pass(&mut a, &old, "i0").expect("answer");
    a.sync().expect("sync");
    let before = a.visit(&old).expect("visit");

    // v2 changes an item's text and adds an item; publishing it touches nothing old.
    let v2 = template_v(2, 11);
    publish_through_library(&w.server, &v2);
    let summary = a.sync().expect("sync");
    assert!(summary.pulled > 0, "the new version is pulled: {summary:?}");
    let versions: Vec<u32> = a
        .list_templates()
        .expect("templates")
        .iter()
        .filter(|t| t.id == v1.id)
        .map(|t| t.version)
        .collect();
    assert_eq!(versions, vec![1, 2]);
    assert_eq!(
        *a.template(&v1.id, 1).expect("v1 still"),
        v1,
        "v1 unchanged"
    );
    assert_eq!(*a.template(&v1.id, 2).expect("v2"), v2);
    assert_eq!(
        a.visit(&old).expect("visit"),
        before,
        "the old visit is unchanged"
    );
    assert_eq!(a.visit(&old).expect("visit").template.version, 1);
    // The old visit is still bound to v1: the item only v2 has is not in its checklist.
    assert!(matches!(
        pass(&mut a, &old, "i10"),
        Err(CoreError::UnknownItem { .. })
    ));
    new_visit.template = template_ref(&v2);
    let fresh = a.create_visit(new_visit).expect("visit on v2");
    pass(&mut a, &fresh, "i10").expect("v2's new item");
    a.sync().expect("sync");

    // A device enrolled later gets both versions; the office sees each visit's version.
    let mut b = w.device(&w.g1, "b");
    assert_eq!(*b.template(&v1.id, 1).expect("v1"), v1);
    assert_eq!(*b.template(&v1.id, 2).expect("v2"), v2);
    assert_eq!(b.visit(&old).expect("old").template.version, 1);
    let detail = w
        .server
        .block_on(w.server.office().visit(&w.reviewer, old.as_str()))
        .expect("office visit");
    assert_eq!(detail.visit.template.version, 1);
    assert_eq!(detail.template.expect("template").version, 1);
    let library = w
        .server
        .block_on(w.server.office().template_library())
        .expect("library");
    assert_eq!(library.len(), 2);
    // Versions never change: importing v1 again with other content is refused.
    let mut altered = v1.clone();
    altered.items[1].text.zh = "改过的".into();
    let refused = w.server.block_on(
        w.server
            .office()
            .import_template(&serde_json::to_string(&altered).expect("json")),
    );
    assert!(
        matches!(refused, Err(ServerError::Conflict(_))),
        "{refused:?}"
    );
}

#[test]
fn an_assignment_reaches_its_group_and_no_other() {
    let w = world();
    let v1 = template_v(1, 5);
    publish_through_library(&w.server, &v1);
    let mut a = w.device(&w.g1, "a");
    let mut b = w.device(&w.g2, "b");
    let office = w.server.office();
    let expert = w
        .server
        .block_on(office.add_expert(
            &w.reviewer,
            Expert {
                id: 0,
                name: "王工".into(),
                specialty: "危化工艺安全".into(),
                sectors: vec![Sector::HazardousChemicals],
                unit: "省安全生产专家库".into(),
                phone: Some("13800000000".into()),
            },
        ))
        .expect("expert");
    let id = w
        .server
        .block_on(office.issue_assignment(
            &w.reviewer,
            NewAssignment {
                group: w.g1.to_string(),
                kind: AssignmentKind::PlannedTarget,
                title: "暗访某化工企业".into(),
                body: "重点检查重大危险源监控".into(),
                sector: Some(Sector::HazardousChemicals),
                site: Some(site("石家庄某化工有限公司")),
                template: Some(template_ref(&v1)),
                due: None,
                experts: vec![expert],
                lead: None,
                cases: Vec::new(),
            },
        ))
        .expect("push");

    a.sync().expect("sync a");
    b.sync().expect("sync b");
    let got = a.assignments().expect("assignments");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, id);
    assert_eq!(got[0].kind, AssignmentKind::PlannedTarget);
    assert_eq!(got[0].experts[0].name, "王工");
    assert!(
        b.assignments().expect("b").is_empty(),
        "group 2 must not get group 1's push"
    );
    assert!(matches!(b.assignment(&id), Err(CoreError::NotFound { .. })));
    // Devices may not write the kind back.
    assert!(!siteproof_core::RecordKind::Assignment.written_by_devices());

    // The inspector starts a visit from it: site and checklist come with it, and it links back.
    let visit = a
        .start_visit_from_assignment(
            &id,
            VisitFromAssignment {
                mode: VisitMode::Covert,
                team: vec!["a".into()],
                template: None,
                location: None,
            },
        )
        .expect("start");
    let v = a.visit(&visit).expect("visit");
    assert_eq!(v.assignment.as_ref(), Some(&id));
    assert_eq!(v.site.name, "石家庄某化工有限公司");
    assert_eq!(v.template, template_ref(&v1));
    a.write_collection(
        CollectionKind::WorkUpdate,
        "本周暗访3家",
        "发现重大隐患1项",
        vec![],
    )
    .expect("collection");
    a.sync().expect("sync a");
    b.sync().expect("sync b");
    assert!(
        b.collections().expect("b").is_empty(),
        "collections stay in their group"
    );

    let (row, pushed, visits) = w
        .server
        .block_on(office.assignment(&w.reviewer, id.as_str()))
        .expect("office assignment");
    assert_eq!(row.visits, 1);
    assert_eq!(pushed.title, "暗访某化工企业");
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].id, visit.to_string());
    let collections = w
        .server
        .block_on(office.collections(&w.reviewer))
        .expect("collections");
    assert_eq!(collections.len(), 1);
    assert_eq!(collections[0].title, "本周暗访3家");
    assert_eq!(collections[0].group, w.g1.to_string());
}

fn receipt_of(html: &str) -> String {
    let start = html.find("id=\"receipt\"").expect("receipt element");
    let from = start + html[start..].find('>').expect(">") + 1;
    let to = from + html[from..].find('<').expect("<");
    html[from..to].to_owned()
}

fn status_of(http: &reqwest::blocking::Client, url: &str, receipt: &str) -> String {
    let answer: serde_json::Value = http
        .post(format!("{url}/v1/leads/status"))
        .json(&serde_json::json!({ "receipt": receipt }))
        .send()
        .expect("status")
        .json()
        .expect("json");
    answer["status"].as_str().expect("status").to_owned()
}

#[test]
fn a_lead_goes_from_the_public_form_to_an_assignment_to_a_visit() {
    let w = world();
    let v1 = template_v(1, 5);
    publish_through_library(&w.server, &v1);
    let mut a = w.device(&w.g1, "a");
    let url = w.server.url();
    let http = reqwest::blocking::Client::new();

    let form = http.get(format!("{url}/report")).send().expect("form");
    assert_eq!(form.status(), 200);
    assert!(
        form.headers().get("set-cookie").is_none(),
        "no cookie on the public form"
    );
    let sent = http
        .post(format!("{url}/report"))
        .form(&[
            ("region", "hebei"),
            ("sector", "hazardous_chemicals"),
            ("site", "某化工厂"),
            ("address", "石家庄市循环化工园区"),
            (
                "description",
                "夜间储罐区无人值守，可燃气体报警器长期关闭。",
            ),
        ])
        .send()
        .expect("submit");
    assert_eq!(sent.status(), 201);
    assert!(
        sent.headers().get("set-cookie").is_none(),
        "no cookie for the reporter"
    );
    let receipt = receipt_of(&sent.text().expect("page"));
    assert_eq!(status_of(&http, &url, &receipt), "received");

    let office = w.server.office();
    let leads = w
        .server
        .block_on(office.leads(&w.reviewer, None))
        .expect("leads");
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].site, "某化工厂");
    let lead_id = leads[0].id.clone();
    let assignment = w
        .server
        .block_on(office.triage_lead(
            &w.reviewer,
            &lead_id,
            Triage::Assign {
                group: w.g1.to_string(),
                note: Some("请于一周内暗访核查".into()),
                template: Some(template_ref(&v1)),
                due: None,
            },
        ))
        .expect("triage")
        .expect("an assignment");
    assert_eq!(status_of(&http, &url, &receipt), "assigned");
    // A lead is triaged once.
    let again = w.server.block_on(office.triage_lead(
        &w.reviewer,
        &lead_id,
        Triage::Dismiss {
            reason: "重复".into(),
        },
    ));
    assert!(matches!(again, Err(ServerError::Conflict(_))), "{again:?}");

    a.sync().expect("sync");
    let pushed = a
        .assignment(&assignment)
        .expect("the lead reached the group");
    assert_eq!(pushed.kind, AssignmentKind::Lead);
    assert_eq!(pushed.lead.as_deref(), Some(lead_id.as_str()));
    assert!(pushed.body.contains("可燃气体报警器"));
    let visit = a
        .start_visit_from_assignment(
            &assignment,
            VisitFromAssignment {
                mode: VisitMode::Covert,
                team: vec!["a".into()],
                template: None,
                location: None,
            },
        )
        .expect("visit from the lead");
    assert_eq!(a.visit(&visit).expect("visit").site.name, "某化工厂");
    a.sync().expect("sync");

    // The reporter learns that the site was inspected, and nothing more.
    let page = http
        .post(format!("{url}/report/status"))
        .form(&[("receipt", receipt.to_lowercase().replace('-', " "))])
        .send()
        .expect("status page")
        .text()
        .expect("text");
    assert!(page.contains("data-status=\"inspected\""), "{page}");
    assert!(
        !page.contains("某化工厂"),
        "the status page reveals nothing of the lead"
    );
    let unknown = http
        .post(format!("{url}/v1/leads/status"))
        .json(&serde_json::json!({ "receipt": "0000-0000-0000-0000" }))
        .send()
        .expect("unknown");
    assert_eq!(unknown.status(), 404);
}

#[test]
fn the_lead_form_refuses_oversize_bodies_and_floods() {
    let w = world();
    let url = w.server.url();
    let http = reqwest::blocking::Client::new();
    let lead = |description: String| {
        serde_json::json!({
            "region": "hebei",
            "site": "某商场",
            "address": "石家庄市",
            "description": description,
        })
    };
    let post = |body: &serde_json::Value| {
        http.post(format!("{url}/v1/leads"))
            .json(body)
            .send()
            .expect("post")
    };
    let code = |r: reqwest::blocking::Response| {
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().expect("JSON error body");
        (status, body["error"].as_str().unwrap_or("").to_owned())
    };

    assert_eq!(
        code(post(&lead("安".repeat(8_000)))),
        (413, "payload_too_large".into())
    );
    assert_eq!(
        code(post(&lead("安".repeat(4_001)))),
        (400, "invalid_input".into())
    );
    assert_eq!(
        code(post(&lead("太短".into()))),
        (400, "invalid_input".into())
    );
    let mut unknown_field = lead("安全出口被锁闭，消防通道堆放杂物。".into());
    unknown_field["reporter_phone_model"] = "x".into();
    assert_eq!(code(post(&unknown_field)).0, 400);
    let mut other_region = lead("安全出口被锁闭，消防通道堆放杂物。".into());
    other_region["region"] = "nowhere".into();
    assert_eq!(code(post(&other_region)), (400, "invalid_input".into()));

    for i in 0..5 {
        let r = post(&lead(format!("安全出口被锁闭，消防通道堆放杂物。第{i}次")));
        assert_eq!(r.status(), 201, "report {i}");
    }
    assert_eq!(
        code(post(&lead(
            "安全出口被锁闭，消防通道堆放杂物。又一次".into()
        ))),
        (429, "rate_limited".into())
    );
    let health = http.get(format!("{url}/v1/health")).send().expect("health");
    assert_eq!(health.status(), 200, "the server stays up");
    let stored = w
        .server
        .block_on(w.server.office().leads(&w.reviewer, None))
        .expect("leads");
    assert_eq!(stored.len(), 5, "refused reports leave nothing behind");
}
