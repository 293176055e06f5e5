//! The hazard ledger over a real port: phones (core stores) sync over HTTP to a server on
//! port 0, the office reads and drives the ledger with a browser's requests (session cookie
//! and CSRF token). Every finding is an entry the moment it is synced, with its status; an
//! overdue hazard is listed by itself; the period reports count hazards.

mod common;
mod office_fixture;

use common::{Phone, RealServer, TestServer};
use office_fixture::{Browser, add_user, sign_in};
use sha2::Digest;
use siteproof_core::{NewFinding, RecordId, Severity};
use siteproof_server::backoffice::Role;

impl Browser {
    async fn sign_in(server: &TestServer, login: &str) -> Self {
        Self::open(server, login, Role::Reviewer, "hebei", vec![]).await
    }

    /// Records an event (`form`: its kind and fields) on the ledger entry at `events`; the
    /// office accepts it with a redirect back to the entry.
    async fn act(&self, real: &RealServer, events: &str, form: &[(&str, &str)]) {
        let (status, body) = self.post(real, events, form).await;
        assert_eq!(status, 303, "{body}");
    }

    /// How many entries the ledger page counts for `query`.
    async fn ledger_count(&self, real: &RealServer, query: &str) -> i64 {
        let (status, page) = self.get(real, &format!("/office/ledger?{query}")).await;
        assert_eq!(status, 200, "{page}");
        let at = page.find("id=\"case-count\">").expect("count") + "id=\"case-count\">".len();
        page[at..at + page[at..].find('<').expect("end")]
            .parse()
            .expect("a number")
    }
}

/// A phone of `group` that syncs over HTTP with the server on the real port.
async fn phone(server: &TestServer, real: &RealServer, group: &str) -> Phone {
    let mut phone = Phone::enroll(server, group).await;
    phone
        .store
        .set_server(&real.url(""), &phone.token)
        .expect("server");
    phone
}

fn finding(description: &str, severity: Severity, fixed_on_spot: bool) -> NewFinding {
    NewFinding {
        description: description.into(),
        severity,
        item: None,
        location: None,
        media: vec![],
        fixed_on_spot,
        interim_measures: (!fixed_on_spot).then(|| "设置警戒区".to_owned()),
    }
}

/// Captures a visit with these findings and syncs it over HTTP; returns the ledger entry id
/// of each finding.
fn capture(phone: &mut Phone, site: &str, findings: &[NewFinding]) -> Vec<String> {
    let visit = phone.capture_visit(site);
    let ids = findings
        .iter()
        .map(|f| {
            let id = phone.store.add_finding(&visit, f.clone()).expect("finding");
            RecordId::for_finding_case(&visit, &id).to_string()
        })
        .collect();
    tokio::task::block_in_place(|| phone.store.sync()).expect("sync over HTTP");
    ids
}

fn status_of(page: &str, entry: &str) -> String {
    let pattern = format!("data-case=\"{entry}\" data-status=\"");
    let at = page
        .find(&pattern)
        .unwrap_or_else(|| panic!("entry {entry} not in the ledger"));
    let rest = &page[at + pattern.len()..];
    rest[..rest.find('"').expect("quote")].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_finding_is_in_the_ledger_at_once_with_its_status_and_the_filters_find_it() {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice").await;
    let mut g1 = phone(&server, &real, "g1").await;
    let mut g2 = phone(&server, &real, "g2").await;
    let one = capture(
        &mut g1,
        "某化工厂",
        &[
            finding("可燃气体报警器未投用", Severity::Major, false),
            finding("灭火器过期", Severity::General, true),
        ],
    );
    let two = capture(
        &mut g2,
        "某商场",
        &[finding("疏散指示标志损坏", Severity::General, false)],
    );

    let (status, page) = office.get(&real, "/office/ledger").await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&page, &one[0]), "open");
    assert_eq!(status_of(&page, &one[1]), "fixed_on_spot");
    assert_eq!(status_of(&page, &two[0]), "open");
    assert_eq!(office.ledger_count(&real, "").await, 3);
    for (query, expected) in [
        ("status=open", 2),
        ("status=fixed_on_spot", 1),
        ("status=closed", 0),
        ("severity=major", 1),
        ("group=g1", 2),
        ("group=g2", 1),
        ("sector=fire_safety", 3),
        ("sector=gas", 0),
        // A major hazard that could not be fixed at once is listed (挂牌督办) by itself.
        ("listed=1", 1),
        ("overdue=1", 0),
        ("group=g1&status=open&listed=1", 1),
    ] {
        assert_eq!(office.ledger_count(&real, query).await, expected, "{query}");
    }
    let (_, listed) = office.get(&real, "/office/ledger?listed=1").await;
    assert!(
        listed.contains(&one[0]),
        "the major hazard is the listed one"
    );

    // The entry's page works before the office has acted on it, and the export holds it.
    let (status, entry) = office
        .get(&real, &format!("/office/cases/{}", one[1]))
        .await;
    assert_eq!(status, 200);
    assert!(entry.contains("data-status=\"fixed_on_spot\""), "{entry}");
    let (status, csv) = office.get(&real, "/office/ledger.csv?group=g1").await;
    assert_eq!(status, 200);
    assert!(csv.contains(&one[0]) && csv.contains(&one[1]) && !csv.contains(&two[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hazard_goes_through_its_lifecycle_and_an_overdue_one_is_listed_by_itself() {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice").await;
    let mut g1 = phone(&server, &real, "g1").await;
    let ids = capture(
        &mut g1,
        "某仓库",
        &[finding("消防通道堵塞", Severity::General, false)],
    );
    let path = format!("/office/cases/{}", ids[0]);
    let events = format!("{path}/events");
    assert_eq!(office.ledger_count(&real, "listed=1").await, 0);

    let (status, body) = office.post(&real, &events, &[("kind", "closed")]).await;
    assert_eq!(status, 400, "an open hazard cannot be closed: {body}");
    let order = [
        ("kind", "ordered"),
        ("unit", "某仓库"),
        ("deadline", "2020-01-31"),
    ];
    office.act(&real, &events, &order).await;
    let (_, page) = office.get(&real, &path).await;
    assert!(page.contains("data-status=\"rectifying\""), "{page}");
    // The deadline passed long ago: overdue, hence listed, with nobody listing it.
    assert_eq!(office.ledger_count(&real, "overdue=1").await, 1);
    assert_eq!(office.ledger_count(&real, "listed=1").await, 1);

    for (kind, status) in [
        ("rectified", "rectified"),
        ("reopened", "reopened"),
        ("rectified", "rectified"),
        ("verified", "verified"),
        ("closed", "closed"),
    ] {
        let (code, body) = office.post(&real, &events, &[("kind", kind)]).await;
        assert_eq!(code, 303, "{kind}: {body}");
        assert_eq!(
            office
                .ledger_count(&real, &format!("status={status}"))
                .await,
            1,
            "after {kind}"
        );
    }
    assert_eq!(office.ledger_count(&real, "listed=1").await, 0, "closed");
    assert_eq!(office.ledger_count(&real, "overdue=1").await, 0);

    // The case record syncs read-only to the group, under the finding's entry id.
    tokio::task::block_in_place(|| g1.store.sync()).expect("sync");
    let id: RecordId = ids[0].parse().expect("id");
    let case = g1.store.case(&id).expect("the case on the phone");
    assert_eq!(case.status(), siteproof_core::CaseStatus::Closed);
}

/// The report page's figures: label -> value.
fn figures(page: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find("data-figure=") {
        rest = &rest[at..];
        let th = rest.find("<th>").expect("th") + 4;
        let label = &rest[th..th + rest[th..].find('<').expect("end")];
        let td = rest.find("<td>").expect("td") + 4;
        let value = &rest[td..td + rest[td..].find('<').expect("end")];
        out.push((label.to_owned(), value.to_owned()));
        rest = &rest[td..];
    }
    out
}

fn figure<'a>(all: &'a [(String, String)], label: &str) -> &'a str {
    &all.iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no figure {label}"))
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_count_hazards_and_an_empty_period_has_no_closure_rate() {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice").await;
    let mut g1 = phone(&server, &real, "g1").await;

    // Nothing found in a period: no rate, in every output.
    let (_, page) = office
        .get(&real, "/office/reports?kind=daily&date=2021-03-01")
        .await;
    let empty = figures(&page);
    assert_eq!(figure(&empty, "发现隐患"), "0");
    assert_eq!(figure(&empty, "销号率"), "—");
    let (_, csv) = office
        .get(&real, "/office/reports.csv?kind=daily&date=2021-03-01")
        .await;
    assert!(csv.contains("销号率,—"), "{csv}");

    // Only open hazards: found, none closed, a rate of zero.
    let ids = capture(
        &mut g1,
        "某加油站",
        &[
            finding("加油机漏油", Severity::Major, false),
            finding("静电接地损坏", Severity::General, false),
            finding("灭火毯缺失", Severity::General, true),
        ],
    );
    let (_, page) = office.get(&real, "/office/reports?kind=daily").await;
    let open = figures(&page);
    assert_eq!(figure(&open, "发现隐患"), "3");
    assert_eq!(figure(&open, "立行立改"), "1");
    assert_eq!(figure(&open, "已销号"), "0");
    assert_eq!(figure(&open, "挂牌督办"), "1", "the major one");
    assert_eq!(figure(&open, "销号率"), "0.0%");

    // Drive two to their ends: one closed after an order, one ordered and overdue.
    let events = |id: &str| format!("/office/cases/{id}/events");
    for form in [
        vec![
            ("kind", "ordered"),
            ("unit", "某加油站"),
            ("deadline", "2030-01-31"),
        ],
        vec![("kind", "rectified")],
        vec![("kind", "verified")],
        vec![("kind", "closed")],
    ] {
        office.act(&real, &events(&ids[0]), &form).await;
    }
    let order = [
        ("kind", "ordered"),
        ("unit", "某加油站"),
        ("deadline", "2020-01-31"),
    ];
    office.act(&real, &events(&ids[1]), &order).await;
    let (_, page) = office.get(&real, "/office/reports?kind=month").await;
    let month = figures(&page);
    assert_eq!(figure(&month, "发现隐患"), "3");
    assert_eq!(figure(&month, "已销号"), "1");
    assert_eq!(figure(&month, "超期未整改"), "1");
    assert_eq!(
        figure(&month, "挂牌督办"),
        "1",
        "the overdue one; the closed major is not"
    );
    assert_eq!(figure(&month, "销号率"), "33.3%");

    // The same numbers in the CSV, and the XLSX and PDF are made.
    let (_, csv) = office.get(&real, "/office/reports.csv?kind=month").await;
    for (label, value) in &month {
        assert!(
            csv.contains(&format!("{label},{value}")),
            "{label} {value} in {csv}"
        );
    }
    for (path, magic) in [
        ("/office/reports.xlsx?kind=month", &b"PK"[..]),
        ("/office/reports.pdf?kind=month", &b"%PDF"[..]),
    ] {
        let resp = office
            .http
            .get(real.url(path))
            .header("cookie", &office.cookie)
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let bytes = resp.bytes().await.expect("body");
        assert!(bytes.starts_with(magic), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rectification_evidence_uploaded_in_the_browser_is_a_blob_with_custody_and_access_rules() {
    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice").await;
    let mut g1 = phone(&server, &real, "g1").await;
    let g2 = phone(&server, &real, "g2").await;
    let ids = capture(
        &mut g1,
        "某冶金厂",
        &[finding("煤气报警器失效", Severity::Major, false)],
    );
    let case = &ids[0];
    let upload = |token: Option<&str>, body: Vec<u8>| {
        let mut req = office
            .http
            .post(real.url(&format!(
                "/office/cases/{case}/evidence?name=%E6%95%B4%E6%94%B9.png"
            )))
            .header("cookie", &office.cookie)
            .body(body);
        if let Some(t) = token {
            req = req.header("x-csrf-token", t.to_owned());
        }
        req.send()
    };
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..5000u32).map(|i| (i * 7 % 251) as u8));

    let refused = upload(None, png.clone()).await.expect("post");
    assert_eq!(refused.status().as_u16(), 403, "no CSRF token");
    let text = upload(Some(&office.csrf), b"not a photo".to_vec())
        .await
        .expect("post");
    assert_eq!(text.status().as_u16(), 400, "only photos and PDFs");
    let stored = upload(Some(&office.csrf), png.clone()).await.expect("post");
    assert_eq!(stored.status().as_u16(), 200);
    let answer: serde_json::Value =
        serde_json::from_slice(&stored.bytes().await.expect("body")).expect("json");
    let hash = answer["hash"].as_str().expect("hash").to_owned();
    assert_eq!(
        hash,
        hex::encode(sha2::Sha256::digest(&png)),
        "named by its SHA-256"
    );

    let head = server
        .state
        .evidence
        .chain_head()
        .await
        .expect("custody")
        .expect("an entry");
    assert_eq!(
        (head.action.as_str(), head.subject.as_str()),
        ("office_upload", hash.as_str())
    );
    assert!(head.details.contains(case.as_str()) && head.details.contains("整改.png"));
    assert!(
        server
            .state
            .evidence
            .verify_chain()
            .await
            .expect("chain")
            .is_ok()
    );

    // Served like a phone's evidence: to office users and devices who may read the case.
    let media = format!("/v1/media/{hash}?record={case}");
    let resp = office
        .http
        .get(real.url(&media))
        .header("cookie", &office.cookie)
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.bytes().await.expect("body").as_ref(), png.as_slice());
    for (token, expected) in [(&g1.token, 200), (&g2.token, 404)] {
        let resp = office
            .http
            .get(real.url(&media))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        assert_eq!(
            resp.status().as_u16(),
            expected,
            "device of the other group: absent"
        );
    }
    add_user(&server, "tom", Role::Reviewer, "tianjin", vec![]).await;
    let (_, tom, _) = sign_in(&server, "tom").await;
    let resp = office
        .http
        .get(real.url(&media))
        .header("cookie", tom)
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status().as_u16(), 404, "another region");

    // The rectification report names only files uploaded to its case.
    let events = format!("/office/cases/{case}/events");
    let order = [
        ("kind", "ordered"),
        ("unit", "某冶金厂"),
        ("deadline", "2030-01-31"),
    ];
    office.act(&real, &events, &order).await;
    let (code, _) = office
        .post(
            &real,
            &events,
            &[("kind", "rectified"), ("media", &"a".repeat(64))],
        )
        .await;
    assert_eq!(code, 400, "a hash never uploaded");
    office
        .act(&real, &events, &[("kind", "rectified"), ("media", &hash)])
        .await;
    let (_, page) = office.get(&real, &format!("/office/cases/{case}")).await;
    assert!(
        page.contains(&format!("/v1/media/{hash}?record={case}")),
        "{page}"
    );

    // The group's phone takes the case with its evidence map and reads it.
    tokio::task::block_in_place(|| g1.store.sync()).expect("sync");
    let on_phone = g1
        .store
        .case(&case.parse().expect("id"))
        .expect("the case on the phone");
    assert_eq!(on_phone.status(), siteproof_core::CaseStatus::Rectified);
    assert_eq!(
        on_phone.events.last().expect("event").media[0].as_str(),
        hash
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_briefing_lists_covert_hazards_with_the_photos_the_office_chose_as_pdf_and_docx() {
    use siteproof_core::{MediaCapture, MediaKind, VisitMode, media::Network};

    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice").await;
    let mut g1 = phone(&server, &real, "g1").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let media = g1
        .store
        .media_store(dir.path().join("media"))
        .expect("media");
    let photo_path = dir.path().join("photo.jpg");
    image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    })
    .save(&photo_path)
    .expect("a JPEG");

    let covert = g1.capture_visit("某烟花爆竹仓库");
    let photo = g1
        .store
        .add_evidence(
            &covert,
            &media,
            &photo_path,
            MediaCapture {
                kind: MediaKind::Photo,
                mime: "image/jpeg".into(),
                captured_at: None,
                location: None,
                poster: None,
            },
        )
        .expect("evidence");
    let mut with_photo = finding("仓库内私拉电线", Severity::Major, false);
    with_photo.media = vec![photo.hash.clone()];
    g1.store.add_finding(&covert, with_photo).expect("finding");
    let mut announced = common::new_visit(&common::template(), "某明查企业");
    announced.mode = VisitMode::Announced;
    let announced = g1.store.create_visit(announced).expect("visit");
    g1.store
        .add_finding(
            &announced,
            finding("明查发现的问题", Severity::General, false),
        )
        .expect("finding");
    tokio::task::block_in_place(|| {
        g1.store.sync()?;
        let cancel = std::sync::atomic::AtomicBool::new(false);
        g1.store
            .upload(&media, Network::Unmetered, &cancel, &mut |_| {})
            .map(drop)
    })
    .expect("sync and upload over HTTP");

    let (status, page) = office.get(&real, "/office/briefing").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("某烟花爆竹仓库") && !page.contains("某明查企业"),
        "covert only"
    );
    assert!(
        page.contains(&format!("value=\"{}\" checked", photo.hash)),
        "{page}"
    );

    let get = |path: String| {
        let (http, cookie) = (office.http.clone(), office.cookie.clone());
        let url = real.url(&path);
        async move {
            let resp = http
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .expect("get");
            assert_eq!(resp.status().as_u16(), 200, "{path}");
            resp.bytes().await.expect("body").to_vec()
        }
    };
    let chosen = get(format!("/office/briefing.pdf?photo={}", photo.hash)).await;
    assert!(chosen.starts_with(b"%PDF"));
    let has_image = |pdf: &[u8]| pdf.windows(9).any(|w| w == b"DCTDecode");
    assert!(has_image(&chosen), "the chosen photo is in the PDF");
    assert!(
        !has_image(&get("/office/briefing.pdf".into()).await),
        "no photo chosen"
    );

    let docx = get(format!("/office/briefing.docx?photo={}", photo.hash)).await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("a DOCX is a zip");
    let mut document = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("word/document.xml").expect("the document"),
        &mut document,
    )
    .expect("read");
    assert!(document.contains("安全生产暗访检查情况通报") && document.contains("某烟花爆竹仓库"));
    assert!(!document.contains("某明查企业"));
    assert!(zip.by_name("word/media/image1.jpeg").is_ok(), "the photo");
    let head = server
        .state
        .evidence
        .chain_head()
        .await
        .expect("custody")
        .expect("entry");
    assert_eq!(head.action, "export");
    assert!(
        head.details.contains(photo.hash.as_str()),
        "the export names the photo"
    );
}

fn tasks_template() -> siteproof_core::TemplateRef {
    let t = common::template();
    siteproof_core::TemplateRef {
        id: t.id.clone(),
        version: t.version,
    }
}

/// A small JPEG at `dir/name`, its pixels drawn from `shade`.
fn jpeg(dir: &std::path::Path, name: &str, shade: u8) -> std::path::PathBuf {
    let path = dir.join(name);
    image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, shade])
    })
    .save(&path)
    .expect("a JPEG");
    path
}

/// A photo attached to `visit` as evidence.
fn photo(
    phone: &mut Phone,
    visit: &RecordId,
    media: &siteproof_core::media::MediaStore,
    path: &std::path::Path,
) -> siteproof_core::MediaHash {
    let capture = siteproof_core::MediaCapture {
        kind: siteproof_core::MediaKind::Photo,
        mime: "image/jpeg".into(),
        captured_at: None,
        location: None,
        poster: None,
    };
    phone
        .store
        .add_evidence(visit, media, path, capture)
        .expect("evidence")
        .hash
}

/// Syncs and uploads every queued file over HTTP.
fn sync_and_upload(phone: &mut Phone, media: &siteproof_core::media::MediaStore) {
    tokio::task::block_in_place(|| {
        phone.store.sync()?;
        let cancel = std::sync::atomic::AtomicBool::new(false);
        phone
            .store
            .upload(
                media,
                siteproof_core::media::Network::Unmetered,
                &cancel,
                &mut |_| {},
            )
            .map(drop)
    })
    .expect("sync and upload over HTTP");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinspection_sent_from_the_ledger_is_done_on_a_phone_with_photos_and_verified_in_the_office()
 {
    use siteproof_core::{
        AssignmentKind, CaseStatus, NewReinspection, ReinspectionOutcome, VisitFromAssignment,
        VisitMode,
    };

    let server = TestServer::new().await;
    let real = RealServer::start(&server).await;
    let office = Browser::sign_in(&server, "alice").await;
    let mut g1 = phone(&server, &real, "g1").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let media = g1
        .store
        .media_store(dir.path().join("media"))
        .expect("media");

    // A visit finds two hazards; the first has a photo.
    let visit = g1.capture_visit("某化工厂");
    let original = photo(&mut g1, &visit, &media, &jpeg(dir.path(), "found.jpg", 10));
    let mut leak = finding("储罐区可燃气体报警器未投用", Severity::Major, false);
    leak.media = vec![original.clone()];
    let leak = g1.store.add_finding(&visit, leak).expect("finding");
    let exit = g1
        .store
        .add_finding(&visit, finding("安全出口上锁", Severity::General, false))
        .expect("finding");
    sync_and_upload(&mut g1, &media);
    let leak_case = RecordId::for_finding_case(&visit, &leak);
    let exit_case = RecordId::for_finding_case(&visit, &exit);
    let leak_path = format!("/office/cases/{leak_case}");

    // The office ticks both on the ledger and sends a re-inspection to the group.
    let (status, body) = office
        .post(
            &real,
            "/office/ledger/reinspection",
            &[
                ("case", leak_case.as_str()),
                ("case", exit_case.as_str()),
                ("note", "核实整改情况"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let (status, body) = office
        .post(
            &real,
            "/office/ledger/reinspection",
            &[("note", "nothing ticked")],
        )
        .await;
    assert_eq!(status, 400, "a re-inspection names hazards: {body}");

    // The phone receives it with the hazards and their original evidence (the store's
    // reads: no network).
    tokio::task::block_in_place(|| g1.store.sync()).expect("sync");
    let pushed = g1
        .store
        .assignments()
        .expect("assignments")
        .into_iter()
        .find(|a| a.kind == AssignmentKind::Reinspection)
        .expect("the re-inspection on the phone");
    assert_eq!(pushed.cases, vec![leak_case.clone(), exit_case.clone()]);
    let tasks = g1
        .store
        .reinspection_tasks(&pushed.id, None)
        .expect("tasks");
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0].case.status(), CaseStatus::Open);
    assert_eq!(
        tasks[0].finding.as_ref().map(|f| f.description.as_str()),
        Some("储罐区可燃气体报警器未投用")
    );
    assert_eq!(tasks[0].evidence.len(), 1);
    assert_eq!(tasks[0].evidence[0].hash, original);
    assert!(
        media.original_path(&original).is_some(),
        "the original photo is on the phone"
    );

    // On site: one hazard rectified (with a photo), one not.
    let reinspection = g1
        .store
        .start_visit_from_assignment(
            &pushed.id,
            VisitFromAssignment {
                mode: VisitMode::Announced,
                team: vec!["张三".into()],
                // The fixture's checklist is the phone's own, not published on the server.
                template: Some(tasks_template()),
                location: None,
            },
        )
        .expect("a re-inspection visit");
    let after = photo(
        &mut g1,
        &reinspection,
        &media,
        &jpeg(dir.path(), "after.jpg", 200),
    );
    let rectified = g1
        .store
        .record_reinspection(
            &reinspection,
            NewReinspection {
                case: leak_case.clone(),
                outcome: ReinspectionOutcome::Rectified,
                note: Some("报警器已投用并联锁".into()),
                media: vec![after.clone()],
            },
        )
        .expect("result");
    let not_rectified = g1
        .store
        .record_reinspection(
            &reinspection,
            NewReinspection {
                case: exit_case.clone(),
                outcome: ReinspectionOutcome::NotRectified,
                note: Some("出口仍上锁".into()),
                media: vec![],
            },
        )
        .expect("result");
    let stray = g1.store.record_reinspection(
        &visit,
        NewReinspection {
            case: leak_case.clone(),
            outcome: ReinspectionOutcome::Rectified,
            note: None,
            media: vec![],
        },
    );
    assert!(stray.is_err(), "an ordinary visit holds no re-inspection");
    let tasks = g1
        .store
        .reinspection_tasks(&pushed.id, Some(&reinspection))
        .expect("tasks");
    assert_eq!(tasks[0].results.len(), 1);
    assert_eq!(
        tasks[1].results[0].outcome,
        ReinspectionOutcome::NotRectified
    );

    sync_and_upload(&mut g1, &media);

    // The result is on the ledger entry, with its photo served to the office.
    let (status, page) = office.get(&real, &leak_path).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!(
            "data-result=\"{rectified}\" data-outcome=\"rectified\""
        )),
        "{page}"
    );
    assert!(page.contains("报警器已投用并联锁"));
    let photo_url = format!("/v1/media/{after}?record={reinspection}");
    assert!(page.contains(&photo_url.replace('&', "&amp;")) || page.contains(&photo_url));
    let resp = office
        .http
        .get(real.url(&photo_url))
        .header("cookie", &office.cookie)
        .send()
        .await
        .expect("photo");
    assert_eq!(resp.status().as_u16(), 200);
    let bytes = resp.bytes().await.expect("bytes");
    assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), after.as_str());

    // A result that found the hazard still there cannot verify it.
    let exit_path = format!("/office/cases/{exit_case}");
    let (status, _) = office
        .post(
            &real,
            &format!("{exit_path}/reinspections/{not_rectified}/verify"),
            &[],
        )
        .await;
    assert_eq!(status, 400);
    let (_, page) = office.get(&real, &exit_path).await;
    assert!(page.contains("data-outcome=\"not_rectified\""), "{page}");
    assert!(!page.contains("verify-reinspection"));

    // The office verifies by the rectified result, then closes (销号).
    office
        .act(
            &real,
            &format!("{leak_path}/reinspections/{rectified}/verify"),
            &[],
        )
        .await;
    let (_, page) = office.get(&real, &leak_path).await;
    assert!(
        page.contains("id=\"case-status\" data-status=\"verified\""),
        "{page}"
    );
    office
        .act(&real, &format!("{leak_path}/events"), &[("kind", "closed")])
        .await;
    assert_eq!(office.ledger_count(&real, "status=closed").await, 1);

    // The phone sees the closure.
    tokio::task::block_in_place(|| g1.store.sync()).expect("sync");
    let case = g1.store.case(&leak_case).expect("case");
    assert_eq!(case.status(), CaseStatus::Closed);
    let verified = &case.events[case.events.len() - 2];
    assert_eq!(verified.media, vec![after]);
}

/// A reviewer of the region, as a signed-in session would give the office.
fn reviewer(login: &str) -> siteproof_server::backoffice::WebUser {
    siteproof_server::backoffice::WebUser {
        id: 1,
        login: login.into(),
        name: login.into(),
        role: Role::Reviewer,
        region: "hebei".into(),
        sectors: vec![],
        csrf: String::new(),
    }
}

fn event(kind: siteproof_core::CaseEventKind) -> siteproof_server::backoffice::CaseInput {
    siteproof_server::backoffice::CaseInput {
        kind: Some(kind),
        ..Default::default()
    }
}

/// Two server processes on one database: two reviewers verifying one hazard at once (its case
/// not yet written) write one case and one verification, the later one refused by the
/// lifecycle on the case as the first left it; closing it at once closes it once. The chain
/// of custody holds one entry per event written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_acting_on_one_hazard_at_once_write_each_event_once() {
    use siteproof_core::CaseEventKind;
    use siteproof_server::Error;

    let first = TestServer::new().await;
    // A second server over the same data directory, as another process would open it.
    let second =
        siteproof_server::Services::open(first.dir.path(), first.config_of_another_process())
            .await
            .expect("second process");
    let mut phone = common::Phone::enroll(&first, "g1").await;
    let visit = phone.capture_visit("化工厂");
    let found = phone
        .store
        .add_finding(&visit, finding("阀门泄漏", Severity::General, true))
        .expect("finding");
    phone.round(&first, 1 << 20).await;
    let entry = RecordId::for_finding_case(&visit, &found).to_string();
    let (wang, li) = (reviewer("wang"), reviewer("li"));
    let offices = [&first.state.backoffice, &second.backoffice];

    for kind in [CaseEventKind::Verified, CaseEventKind::Closed] {
        let (a, b) = tokio::join!(
            offices[0].add_case_event(&wang, &entry, event(kind)),
            offices[1].add_case_event(&li, &entry, event(kind)),
        );
        let lost = match (a, b) {
            (Ok(_), Err(e)) | (Err(e), Ok(_)) => e,
            other => panic!("exactly one {} should be written: {other:?}", kind.code()),
        };
        assert!(matches!(lost, Error::InvalidInput(_)), "{lost:?}");
    }
    for office in offices {
        let (row, case) = office.case(&wang, &entry).await.expect("case");
        assert_eq!(row.status, "closed");
        let kinds: Vec<_> = case.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                CaseEventKind::Opened,
                CaseEventKind::Verified,
                CaseEventKind::Closed
            ]
        );
    }
    let custody = first.state.storage.custody_store();
    let about = custody
        .entries_about(std::slice::from_ref(&entry))
        .await
        .expect("entries");
    assert_eq!(about.len(), 3, "{about:?}");
    assert!(custody.verify_chain().await.expect("chain").is_ok());
    second.shutdown().await.expect("second closes");
}
