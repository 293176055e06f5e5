//! The enterprise registry over a real port: rosters imported from CSV and XLSX (all rows or
//! none, bad lines named), visits matched to an enterprise by the credit code typed on the
//! phone, a name-only site merged in and out by a reviewer with the audit trail, and each
//! region seeing only its own enterprises.

mod common;
mod office_fixture;

use common::{Phone, RealServer, TestServer, item, new_visit, template};
use office_fixture::Browser;
use siteproof_core::{NewFinding, RecordId, Severity, Site};
use siteproof_server::backoffice::Role;

const A: &str = "91350100M000100Y43";
const B: &str = "91110000600037341L";
const C: &str = "91130100MA00000012";

impl Browser {
    async fn sign_in(server: &TestServer, login: &str, role: Role, region: &str) -> Self {
        let sectors = vec![siteproof_core::Sector::FireSafety];
        Self::open(server, login, role, region, sectors).await
    }

    /// The number in the element with id `id` of the page at `path`.
    async fn count(&self, real: &RealServer, path: &str, id: &str) -> i64 {
        let (status, page) = self.get(real, path).await;
        assert_eq!(status, 200, "{page}");
        let pattern = format!("id=\"{id}\">");
        let at = page
            .find(&pattern)
            .unwrap_or_else(|| panic!("{id} in {page}"))
            + pattern.len();
        page[at..at + page[at..].find('<').expect("end")]
            .parse()
            .expect("a number")
    }
}

fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, cells) in rows.iter().enumerate() {
        for (c, cell) in cells.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *cell).expect("cell");
        }
    }
    book.save_to_buffer().expect("workbook")
}

const GOOD: &str = "统一社会信用代码,名称,曾用名,地址,行业领域,负责部门\n\
    91350100M000100Y43,某化工有限公司,某化工厂,石家庄市长安区,危险化学品;fire_safety,应急管理局\n\
    91110000600037341L,=HYPERLINK(\"x\"),,石家庄市桥西区,gas,住建局\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_with_bad_lines_is_refused_whole_and_a_good_one_is_imported_and_exported() {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice", Role::Reviewer, "hebei").await;

    // CSV: a good line, a wrong check character, a missing name, a duplicate.
    let bad = format!(
        "credit_code,name,address\n{A},甲公司,一路\n91350100M000100Y44,乙公司,二路\n{B},,三路\n{A},丙公司,四路\n"
    );
    let (status, body) = office.import(&real, bad.into_bytes()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("line 3: bad credit code"), "{body}");
    assert!(body.contains("check character"), "{body}");
    assert!(body.contains("line 4: the name is missing"), "{body}");
    assert!(body.contains("line 5: duplicate credit code"), "{body}");
    assert!(
        !body.contains("line 2:"),
        "the good line is not reported: {body}"
    );
    assert_eq!(
        office
            .count(&real, "/office/enterprises", "enterprise-count")
            .await,
        0,
        "nothing half-imported"
    );

    // XLSX, made here: an unknown sector on row 2 and a short code on row 4.
    let book = xlsx(&[
        &["名称", "统一社会信用代码", "行业领域"],
        &["甲公司", A, "不存在的行业"],
        &["乙公司", B, "燃气"],
        &["丙公司", "9135010", ""],
    ]);
    let (status, body) = office.import(&real, book).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("line 2: unknown sector"), "{body}");
    assert!(
        body.contains("line 4: bad credit code: a credit code has 18 characters"),
        "{body}"
    );
    assert_eq!(
        office
            .count(&real, "/office/enterprises", "enterprise-count")
            .await,
        0
    );

    // A good CSV, then a good XLSX that renames one enterprise (the old name is kept).
    let (status, body) = office.import(&real, GOOD.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{body}");
    let book = xlsx(&[
        &["credit_code", "name", "sectors"],
        &[C, "某商场", "fire_safety"],
        &[B, "某燃气公司", "gas"],
    ]);
    let (status, body) = office.import(&real, book).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        office
            .count(&real, "/office/enterprises", "enterprise-count")
            .await,
        3
    );
    assert_eq!(
        office
            .count(
                &real,
                "/office/enterprises?q=%E5%8C%96%E5%B7%A5%E5%8E%82",
                "enterprise-count"
            )
            .await,
        1,
        "a former name is searched"
    );
    let (_, page) = office.get(&real, &format!("/office/enterprises/{B}")).await;
    assert!(
        page.contains("某燃气公司") && page.contains("=HYPERLINK"),
        "{page}"
    );

    let (status, csv) = office.get(&real, "/office/enterprises.csv").await;
    assert_eq!(status, 200);
    assert!(
        csv.contains(A)
            && csv.contains("某化工有限公司")
            && csv.contains("hazardous_chemicals;fire_safety")
    );
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"x\"\")\""),
        "formula cells are neutralised: {csv}"
    );
    let resp = office
        .http
        .get(real.url("/office/enterprises.xlsx"))
        .header("cookie", &office.cookie)
        .send()
        .await
        .expect("xlsx");
    assert_eq!(resp.status().as_u16(), 200);
    // The export reads back as a roster.
    let bytes = resp.bytes().await.expect("body").to_vec();
    let (status, body) = office.import(&real, bytes).await;
    assert_eq!(status, 200, "the export imports again: {body}");
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

/// A visit to `site` typed with `code` (or none), with one major finding under item `exits`;
/// synced over HTTP. Returns the visit id.
fn visit(phone: &mut Phone, site: &str, code: Option<&str>) -> RecordId {
    let mut new = new_visit(&template(), site);
    new.site = Site {
        credit_code: code.map(str::to_owned),
        ..new.site
    };
    let id = phone.store.create_visit(new).expect("visit");
    phone
        .store
        .add_finding(
            &id,
            NewFinding {
                description: "安全出口堵塞".into(),
                severity: Severity::Major,
                item: Some(item("exits")),
                location: None,
                media: vec![],
                fixed_on_spot: false,
                interim_measures: Some("设置警戒区".into()),
            },
        )
        .expect("finding");
    tokio::task::block_in_place(|| phone.store.sync()).expect("sync over HTTP");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visits_match_by_credit_code_and_a_name_only_site_is_merged_in_and_out_with_its_audit_trail()
 {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice", Role::Reviewer, "hebei").await;
    let (status, body) = office.import(&real, GOOD.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{body}");
    let mut g1 = phone(&server, &real, "g1").await;
    // Typed with the code (lower case and spaces are forgiven), typed with only a name, and
    // another enterprise's visit.
    let coded = visit(&mut g1, "某化工", Some(&format!(" {} ", A.to_lowercase())));
    let named = visit(&mut g1, "某化工厂（北区）", None);
    let other = visit(&mut g1, "某燃气站", Some(B));

    let path = format!("/office/enterprises/{A}");
    let (status, page) = office.get(&real, &path).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&coded.to_string()) && !page.contains(&other.to_string()));
    assert!(
        !page.contains(&format!("/office/visits/{named}")),
        "not merged yet"
    );
    assert!(
        page.contains("某化工厂（北区）"),
        "the name-only site is offered as a candidate: {page}"
    );
    assert_eq!(office.count(&real, &path, "visit-count").await, 1);
    assert!(page.contains("id=\"enterprise-repeats\""));
    assert!(!page.contains("<td>exits</td>"), "one visit is no repeat");

    // The merge brings the name-only visit, its hazard and the repeat finding in.
    let (status, body) = office
        .post(
            &real,
            &format!("{path}/merge"),
            &[("site", "某化工厂（北区）")],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let (_, page) = office.get(&real, &path).await;
    assert_eq!(office.count(&real, &path, "visit-count").await, 2);
    assert!(page.contains(&format!("/office/visits/{named}")), "{page}");
    assert!(
        page.contains("<td>exits</td>"),
        "the item failed on both visits is a repeat: {page}"
    );
    let (_, list) = office.get(&real, "/office/enterprises").await;
    assert!(list.contains("<td class=\"open-hazards\">2</td>"), "{list}");
    // Merged once: a second merge of the same site, anywhere, is refused.
    let (status, _) = office
        .post(
            &real,
            &format!("/office/enterprises/{B}/merge"),
            &[("site", "某化工厂（北区）")],
        )
        .await;
    assert_eq!(status, 409);
    // A later visit typed with only that name joins through the index, and the tier panel
    // counts the same visits as the history (the item found on all three: two repeats).
    let later = visit(&mut g1, "某化工厂（北区）", None);
    let (_, page) = office.get(&real, &path).await;
    assert_eq!(office.count(&real, &path, "visit-count").await, 3);
    assert!(page.contains(&format!("/office/visits/{later}")), "{page}");
    assert!(
        page.contains("data-rule=\"repeat_findings\"") && page.contains("同一检查项重复发现 2 次"),
        "{page}"
    );

    // Undo: the visits leave, the trail says who merged and who undid, and when.
    let at = page.find("/office/enterprises/merges/").expect("undo form")
        + "/office/enterprises/merges/".len();
    let id = &page[at..at + page[at..].find('/').expect("id end")];
    let (status, body) = office
        .post(&real, &format!("/office/enterprises/merges/{id}/undo"), &[])
        .await;
    assert_eq!(status, 303, "{body}");
    let (_, page) = office.get(&real, &path).await;
    assert_eq!(office.count(&real, &path, "visit-count").await, 1);
    assert!(!page.contains(&format!("/office/visits/{named}")));
    assert!(!page.contains(&format!("/office/visits/{later}")));
    let trail = &page[page.find("id=\"enterprise-merges\"").expect("trail")..];
    assert!(
        trail.contains("某化工厂（北区）") && trail.matches("alice").count() == 2,
        "{trail}"
    );
    assert!(
        !trail.contains("/undo\""),
        "an undone merge has no undo button: {trail}"
    );
    let (status, _) = office
        .post(&real, &format!("/office/enterprises/merges/{id}/undo"), &[])
        .await;
    assert_eq!(status, 409, "undone once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_region_sees_only_its_own_enterprises_and_only_reviewers_keep_the_registry() {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let hebei = Browser::sign_in(&server, "alice", Role::Reviewer, "hebei").await;
    let tianjin = Browser::sign_in(&server, "bob", Role::Reviewer, "tianjin").await;
    let fire = Browser::sign_in(&server, "fire", Role::SectorDepartment, "hebei").await;
    let (status, body) = tianjin.import(&real, GOOD.as_bytes().to_vec()).await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(
        hebei
            .count(&real, "/office/enterprises", "enterprise-count")
            .await,
        0
    );
    assert_eq!(
        tianjin
            .count(&real, "/office/enterprises", "enterprise-count")
            .await,
        2
    );
    let (status, _) = hebei.get(&real, &format!("/office/enterprises/{A}")).await;
    assert_eq!(
        status, 404,
        "another region's enterprise does not exist for this user"
    );
    let (status, _) = hebei
        .post(
            &real,
            &format!("/office/enterprises/{A}/merge"),
            &[("site", "x")],
        )
        .await;
    assert_eq!(status, 404);
    let (_, csv) = hebei.get(&real, "/office/enterprises.csv").await;
    assert!(!csv.contains(A), "the export holds only the region's");

    // The same code may be registered in another region, separately.
    let (status, body) = hebei
        .import(
            &real,
            format!("credit_code,name\n{A},河北分公司\n").into_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = tianjin
        .get(&real, &format!("/office/enterprises/{A}"))
        .await;
    assert!(page.contains("某化工有限公司") && !page.contains("河北分公司"));

    // A sector department reads the registry but does not import or merge.
    assert_eq!(
        fire.count(&real, "/office/enterprises", "enterprise-count")
            .await,
        1
    );
    let (status, _) = fire.import(&real, GOOD.as_bytes().to_vec()).await;
    assert_eq!(status, 403);
    let (status, _) = fire
        .post(
            &real,
            &format!("/office/enterprises/{A}/merge"),
            &[("site", "x")],
        )
        .await;
    assert_eq!(status, 403);
}
