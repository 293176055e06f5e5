//! The back office over HTTP (`app()` + `oneshot`): sign-in with session cookies, region
//! isolation, CSRF, device tokens refused, and a case from a finding to its closure.

mod common;
mod media_fixture;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Phone, TestServer};
use http_body_util::BodyExt;
use siteproof_core::{NewFinding, RecordKind, Sector, Severity};
use siteproof_server::backoffice::{NewUser, Role};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    cookies: Vec<String>,
    location: Option<String>,
    body: String,
}

async fn send(server: &TestServer, req: Request<Body>) -> Reply {
    let resp = server.app().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let cookies = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        cookies,
        location,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("request")
}

fn post(path: &str, cookie: &str, form: &str) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .expect("request")
}

fn cookie_value<'a>(cookies: &'a [String], name: &str) -> Option<&'a str> {
    cookies
        .iter()
        .filter_map(|c| c.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn csrf_in(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[at..at + 64].to_owned()
}

async fn add_user(server: &TestServer, login: &str, role: Role, region: &str) {
    server
        .state
        .backoffice
        .create_user(NewUser {
            login: login.into(),
            name: login.into(),
            password: "correct horse battery".into(),
            role,
            region: region.into(),
            sectors: vec![],
        })
        .await
        .expect("user");
}

/// Signs in; returns the Cookie header value and the session's CSRF token.
async fn sign_in(server: &TestServer, login: &str) -> (String, String) {
    let form = send(server, get("/office/login", "")).await;
    assert_eq!(form.status, StatusCode::OK);
    let login_csrf = cookie_value(&form.cookies, "sp_login_csrf").expect("login csrf cookie");
    let reply = send(
        server,
        post(
            "/office/login",
            &format!("sp_login_csrf={login_csrf}"),
            &format!("csrf={login_csrf}&login={login}&password=correct+horse+battery"),
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let set = reply
        .cookies
        .iter()
        .find(|c| c.starts_with("sp_session="))
        .expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set.contains(attr), "session cookie lacks {attr}: {set}");
    }
    let cookie = format!(
        "sp_session={}",
        cookie_value(&reply.cookies, "sp_session").expect("session")
    );
    let page = send(server, get("/office/visits", &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    (cookie.clone(), csrf_in(&page.body))
}

async fn visit_with_finding(
    server: &TestServer,
    group: &str,
    site: &str,
) -> (Phone, String, String) {
    let mut phone = Phone::enroll(server, group).await;
    let visit = phone.capture_visit(site);
    let finding = phone
        .store
        .add_finding(
            &visit,
            NewFinding {
                description: "安全出口被货物堵塞".into(),
                severity: Severity::Major,
                item: None,
                location: None,
                media: vec![],
                fixed_on_spot: false,
                interim_measures: None,
            },
        )
        .expect("finding");
    phone.sync_all(server, 1 << 20).await;
    (phone, visit.to_string(), finding.to_string())
}

/// `siteproof_office_index_records_total` on the server's `/metrics` (0 before the first
/// count).
async fn office_index_records(server: &TestServer) -> f64 {
    let page = send(server, get("/metrics", "")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.body
        .lines()
        .find_map(|l| l.strip_prefix("siteproof_office_index_records_total "))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

async fn server_with_two_regions() -> TestServer {
    let server = TestServer::new().await;
    server
        .state
        .admin
        .create_group(
            "tianjin".parse().expect("region"),
            "t1",
            Some("t1".parse().expect("id")),
        )
        .await
        .expect("group t1");
    add_user(&server, "alice", Role::Reviewer, "hebei").await;
    add_user(&server, "tom", Role::Reviewer, "tianjin").await;
    server
}

#[tokio::test]
async fn a_user_sees_only_their_region_and_other_regions_look_absent() {
    let server = server_with_two_regions().await;
    let indexed_before = office_index_records(&server).await;
    let (_a, visit_a, _) = visit_with_finding(&server, "g1", "河北某化工厂").await;
    let (_b, visit_b, _) = visit_with_finding(&server, "t1", "天津某商场").await;
    let (alice, _) = sign_in(&server, "alice").await;

    let list = send(&server, get("/office/visits", &alice)).await;
    assert!(list.body.contains("河北某化工厂"));
    assert!(!list.body.contains("天津某商场"));
    // The index read both visits whole to catch up (the counter is shared with the other
    // tests of this binary, which only add to it).
    let indexed = office_index_records(&server).await - indexed_before;
    assert!(indexed >= 2.0, "{indexed} records counted");
    let own = send(&server, get(&format!("/office/visits/{visit_a}"), &alice)).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.body.contains("安全出口被货物堵塞"));
    let other = send(&server, get(&format!("/office/visits/{visit_b}"), &alice)).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let evidence = send(
        &server,
        get(
            &format!("/v1/media/{}?record={visit_b}", "a".repeat(64)),
            &alice,
        ),
    )
    .await;
    assert_eq!(evidence.status, StatusCode::NOT_FOUND);

    let anonymous = send(&server, get("/office/visits", "")).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.location.as_deref(), Some("/office/login"));
}

#[tokio::test]
async fn forms_without_the_csrf_token_and_device_tokens_are_refused() {
    let server = server_with_two_regions().await;
    let (phone, visit, finding) = visit_with_finding(&server, "g1", "某加油站").await;
    let (alice, csrf) = sign_in(&server, "alice").await;
    let path = format!("/office/visits/{visit}/findings/{finding}/case");

    let no_token = send(&server, post(&path, &alice, "")).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert!(no_token.body.contains("CSRF"), "{}", no_token.body);
    let wrong = send(
        &server,
        post(&path, &alice, &format!("csrf={}", "0".repeat(64))),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);

    let opened = send(&server, post(&path, &alice, &format!("csrf={csrf}"))).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    let case_path = opened.location.expect("case location");

    let by_device = Request::post(format!("{case_path}/events"))
        .header(header::AUTHORIZATION, format!("Bearer {}", phone.token))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf={csrf}&kind=escalated")))
        .expect("request");
    let refused = send(&server, by_device).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("device tokens"), "{}", refused.body);
}

#[tokio::test]
async fn a_case_goes_from_a_finding_to_closed_and_syncs_to_the_group() {
    let server = server_with_two_regions().await;
    let (mut phone, visit, finding) = visit_with_finding(&server, "g1", "某钢铁厂").await;
    let (alice, csrf) = sign_in(&server, "alice").await;
    let opened = send(
        &server,
        post(
            &format!("/office/visits/{visit}/findings/{finding}/case"),
            &alice,
            &format!("csrf={csrf}"),
        ),
    )
    .await;
    let case_path = opened.location.expect("case location");
    let case_id = case_path.rsplit('/').next().expect("id").to_owned();

    let premature = send(
        &server,
        post(
            &format!("{case_path}/events"),
            &alice,
            &format!("csrf={csrf}&kind=closed"),
        ),
    )
    .await;
    assert_eq!(premature.status, StatusCode::BAD_REQUEST);
    assert!(
        premature.body.contains("cannot be closed"),
        "{}",
        premature.body
    );

    for form in [
        "kind=ordered&unit=%E6%9F%90%E9%92%A2%E9%93%81%E5%8E%82&deadline=2030-01-31".to_owned(),
        "kind=interim_measures&note=%E8%AE%BE%E7%BD%AE%E8%AD%A6%E6%88%92".to_owned(),
        "kind=rectified&note=done".to_owned(),
        "kind=verified".to_owned(),
        "kind=closed".to_owned(),
    ] {
        let r = send(
            &server,
            post(
                &format!("{case_path}/events"),
                &alice,
                &format!("csrf={csrf}&{form}"),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{form}: {}", r.body);
    }
    let page = send(&server, get(&case_path, &alice)).await;
    assert!(
        page.body.contains("data-status=\"closed\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("alice"));
    let ledger = send(&server, get("/office/ledger", &alice)).await;
    assert!(ledger.body.contains("某钢铁厂") && ledger.body.contains("已销号"));

    let stored = server
        .state
        .storage
        .documents(&[case_id.parse().expect("record id")])
        .await
        .expect("documents");
    assert_eq!(stored[0].header.kind, RecordKind::Case);
    assert_eq!(stored[0].header.scope.group, "g1");
    let responses = phone.sync_all(&server, 1 << 20).await;
    assert!(
        responses
            .iter()
            .flat_map(|r| &r.records)
            .any(|r| r.id.to_string() == case_id),
        "the group pulls its case"
    );

    let report = send(&server, get("/office/reports?kind=month", &alice)).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert!(
        report.body.contains("id=\"closure-rate\">100.0%"),
        "{}",
        report.body
    );
    assert!(report.body.contains("<svg"));
    let csv = send(&server, get("/office/ledger.csv", &alice)).await;
    assert!(csv.body.contains("某钢铁厂") && csv.body.contains("已销号"));
    let xlsx = server
        .app()
        .oneshot(get("/office/ledger.xlsx", &alice))
        .await
        .expect("infallible");
    assert_eq!(xlsx.status(), StatusCode::OK);
    let bytes = xlsx.into_body().collect().await.expect("body").to_bytes();
    assert!(bytes.starts_with(b"PK"), "an XLSX is a zip");
    let pdf = server
        .app()
        .oneshot(get(&format!("{case_path}/notice.pdf"), &alice))
        .await
        .expect("infallible");
    if std::path::Path::new("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf").exists() {
        assert_eq!(pdf.status(), StatusCode::OK);
        let bytes = pdf.into_body().collect().await.expect("body").to_bytes();
        assert!(bytes.starts_with(b"%PDF"));
        assert!(
            bytes.len() < 200_000,
            "the font is subset: {} bytes",
            bytes.len()
        );
        if let Ok(path) = std::env::var("SITEPROOF_SAVE_NOTICE") {
            std::fs::write(path, &bytes).expect("save the notice");
        }
    } else {
        eprintln!("no CJK font installed: the notice PDF is not checked");
    }

    let (tom, _) = sign_in(&server, "tom").await;
    let hidden = send(&server, get(&case_path, &tom)).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);

    // Every case event is in the custody chain, by the user who made it.
    assert!(
        custody_actions(&server)
            .await
            .contains(&("user:alice".into(), "case_event".into()))
    );
}

/// `(actor, action)` of every custody entry, in order; the chain must hold.
async fn custody_actions(server: &TestServer) -> Vec<(String, String)> {
    let verified = server
        .state
        .evidence
        .verify_chain()
        .await
        .expect("read the chain");
    assert!(verified.is_ok(), "the chain holds: {verified:?}");
    server
        .rows("SELECT actor, action FROM custody_log ORDER BY seq")
        .await
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled() {
    let server = server_with_two_regions().await;
    let form = send(&server, get("/office/login", "")).await;
    let token = cookie_value(&form.cookies, "sp_login_csrf")
        .expect("cookie")
        .to_owned();
    let attempt = |password: &'static str| {
        post(
            "/office/login",
            &format!("sp_login_csrf={token}"),
            &format!("csrf={token}&login=alice&password={password}"),
        )
    };
    for _ in 0..5 {
        assert_eq!(
            send(&server, attempt("wrong")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let blocked = send(&server, attempt("correct+horse+battery")).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.body.contains("too many"), "{}", blocked.body);
    let no_csrf = send(
        &server,
        post(
            "/office/login",
            "",
            "login=tom&password=correct+horse+battery",
        ),
    )
    .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn evidence_is_served_to_users_of_its_region_with_ranges_and_is_pending_until_uploaded() {
    let server = server_with_two_regions().await;
    let mut phone = media_fixture::MediaPhone::enroll(&server, "t1").await;
    let data = media_fixture::pseudo_random(3000, 11);
    let (visit, media_ref) = phone.visit_with_evidence(&server, &data).await;
    let (tom, _) = sign_in(&server, "tom").await;
    let (alice, _) = sign_in(&server, "alice").await;

    let page = send(&server, get(&format!("/office/visits/{visit}"), &tom)).await;
    assert!(
        page.body
            .contains(&format!("data-pending=\"{}\"", media_ref.hash)),
        "not uploaded yet: shown as pending"
    );
    let created = media_fixture::create(
        &server,
        &phone.phone.token,
        visit.as_str(),
        media_ref.hash.as_str(),
        3000,
    )
    .await;
    let location = created.header("location").expect("location").to_owned();
    media_fixture::patch(&server, &phone.phone.token, &location, 0, &data).await;
    let page = send(&server, get(&format!("/office/visits/{visit}"), &tom)).await;
    assert!(
        !page.body.contains("data-pending"),
        "uploaded: no longer pending"
    );
    assert!(page.body.contains("<video"));
    assert!(
        page.body.contains("data-evidence=\"unverified\"") && page.body.contains("未验证"),
        "an unsigned capture is never shown as verified"
    );

    let uri = format!("/v1/media/{}?record={visit}", media_ref.hash);
    let ranged = Request::get(&uri)
        .header(header::COOKIE, &tom)
        .header(header::RANGE, "bytes=1000-1999")
        .body(Body::empty())
        .expect("request");
    let part = server.app().oneshot(ranged).await.expect("infallible");
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    let bytes = part.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(&bytes[..], &data[1000..2000]);
    let other_region = send(&server, get(&uri, &alice)).await;
    assert_eq!(other_region.status, StatusCode::NOT_FOUND);
    let no_session = send(&server, get(&uri, "")).await;
    assert_eq!(no_session.status, StatusCode::UNAUTHORIZED);
    assert!(
        custody_actions(&server)
            .await
            .contains(&("user:tom".into(), "view".into())),
        "a view is in the custody chain"
    );
}

#[tokio::test]
async fn a_sector_department_sees_only_its_sectors() {
    let server = server_with_two_regions().await;
    let (_phone, visit, _) = visit_with_finding(&server, "g1", "某商场").await;
    for (login, sector) in [("fire", Sector::FireSafety), ("gas", Sector::Gas)] {
        server
            .state
            .backoffice
            .create_user(NewUser {
                login: login.into(),
                name: login.into(),
                password: "correct horse battery".into(),
                role: Role::SectorDepartment,
                region: "hebei".into(),
                sectors: vec![sector],
            })
            .await
            .expect("user");
    }
    let (fire, _) = sign_in(&server, "fire").await;
    let (gas, _) = sign_in(&server, "gas").await;
    let path = format!("/office/visits/{visit}");
    assert_eq!(
        send(&server, get(&path, &fire)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&server, get(&path, &gas)).await.status,
        StatusCode::NOT_FOUND
    );
    let list = send(&server, get("/office/visits", &gas)).await;
    assert!(
        list.body.contains("id=\"count-visits\">0<"),
        "{}",
        list.body
    );
}

fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn path_id(location: Option<&str>, prefix: &str) -> String {
    location
        .and_then(|l| l.strip_prefix(prefix))
        .expect("redirect to the new record")
        .to_owned()
}

#[tokio::test]
async fn rosters_pushes_leads_and_templates_through_the_pages() {
    let server = server_with_two_regions().await;
    add_user(&server, "ada", Role::Admin, "hebei").await;
    let (alice, csrf) = sign_in(&server, "alice").await;
    let (tom, _) = sign_in(&server, "tom").await;

    // Rosters: an expert (two sectors) and an inspector put into group g1.
    let added = send(
        &server,
        post(
            "/office/roster/experts",
            &alice,
            &encode(&[
                ("csrf", &csrf),
                ("name", "王工"),
                ("specialty", "危化工艺安全"),
                ("unit", "省专家库"),
                ("sector", "hazardous_chemicals"),
                ("sector", "gas"),
            ]),
        ),
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let added = send(
        &server,
        post(
            "/office/roster/inspectors",
            &alice,
            &encode(&[
                ("csrf", &csrf),
                ("name", "李明"),
                ("unit", "市应急管理局"),
                ("group", "g1"),
            ]),
        ),
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let roster = send(&server, get("/office/roster", &alice)).await;
    assert!(roster.body.contains("王工") && roster.body.contains("危险化学品、燃气"));
    assert!(roster.body.contains("李明"));
    assert!(
        !send(&server, get("/office/roster", &tom))
            .await
            .body
            .contains("王工")
    );
    let expert_id = {
        let at = roster.body.find("data-expert=\"").expect("expert row") + 13;
        roster.body[at..].split('"').next().expect("id").to_owned()
    };

    // A push without the CSRF token is refused; with it, it names the chosen expert.
    let push_form = [
        ("group", "g1"),
        ("kind", "experts"),
        ("title", "危化专家支持"),
        ("body", "如需技术支持请联系"),
        ("sector", "hazardous_chemicals"),
        ("expert", expert_id.as_str()),
    ];
    let forged = send(
        &server,
        post("/office/assignments", &alice, &encode(&push_form)),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut with_token = vec![("csrf", csrf.as_str())];
    with_token.extend_from_slice(&push_form);
    let pushed = send(
        &server,
        post("/office/assignments", &alice, &encode(&with_token)),
    )
    .await;
    assert_eq!(pushed.status, StatusCode::SEE_OTHER, "{}", pushed.body);
    let id = path_id(pushed.location.as_deref(), "/office/assignments/");
    let page = send(&server, get(&format!("/office/assignments/{id}"), &alice)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("危化专家支持") && page.body.contains("王工"));
    let other = send(&server, get(&format!("/office/assignments/{id}"), &tom)).await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "another region's push looks absent"
    );
    // A group-information push lists the group's members from the roster.
    let info = send(
        &server,
        post(
            "/office/assignments",
            &alice,
            &encode(&[
                ("csrf", &csrf),
                ("group", "g1"),
                ("kind", "group_info"),
                ("title", "组情"),
            ]),
        ),
    )
    .await;
    let info_id = path_id(info.location.as_deref(), "/office/assignments/");
    let info = send(
        &server,
        get(&format!("/office/assignments/{info_id}"), &alice),
    )
    .await;
    assert!(info.body.contains("李明（市应急管理局）"), "{}", info.body);
    let list = send(&server, get("/office/assignments", &alice)).await;
    assert_eq!(list.body.matches("data-assignment=").count(), 2);

    // A lead from the public form, dismissed on its page.
    let report = send(
        &server,
        post(
            "/report",
            "",
            &encode(&[
                ("region", "hebei"),
                ("site", "某商场"),
                ("description", "安全出口被锁闭，消防通道堆放杂物。"),
            ]),
        ),
    )
    .await;
    assert_eq!(report.status, StatusCode::CREATED, "{}", report.body);
    assert!(report.cookies.is_empty(), "the public form sets no cookie");
    let leads = send(&server, get("/office/leads", &alice)).await;
    let lead = {
        let at = leads.body.find("data-lead=\"").expect("lead row") + 11;
        leads.body[at..].split('"').next().expect("id").to_owned()
    };
    assert!(
        !send(&server, get("/office/leads", &tom))
            .await
            .body
            .contains("某商场")
    );
    let dismissed = send(
        &server,
        post(
            &format!("/office/leads/{lead}/triage"),
            &alice,
            &encode(&[
                ("csrf", &csrf),
                ("decision", "dismiss"),
                ("note", "经核实为重复举报"),
            ]),
        ),
    )
    .await;
    assert_eq!(
        dismissed.status,
        StatusCode::SEE_OTHER,
        "{}",
        dismissed.body
    );
    let page = send(&server, get(&format!("/office/leads/{lead}"), &alice)).await;
    assert!(page.body.contains("data-status=\"dismissed\""));
    assert!(
        !page.body.contains("id=\"assign-lead\""),
        "no triage form once decided"
    );

    // Another lead: an assignment that cannot be issued leaves it received; one that can
    // decides it, and a second decision is a conflict.
    let report = send(
        &server,
        post(
            "/report",
            "",
            &encode(&[
                ("region", "hebei"),
                ("site", "某仓库"),
                ("description", "仓库内违规存放易燃液体，无人看管。"),
            ]),
        ),
    )
    .await;
    assert_eq!(report.status, StatusCode::CREATED, "{}", report.body);
    let leads = send(&server, get("/office/leads?status=received", &alice)).await;
    let second = {
        let at = leads.body.find("data-lead=\"").expect("lead row") + 11;
        leads.body[at..].split('"').next().expect("id").to_owned()
    };
    assert_ne!(second, lead);
    let assign = |group: &'static str| {
        post(
            &format!("/office/leads/{second}/triage"),
            &alice,
            &encode(&[
                ("csrf", &csrf),
                ("decision", "assign"),
                ("group", group),
                ("note", "请尽快核查"),
            ]),
        )
    };
    let refused = send(&server, assign("no-such-group")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let page = send(&server, get(&format!("/office/leads/{second}"), &alice)).await;
    assert!(
        page.body.contains("data-status=\"received\""),
        "a failed assignment takes the decision back"
    );
    let assigned = send(&server, assign("g1")).await;
    assert_eq!(assigned.status, StatusCode::SEE_OTHER, "{}", assigned.body);
    let page = send(&server, get(&format!("/office/leads/{second}"), &alice)).await;
    assert!(
        page.body.contains("data-status=\"assigned\""),
        "{}",
        page.body
    );
    let list = send(&server, get("/office/assignments", &alice)).await;
    assert_eq!(list.body.matches("data-assignment=").count(), 3);
    let again = send(&server, assign("g1")).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let list = send(&server, get("/office/assignments", &alice)).await;
    assert_eq!(
        list.body.matches("data-assignment=").count(),
        3,
        "a refused decision issues nothing"
    );
    // Once a visit of the group answers the assignment, the lead reads as inspected.
    let assignment_id: siteproof_core::RecordId = {
        let at = page.body.find("/assignments/").expect("assignment link") + 13;
        page.body[at..]
            .split('"')
            .next()
            .expect("id")
            .parse()
            .expect("record id")
    };
    let mut phone = Phone::enroll(&server, "g1").await;
    phone
        .store
        .create_visit(siteproof_core::NewVisit {
            assignment: Some(assignment_id),
            ..common::new_visit(&common::template(), "某仓库")
        })
        .expect("visit");
    phone.sync_all(&server, 1 << 20).await;
    let page = send(&server, get(&format!("/office/leads/{second}"), &alice)).await;
    assert!(
        page.body.contains("data-status=\"inspected\""),
        "{}",
        page.body
    );

    // Templates: imported as a draft by an admin, published only by an admin.
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../content/templates/gas-user-rural.json"
    ))
    .expect("template file");
    let (ada, ada_csrf) = sign_in(&server, "ada").await;
    let refused = send(
        &server,
        post(
            "/office/templates",
            &alice,
            &encode(&[("csrf", &csrf), ("json", &template)]),
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let imported = send(
        &server,
        post(
            "/office/templates",
            &ada,
            &encode(&[("csrf", &ada_csrf), ("json", &template)]),
        ),
    )
    .await;
    assert_eq!(imported.status, StatusCode::SEE_OTHER, "{}", imported.body);
    let bad = send(
        &server,
        post(
            "/office/templates",
            &ada,
            &encode(&[("csrf", &ada_csrf), ("json", "{\"id\":1}")]),
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let library = send(&server, get("/office/templates", &ada)).await;
    assert!(
        library.body.contains("data-state=\"draft\""),
        "{}",
        library.body
    );
    let publish = "/office/templates/gas-user-rural/1/publish";
    let by_reviewer = send(&server, post(publish, &alice, &encode(&[("csrf", &csrf)]))).await;
    assert_eq!(by_reviewer.status, StatusCode::FORBIDDEN);
    let published = send(
        &server,
        post(publish, &ada, &encode(&[("csrf", &ada_csrf)])),
    )
    .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.body
    );
    let library = send(&server, get("/office/templates", &ada)).await;
    assert!(library.body.contains("data-state=\"published\""));
    assert!(!library.body.contains("data-state=\"draft\""));
    let collections = send(&server, get("/office/collections", &alice)).await;
    assert_eq!(collections.status, StatusCode::OK);
}
