//! Tiered supervision over a real port: phones (core stores) sync visits of enterprises,
//! known by their credit codes, to a server on port 0; the office reads the tier view, keeps
//! the key list and the blacklist (every change in the audit), sees only its region's
//! enterprises, and turns a planning selection into planned-target pushes that reach the
//! group's phone. The scores are those of `docs/supervision.md`.

mod common;
mod office_fixture;

use common::{Phone, RealServer, TestServer, item, template};
use office_fixture::Browser;
use siteproof_core::{
    AssignmentKind, NewFinding, NewVisit, RecordId, Severity, Site, Tier, VisitMode,
};
use siteproof_server::backoffice::Role;

const MALL: &str = "91130100MA0000001A";
const SHOP: &str = "91130100MA0000002B";
const DAY: i64 = 86_400_000;

impl Browser {
    async fn sign_in(server: &TestServer, login: &str, role: Role, region: &str) -> Self {
        // A sector department named "gas" has the gas sector, any other fire safety.
        let sectors = match (role, login) {
            (Role::SectorDepartment, "gas") => vec![siteproof_core::Sector::Gas],
            (Role::SectorDepartment, _) => vec![siteproof_core::Sector::FireSafety],
            _ => vec![],
        };
        Self::open(server, login, role, region, sectors).await
    }
}

async fn phone(server: &TestServer, real: &RealServer, group: &str) -> Phone {
    let mut phone = Phone::enroll(server, group).await;
    phone
        .store
        .set_server(&real.url(""), &phone.token)
        .expect("server");
    phone
}

fn major(item_id: &str) -> NewFinding {
    NewFinding {
        description: format!("{item_id} 不符合要求"),
        severity: Severity::Major,
        item: Some(item(item_id)),
        location: None,
        media: vec![],
        fixed_on_spot: false,
        interim_measures: Some("设置警戒区".into()),
    }
}

/// A visit of the enterprise `code` (sector of the fixture template: fire safety, medium
/// risk) with these findings, synced over HTTP.
fn visit(phone: &mut Phone, name: &str, code: &str, mode: VisitMode, findings: &[NewFinding]) {
    visit_of(phone, name, Some(code), mode, findings);
}

/// A visit of the site `name`, typed with the credit code `code` or with the name only.
fn visit_of(
    phone: &mut Phone,
    name: &str,
    code: Option<&str>,
    mode: VisitMode,
    findings: &[NewFinding],
) {
    let t = template();
    let visit = phone
        .store
        .create_visit(NewVisit {
            site: Site {
                name: name.into(),
                credit_code: code.map(str::to_owned),
                address: "石家庄市".into(),
                sector: t.sector,
            },
            mode,
            ..common::new_visit(&t, name)
        })
        .expect("visit");
    for f in findings {
        phone.store.add_finding(&visit, f.clone()).expect("finding");
    }
    tokio::task::block_in_place(|| phone.store.sync()).expect("sync over HTTP");
}

/// The text of the row of `code` in a page (from its `data-enterprise` to the row's end).
fn row<'a>(page: &'a str, table: &str, code: &str) -> Option<&'a str> {
    let start = page.find(&format!("id=\"{table}\""))?;
    let page = &page[start..];
    let end = page.find("</table>").unwrap_or(page.len());
    let page = &page[..end];
    let at = page.find(&format!("data-enterprise=\"{code}\""))?;
    let rest = &page[at..];
    Some(&rest[..rest.find("</tr>").unwrap_or(rest.len())])
}

/// The tier and score the tier page shows for `code`.
fn tier_of(page: &str, code: &str) -> (String, u32) {
    let at = page
        .find(&format!("data-enterprise=\"{code}\""))
        .unwrap_or_else(|| panic!("{code} on the tier page"));
    let before = &page[..at];
    let table = before.rfind("data-tier=\"").expect("in a tier table") + "data-tier=\"".len();
    let tier = before[table..table + 1].to_owned();
    let rest = &page[at..];
    let s = rest.find("class=\"score\">").expect("score") + "class=\"score\">".len();
    let score = rest[s..s + rest[s..].find('<').expect("end")]
        .parse()
        .expect("a number");
    (tier, score)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tier_view_scores_enterprises_by_the_documented_rules_with_their_reasons() {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice", Role::Reviewer, "hebei").await;
    let mut g1 = phone(&server, &real, "g1").await;
    // The docs' "mall, four major hazards (capped)": fire safety 10 + 4 majors capped at 45,
    // visited covertly today: 55, tier B.
    visit(
        &mut g1,
        "某商场",
        MALL,
        VisitMode::Covert,
        &[
            major("exits"),
            major("alarm"),
            major("remarks"),
            major("extinguishers"),
        ],
    );
    // Announced only, nothing found: sector 10 + never visited covertly 15 = 25, tier C.
    visit(&mut g1, "某小店", SHOP, VisitMode::Announced, &[]);

    let (status, page) = office.get(&real, "/office/supervision").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(tier_of(&page, MALL), ("B".into(), 55));
    assert_eq!(tier_of(&page, SHOP), ("C".into(), 25));
    let at = page
        .find(&format!("data-enterprise=\"{MALL}\""))
        .expect("row");
    let mall = &page[at..at + page[at..].find("</tr>").expect("end")];
    assert!(mall.contains("某商场"), "the name is the visit's site name");
    assert!(mall.contains("data-rule=\"sector\""), "{mall}");
    assert!(
        mall.contains("data-rule=\"major_hazards\"") && mall.contains("+45"),
        "{mall}"
    );
    assert!(
        !mall.contains("data-rule=\"covert_gap\""),
        "visited covertly today: {mall}"
    );

    // A second covert visit finds the exits again: one repeat finding, +10, and one more
    // major hazard (capped): 65, tier A, on the key list by the tier rule.
    visit(
        &mut g1,
        "某商场（新名）",
        MALL,
        VisitMode::Covert,
        &[major("exits")],
    );
    let (_, page) = office.get(&real, "/office/supervision").await;
    assert_eq!(tier_of(&page, MALL), ("A".into(), 65));
    assert!(
        page.contains("某商场（新名）"),
        "the latest visit's site name is shown"
    );
    let (_, filtered) = office.get(&real, "/office/supervision?tier=C").await;
    assert!(filtered.contains(SHOP) && !filtered.contains(MALL));
    let (_, filtered) = office.get(&real, "/office/supervision?sector=gas").await;
    assert!(!filtered.contains(SHOP) && !filtered.contains(MALL));
    let (status, _) = office.get(&real, "/office/supervision?tier=Z").await;
    assert_eq!(status, 400);

    // 400 days on: the majors and the repeat left the year's window, the covert visit is
    // 400 days old: 10 + 15 = 25, tier C.
    let later = server
        .state
        .backoffice
        .enterprise_risks_at(&office.user, siteproof_core::now() + 400 * DAY)
        .await
        .expect("risks");
    let mall = later
        .iter()
        .find(|e| e.facts.credit_code == MALL)
        .expect("mall");
    assert_eq!((mall.risk.score, mall.risk.tier), (25, Tier::C));
    assert_eq!(mall.days_since_covert, Some(400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blacklist_and_key_list_changes_are_kept_with_who_and_why_and_audited() {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice", Role::Reviewer, "hebei").await;
    let fire = Browser::sign_in(&server, "fire", Role::SectorDepartment, "hebei").await;
    let mut g1 = phone(&server, &real, "g1").await;
    visit(
        &mut g1,
        "某商场",
        MALL,
        VisitMode::Covert,
        &[major("exits")],
    );
    visit(&mut g1, "某小店", SHOP, VisitMode::Announced, &[]);

    // The blacklist: reason, date, who.
    let (status, body) = office
        .post(
            &real,
            "/office/supervision/blacklist",
            &[
                ("credit_code", MALL),
                ("reason", "屡罚不改"),
                ("decided_on", "2026-03-01"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    // A manual key-list entry with who and why.
    let (status, body) = office
        .post(
            &real,
            "/office/supervision/key-list",
            &[("credit_code", SHOP), ("reason", "节前重点关注")],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    // No reason, an unknown enterprise, a second open entry, a sector department: refused.
    let (status, _) = office
        .post(
            &real,
            "/office/supervision/blacklist",
            &[("credit_code", SHOP), ("reason", " ")],
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = office
        .post(
            &real,
            "/office/supervision/blacklist",
            &[("credit_code", "91110000000000000X"), ("reason", "x")],
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = office
        .post(
            &real,
            "/office/supervision/blacklist",
            &[("credit_code", MALL), ("reason", "again")],
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = fire
        .post(
            &real,
            "/office/supervision/key-list",
            &[("credit_code", MALL), ("reason", "x")],
        )
        .await;
    assert_eq!(
        status, 403,
        "only reviewers and administrators change the lists"
    );

    let (status, page) = office.get(&real, "/office/supervision/lists").await;
    assert_eq!(status, 200, "{page}");
    let key_mall = row(&page, "key-list", MALL).expect("the blacklisted mall is on the key list");
    assert!(key_mall.contains("data-source=\"blacklist\""), "{key_mall}");
    let key_shop = row(&page, "key-list", SHOP).expect("the manual entry");
    assert!(
        key_shop.contains("data-source=\"manual\"")
            && key_shop.contains("alice")
            && key_shop.contains("节前重点关注"),
        "{key_shop}"
    );
    assert!(page.contains("屡罚不改") && page.contains("2026-03-01"));
    // The fire department reads the lists of its sector.
    let (status, fire_page) = fire.get(&real, "/office/supervision/lists").await;
    assert_eq!(status, 200);
    assert!(fire_page.contains("屡罚不改"));

    // The way off: removal with a reason, by whom; the entry stays, closed.
    let lists = server
        .state
        .backoffice
        .supervision_lists(&office.user)
        .await
        .expect("lists");
    let entry = lists.blacklist.first().expect("entry").clone();
    assert_eq!(
        (entry.added_by.as_str(), entry.reason.as_str()),
        ("alice", "屡罚不改")
    );
    let (status, _) = office
        .post(
            &real,
            &format!("/office/supervision/blacklist/{}/remove", entry.id),
            &[("reason", "")],
        )
        .await;
    assert_eq!(status, 400, "a removal states why");
    let (status, body) = office
        .post(
            &real,
            &format!("/office/supervision/blacklist/{}/remove", entry.id),
            &[("reason", "复查确认整改到位，一年内无重复问题")],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let (status, _) = office
        .post(
            &real,
            &format!("/office/supervision/blacklist/{}/remove", entry.id),
            &[("reason", "twice")],
        )
        .await;
    assert_eq!(status, 404, "a closed entry cannot be removed again");
    let lists = server
        .state
        .backoffice
        .supervision_lists(&office.user)
        .await
        .expect("lists");
    let closed = &lists.blacklist[0];
    assert_eq!(closed.removed_by.as_deref(), Some("alice"));
    assert_eq!(
        closed.removed_reason.as_deref(),
        Some("复查确认整改到位，一年内无重复问题")
    );
    assert!(
        lists
            .key_list
            .iter()
            .all(|(e, _)| e.facts.credit_code != MALL),
        "off the blacklist, the mall (tier C) leaves the key list"
    );
    let actions: Vec<(&str, &str, &str)> = lists
        .audit
        .iter()
        .map(|a| (a.list.as_str(), a.action.as_str(), a.credit_code.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("blacklist", "remove", MALL),
            ("key_list", "add", SHOP),
            ("blacklist", "add", MALL),
        ],
        "every change, newest first, and nothing for the refused ones"
    );
    assert!(
        lists
            .audit
            .iter()
            .all(|a| a.by == "alice" && !a.reason.is_empty())
    );
    let (_, page) = office.get(&real, "/office/supervision/lists").await;
    assert!(page.contains("data-action=\"remove\"") && page.contains("复查确认整改到位"));
    // It may go back on later.
    let (status, _) = office
        .post(
            &real,
            "/office/supervision/blacklist",
            &[("credit_code", MALL), ("reason", "再犯")],
        )
        .await;
    assert_eq!(status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_sees_and_changes_only_its_own_enterprises() {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let hebei = Browser::sign_in(&server, "alice", Role::Reviewer, "hebei").await;
    let tianjin = Browser::sign_in(&server, "bob", Role::Admin, "tianjin").await;
    let gas = Browser::sign_in(&server, "gas", Role::SectorDepartment, "hebei").await;
    let mut g1 = phone(&server, &real, "g1").await;
    visit(
        &mut g1,
        "某商场",
        MALL,
        VisitMode::Covert,
        &[major("exits")],
    );
    let (status, _) = hebei
        .post(
            &real,
            "/office/supervision/blacklist",
            &[("credit_code", MALL), ("reason", "屡罚不改")],
        )
        .await;
    assert_eq!(status, 303);

    let (_, page) = hebei.get(&real, "/office/supervision").await;
    assert!(page.contains(MALL));
    for path in [
        "/office/supervision",
        "/office/supervision/lists",
        "/office/planning?all=1",
    ] {
        let (status, page) = tianjin.get(&real, path).await;
        assert_eq!(status, 200, "{path}: {page}");
        assert!(
            !page.contains(MALL) && !page.contains("某商场"),
            "{path} leaks hebei's enterprise"
        );
    }
    let (status, body) = tianjin
        .post(
            &real,
            "/office/supervision/key-list",
            &[("credit_code", MALL), ("reason", "x")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let id = server
        .state
        .backoffice
        .supervision_lists(&hebei.user)
        .await
        .expect("lists")
        .blacklist[0]
        .id;
    let (status, _) = tianjin
        .post(
            &real,
            &format!("/office/supervision/blacklist/{id}/remove"),
            &[("reason", "x")],
        )
        .await;
    assert_eq!(
        status, 404,
        "another region's entry is as if it did not exist"
    );
    let (status, _) = tianjin
        .post(
            &real,
            "/office/planning",
            &[("group", "g1"), ("code", MALL)],
        )
        .await;
    assert_eq!(status, 400, "another region's enterprise cannot be planned");
    // A sector department of another sector does not see the fire-safety mall either.
    let (_, page) = gas.get(&real, "/office/supervision/lists").await;
    assert!(!page.contains(MALL));
    assert!(
        server
            .state
            .backoffice
            .supervision_lists(&hebei.user)
            .await
            .expect("lists")
            .blacklist[0]
            .removed_at
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planning_selection_becomes_planned_target_pushes_that_reach_the_groups_phone() {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice", Role::Reviewer, "hebei").await;
    let mut g1 = phone(&server, &real, "g1").await;
    let mut g2 = phone(&server, &real, "g2").await;
    // The mall was visited covertly today (tier C or B: not due); the shop never was (due);
    // a g2 enterprise is outside g1's area.
    visit(
        &mut g1,
        "某商场",
        MALL,
        VisitMode::Covert,
        &[major("exits")],
    );
    visit(&mut g1, "某小店", SHOP, VisitMode::Announced, &[]);
    visit(
        &mut g2,
        "他组企业",
        "91130100MA0000003C",
        VisitMode::Announced,
        &[],
    );

    let (status, page) = office.get(&real, "/office/planning?group=g1").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        row(&page, "proposals", SHOP).is_some(),
        "never visited covertly: proposed"
    );
    assert!(
        row(&page, "proposals", MALL).is_none(),
        "visited covertly today: not due"
    );
    assert!(
        !page.contains("91130100MA0000003C"),
        "g2's area is not g1's"
    );
    let (_, whole) = office.get(&real, "/office/planning?group=g1&all=1").await;
    assert!(whole.contains("91130100MA0000003C"));
    // Key-listed by hand, the mall is proposed whatever its interval.
    let (status, _) = office
        .post(
            &real,
            "/office/supervision/key-list",
            &[("credit_code", MALL), ("reason", "专项整治")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = office.get(&real, "/office/planning?group=g1").await;
    assert!(row(&page, "proposals", MALL).is_some());

    let (status, _) = office
        .post(&real, "/office/planning", &[("group", "g1")])
        .await;
    assert_eq!(status, 400, "nothing ticked");
    let (status, body) = office
        .post(
            &real,
            "/office/planning",
            &[
                ("group", "g1"),
                ("code", SHOP),
                ("code", MALL),
                ("due", "2030-01-31"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let (_, pushes) = office.get(&real, "/office/assignments").await;
    assert!(pushes.contains("计划暗访：某小店") && pushes.contains("计划暗访：某商场"));

    tokio::task::block_in_place(|| g1.store.sync()).expect("sync");
    let got = g1.store.assignments().expect("assignments");
    let planned: Vec<_> = got
        .iter()
        .filter(|a| a.kind == AssignmentKind::PlannedTarget)
        .collect();
    assert_eq!(planned.len(), 2, "{got:?}");
    let shop = planned
        .iter()
        .find(|a| a.site.as_ref().and_then(|s| s.credit_code.as_deref()) == Some(SHOP))
        .expect("the shop's push");
    assert_eq!(shop.site.as_ref().map(|s| s.name.as_str()), Some("某小店"));
    assert!(
        shop.body.contains("C") && shop.due.is_some(),
        "{}",
        shop.body
    );
    // The phone starts the planned covert visit from it and syncs: the shop is no longer
    // due, the key-listed mall still is.
    let id: RecordId = shop.id.clone();
    let t = template();
    g1.store
        .start_visit_from_assignment(
            &id,
            siteproof_core::VisitFromAssignment {
                mode: VisitMode::Covert,
                team: vec!["张三".into()],
                template: Some(siteproof_core::TemplateRef {
                    id: t.id.clone(),
                    version: t.version,
                }),
                location: None,
            },
        )
        .expect("visit from the push");
    tokio::task::block_in_place(|| g1.store.sync()).expect("sync");
    let (_, page) = office.get(&real, "/office/planning?group=g1").await;
    assert!(row(&page, "proposals", SHOP).is_none(), "visited: {page}");
    assert!(row(&page, "proposals", MALL).is_some());
    tokio::task::block_in_place(|| g2.store.sync()).expect("sync");
    assert!(
        g2.store
            .assignments()
            .expect("assignments")
            .iter()
            .all(|a| a.kind != AssignmentKind::PlannedTarget),
        "another group's phone does not get them"
    );
}

/// A server whose kept risk facts are read only by requests (and by explicit warming), so the
/// tests count exactly what each request read.
fn counting_requests() -> siteproof_server::ServerConfig {
    let mut config = siteproof_server::ServerConfig::default();
    config.office.warm_risk_facts = false;
    config
}

/// A valid credit code of this test's warehouse, registered later.
fn warehouse_code() -> String {
    let body = "91130100MA0000004";
    let check = siteproof_core::credit_code_check_char(body).expect("digits");
    format!("{body}{check}")
}

/// The kept risk facts (`supervision/cache.rs`) are shown fresh after each kind of change (a
/// hazard synced, a blacklist entry, a registration, a merge and its undo, a lead) and are not
/// read again while nothing changed: counted by the cache's own tally, not timed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_risk_facts_follow_every_change_at_once_and_are_not_read_again_unchanged() {
    let server = TestServer::with_config(counting_requests()).await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice", Role::Reviewer, "hebei").await;
    let gas = Browser::sign_in(&server, "gas", Role::SectorDepartment, "hebei").await;
    let tianjin = Browser::sign_in(&server, "bob", Role::Reviewer, "tianjin").await;
    let bo = &server.state.backoffice;
    let mut g1 = phone(&server, &real, "g1").await;
    // Fire safety 10 + one major 15, covert today: 25. Fire safety 10 + never covert 15: 25.
    visit(
        &mut g1,
        "某商场",
        MALL,
        VisitMode::Covert,
        &[major("exits")],
    );
    visit(&mut g1, "某小店", SHOP, VisitMode::Announced, &[]);
    let (_, page) = office.get(&real, "/office/supervision").await;
    assert_eq!(tier_of(&page, MALL), ("C".into(), 25));
    assert_eq!(tier_of(&page, SHOP), ("C".into(), 25));
    let first = bo.risk_cache_stats();
    assert_eq!(
        (first.regions_gathered, first.enterprises_regathered),
        (1, 0)
    );

    // Nothing changed: the tier view, the key list and planning read no fact again.
    for path in [
        "/office/supervision",
        "/office/supervision/lists",
        "/office/planning?group=g1",
    ] {
        let (status, page) = office.get(&real, path).await;
        assert_eq!(status, 200, "{path}: {page}");
    }
    let unchanged = bo.risk_cache_stats();
    assert_eq!(
        (
            unchanged.regions_gathered,
            unchanged.enterprises_regathered,
            unchanged.hits
        ),
        (1, 0, first.hits + 3),
        "{unchanged:?}"
    );

    // A new major hazard synced for the shop: 40, tier B, at once; only the shop read again.
    visit(
        &mut g1,
        "某小店",
        SHOP,
        VisitMode::Announced,
        &[major("alarm")],
    );
    let (_, page) = office.get(&real, "/office/supervision").await;
    assert_eq!(tier_of(&page, SHOP), ("B".into(), 40));
    assert_eq!(tier_of(&page, MALL), ("C".into(), 25));
    let synced = bo.risk_cache_stats();
    assert_eq!(
        (synced.regions_gathered, synced.enterprises_regathered),
        (1, 1),
        "{synced:?}"
    );

    // Blacklisted: on the key list and proposed for a covert visit at once, though the mall
    // was visited covertly today.
    let (_, page) = office.get(&real, "/office/planning?group=g1").await;
    assert!(row(&page, "proposals", MALL).is_none(), "not due yet");
    let (status, _) = office
        .post(
            &real,
            "/office/supervision/blacklist",
            &[("credit_code", MALL), ("reason", "屡罚不改")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = office.get(&real, "/office/supervision/lists").await;
    let key = row(&page, "key-list", MALL).expect("blacklisted: on the key list");
    assert!(key.contains("data-source=\"blacklist\""), "{key}");
    let (_, page) = office.get(&real, "/office/planning?group=g1").await;
    assert!(row(&page, "proposals", MALL).is_some(), "{page}");

    // A name-only site with a major hazard; the enterprise registered; the site merged into
    // it; a lead naming the site; the merge undone: each shown at the next request.
    let warehouse = warehouse_code();
    visit_of(
        &mut g1,
        "某仓库",
        None,
        VisitMode::Announced,
        &[major("exits")],
    );
    let roster = format!(
        "credit_code,name,address,sectors\n{warehouse},某仓库有限公司,石家庄市,fire_safety\n"
    );
    bo.import_enterprises(&office.user, roster.into_bytes())
        .await
        .expect("import")
        .expect("a good roster");
    let (_, page) = office.get(&real, "/office/supervision").await;
    assert_eq!(
        tier_of(&page, &warehouse),
        ("C".into(), 25),
        "registered, never visited: 10 + 15"
    );
    let merge = bo
        .merge_site(&office.user, &warehouse, "某仓库")
        .await
        .expect("merge");
    let (_, page) = office.get(&real, "/office/supervision").await;
    assert_eq!(
        tier_of(&page, &warehouse),
        ("B".into(), 40),
        "the merged visit's major hazard: + 15"
    );
    bo.submit_lead(
        siteproof_server::backoffice::LeadInput {
            region: "hebei".into(),
            sector: None,
            site: "某仓库".into(),
            address: String::new(),
            description: "仓库安全通道长期堆放杂物，消防通道被占用".into(),
        },
        "127.0.0.1",
    )
    .await
    .expect("lead");
    let (_, page) = office.get(&real, "/office/supervision").await;
    assert_eq!(
        tier_of(&page, &warehouse),
        ("B".into(), 45),
        "a lead naming the merged site: + 5"
    );
    bo.undo_merge(&office.user, merge).await.expect("undo");
    let (_, page) = office.get(&real, "/office/supervision").await;
    assert_eq!(
        tier_of(&page, &warehouse),
        ("C".into(), 25),
        "undone: neither the visit nor the lead is the warehouse's"
    );
    assert_eq!(
        bo.risk_cache_stats().regions_gathered,
        1,
        "each change read again only what it changed"
    );

    // The clock moves the windows, not the cache: a year and a day on, the majors have left
    // the window, with nothing read again.
    let before = bo.risk_cache_stats();
    let later = bo
        .enterprise_risks_at(&office.user, siteproof_core::now() + 366 * DAY)
        .await
        .expect("risks");
    let shop = later
        .iter()
        .find(|e| e.facts.credit_code == SHOP)
        .expect("shop");
    assert_eq!((shop.facts.major, shop.risk.score), (0, 25));
    let mall = later
        .iter()
        .find(|e| e.facts.credit_code == MALL)
        .expect("mall");
    assert_eq!(
        (mall.facts.major, mall.days_since_covert, mall.risk.score),
        (0, Some(366), 25)
    );
    let after = bo.risk_cache_stats();
    assert_eq!(
        (after.regions_gathered, after.enterprises_regathered),
        (before.regions_gathered, before.enterprises_regathered)
    );

    // Other readers have their own facts: a gas department sees none of these fire-safety
    // enterprises, another region none of hebei's.
    let (_, page) = gas.get(&real, "/office/supervision").await;
    assert!(!page.contains(MALL) && !page.contains(SHOP));
    let (_, page) = tianjin.get(&real, "/office/supervision").await;
    assert!(!page.contains(MALL) && !page.contains(&warehouse));
    assert_eq!(bo.risk_cache_stats().regions_gathered, 3);
}

/// Warming reads a changed region ahead of its first request: the tier view then reads no
/// fact itself, and what changes after is again read by enterprise, not whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warmed_region_is_ready_before_its_first_tier_view() {
    let server = TestServer::with_config(counting_requests()).await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice", Role::Reviewer, "hebei").await;
    let bo = &server.state.backoffice;
    let mut g1 = phone(&server, &real, "g1").await;
    visit(
        &mut g1,
        "某商场",
        MALL,
        VisitMode::Covert,
        &[major("exits")],
    );
    let roster = format!(
        "credit_code,name,address,sectors\n{},某仓库有限公司,石家庄市,gas\n",
        warehouse_code()
    );
    bo.import_enterprises(&office.user, roster.into_bytes())
        .await
        .expect("import")
        .expect("a good roster");
    bo.refresh_index().await.expect("index");
    bo.warm_risk_facts().await.expect("warm");
    let warmed = bo.risk_cache_stats();
    assert_eq!(warmed.regions_gathered, 1, "{warmed:?}");

    let (_, page) = office.get(&real, "/office/supervision").await;
    assert_eq!(tier_of(&page, MALL), ("C".into(), 25));
    assert_eq!(
        tier_of(&page, &warehouse_code()),
        ("C".into(), 35),
        "gas 20 + never covert 15"
    );
    let served = bo.risk_cache_stats();
    assert_eq!(
        (
            served.regions_gathered,
            served.enterprises_regathered,
            served.hits
        ),
        (1, 0, warmed.hits + 1),
        "{served:?}"
    );

    // A change after: the warming reads the one enterprise again, and the request nothing.
    visit(
        &mut g1,
        "某商场",
        MALL,
        VisitMode::Covert,
        &[major("alarm")],
    );
    bo.refresh_index().await.expect("index");
    bo.warm_risk_facts().await.expect("warm");
    let (_, page) = office.get(&real, "/office/supervision").await;
    assert_eq!(tier_of(&page, MALL), ("B".into(), 40));
    let after = bo.risk_cache_stats();
    assert_eq!(
        (
            after.regions_gathered,
            after.enterprises_regathered,
            after.hits
        ),
        (1, 1, served.hits + 1),
        "{after:?}"
    );
}
