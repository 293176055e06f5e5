//! Page server time of the back office with 20,000 visits and 100,000 findings stored (every
//! finding a hazard ledger entry) and 10,000 registered enterprises (two visits each, typed
//! with the credit code of enterprise `n % 10,000`; the supervision pages rank all of them).
//!
//! ```text
//! cargo run -p siteproof-server --example backoffice_bench [-- VISITS CASES]
//! ```
//!
//! Visits are stored as real visit documents through the storage (as a push would store
//! them), indexed once (timed apart), then each page is requested through `app()` several
//! times; the median and the worst are printed. Target: under 200 ms per page.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use automerge::ActorId;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use siteproof_core::{
    Answer, AnswerValue, Finding, FindingId, RecordHeader, RecordId, RecordKind, Scope, Sector,
    Severity, Site, TemplateRef, Visit, VisitMode,
};
use siteproof_server::backoffice::{CaseInput, NewUser, Role};
use siteproof_server::storage::{PushWrite, RecordWrite};
use siteproof_server::{AppState, ServerConfig, app};
use tower::ServiceExt;

const REGION: &str = "bench";
const FINDINGS_PER_VISIT: usize = 5;
const RUNS: usize = 7;
const ENTERPRISES: usize = 10_000;

/// The valid credit code of bench enterprise `n`.
fn credit_code(n: usize) -> String {
    let body = format!("91130100MA{:07}", n % ENTERPRISES);
    let check = siteproof_core::credit_code_check_char(&body).expect("digits are in the alphabet");
    format!("{body}{check}")
}

fn visit(n: usize, now: i64) -> Visit {
    let device: siteproof_core::DeviceId = "bench-device".parse().expect("device id");
    let at = now - (n as i64 % 60) * 86_400_000 - n as i64 * 1000;
    let mut answers = BTreeMap::new();
    for i in 0..10 {
        answers.insert(
            format!("item-{i}"),
            Answer {
                value: if i < FINDINGS_PER_VISIT {
                    AnswerValue::Fail
                } else {
                    AnswerValue::Pass
                },
                note: None,
                media: vec![],
                by: "张三".into(),
                device: device.clone(),
                at,
            },
        );
    }
    let mut findings = BTreeMap::new();
    for i in 0..FINDINGS_PER_VISIT {
        let id = FindingId::random();
        findings.insert(
            id.to_string(),
            Finding {
                id,
                description: format!("第{i}项不符合要求：安全出口堵塞"),
                severity: if i == 0 {
                    Severity::Major
                } else {
                    Severity::General
                },
                item: Some(format!("item-{i}").parse().expect("item")),
                location: None,
                media: vec![],
                fixed_on_spot: false,
                interim_measures: None,
                by: "张三".into(),
                device: device.clone(),
                at,
            },
        );
    }
    Visit {
        id: RecordId::random(),
        scope: Scope::group(REGION, format!("g{}", n % 4)),
        site: Site {
            name: format!("企业{}", n % ENTERPRISES),
            credit_code: Some(credit_code(n)),
            address: "某市某区".into(),
            sector: Sector::ALL[n % Sector::ALL.len()],
        },
        mode: if n.is_multiple_of(5) {
            VisitMode::Announced
        } else {
            VisitMode::Covert
        },
        team: vec!["张三".into(), "李四".into()],
        template: TemplateRef {
            id: "bench".parse().expect("template id"),
            version: 1,
        },
        assignment: None,
        started_at: at,
        ended_at: Some(at + 3_600_000),
        location: None,
        answers,
        findings,
        media: BTreeMap::new(),
    }
}

fn record(v: &Visit) -> RecordWrite {
    let header = RecordHeader {
        kind: RecordKind::Visit,
        id: v.id.clone(),
        scope: v.scope.clone(),
    };
    let mut doc = header.create(ActorId::random()).expect("create");
    autosurgeon::reconcile(&mut doc, v).expect("reconcile");
    doc.commit();
    let changes = doc
        .get_changes(&[])
        .into_iter()
        .map(|mut c| (c.hash().0, c.bytes().into_owned()))
        .collect();
    RecordWrite {
        header,
        changes,
        known_through: 0,
        snapshot: Some(doc.save()),
    }
}

async fn time_page(state: &AppState, cookie: &str, path: &str) -> (Duration, Duration, usize) {
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..RUNS {
        let req = Request::get(path)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .expect("request");
        let started = Instant::now();
        let resp = app(state.clone()).oneshot(req).await.expect("infallible");
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        size = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .len();
        times.push(started.elapsed());
    }
    times.sort();
    (times[RUNS / 2], times[RUNS - 1], size)
}

async fn print_page(state: &AppState, cookie: &str, path: &str) {
    let (median, worst, size) = time_page(state, cookie, path).await;
    println!(
        "{path:<52} {:>7.1}ms {:>7.1}ms {size:>10}",
        median.as_secs_f64() * 1000.0,
        worst.as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let visits = args.first().copied().unwrap_or(20_000);
    let cases = args.get(1).copied().unwrap_or(2_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let state = AppState::open(dir.path(), ServerConfig::default())
        .await
        .expect("open");
    for g in 0..4 {
        state
            .admin
            .create_group(
                REGION.parse().expect("region"),
                "组",
                Some(format!("g{g}").parse().expect("group")),
            )
            .await
            .expect("group");
    }
    let office = state.backoffice.clone();
    office
        .create_user(NewUser {
            login: "bench".into(),
            name: "bench".into(),
            password: "bench-password".into(),
            role: Role::Reviewer,
            region: REGION.into(),
            sectors: vec![],
        })
        .await
        .expect("user");
    let (session, user) = office
        .login("bench", "bench-password", "bench")
        .await
        .expect("login");
    let cookie = format!("sp_session={session}");

    let now = siteproof_core::now();
    let started = Instant::now();
    let mut first_findings = Vec::new();
    for chunk in (0..visits).collect::<Vec<_>>().chunks(250) {
        let batch: Vec<Visit> = chunk.iter().map(|&n| visit(n, now)).collect();
        for v in batch
            .iter()
            .take(cases.div_ceil(visits.div_ceil(250)).max(1))
        {
            if let Some(f) = v.findings.keys().next() {
                first_findings.push((v.id.to_string(), f.clone()));
            }
        }
        let records = batch.iter().map(record).collect();
        state
            .storage
            .store_push(&PushWrite {
                pushed_by: None,
                records,
            })
            .await
            .expect("store");
    }
    println!(
        "stored {visits} visits, {} findings in {:.1} s",
        visits * FINDINGS_PER_VISIT,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    office.refresh_index().await.expect("index");
    println!(
        "indexed them (first look) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let mut first_case = None;
    for (i, (v, f)) in first_findings.iter().take(cases).enumerate() {
        let id = office.open_case(&user, v, f).await.expect("open case");
        first_case.get_or_insert_with(|| id.to_string());
        // Half of them ordered with a deadline that passed: overdue, listed by themselves.
        if i % 2 == 0 {
            let order = CaseInput {
                kind: Some(siteproof_core::CaseEventKind::Ordered),
                unit: Some("被检查单位".into()),
                deadline: Some(now - 5 * 86_400_000),
                ..CaseInput::default()
            };
            office
                .add_case_event(&user, id.as_str(), order)
                .await
                .expect("order");
        }
    }
    println!(
        "opened {} cases in {:.1} s",
        first_findings.len().min(cases),
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut roster = String::from("credit_code,name,address,sectors\n");
    for n in 0..ENTERPRISES {
        roster.push_str(&format!(
            "{},某某有限公司{n},某市某区,{}\n",
            credit_code(n),
            Sector::ALL[n % Sector::ALL.len()].code()
        ));
    }
    let imported = office
        .import_enterprises(&user, roster.into_bytes())
        .await
        .expect("import")
        .expect("a good roster");
    println!(
        "imported {imported} enterprises in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The import is followed by the warming of the region's risk facts in the background;
    // waiting for it (and warming once more) times the pages as they are once it is done.
    let started = Instant::now();
    office.warm_risk_facts().await.expect("warm");
    println!(
        "risk facts warmed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "{:<52} {:>9} {:>9} {:>10}",
        "page", "median", "worst", "bytes"
    );
    for path in [
        "/office/visits",
        "/office/visits?severity=major&sector=gas&mode=covert",
        "/office/visits?from=2020-01-01&to=2100-01-01&group=g1&page=3",
        "/office/ledger",
        "/office/ledger?listed=1",
        "/office/ledger?overdue=1&severity=general",
        "/office/ledger?status=open&sector=gas&group=g1",
        "/office/reports?kind=daily",
        "/office/reports?kind=month",
        "/office/ledger.csv",
        "/office/briefing",
        "/office/assignments",
        "/office/enterprises",
        "/office/enterprises?q=%E6%9C%89%E9%99%90%E5%85%AC%E5%8F%B8999&page=0",
        "/office/enterprises?page=150",
        "/office/supervision",
        "/office/supervision?tier=A&sector=gas",
        "/office/supervision/lists",
        "/office/planning?group=g1",
    ] {
        print_page(&state, &cookie, path).await;
    }
    print_page(
        &state,
        &cookie,
        &format!("/office/enterprises/{}", credit_code(1)),
    )
    .await;
    if let Some(case) = first_case {
        print_page(&state, &cookie, &format!("/office/cases/{case}")).await;
    }
    if std::env::var_os("BACKOFFICE_BENCH_KEEP").is_some() {
        // For EXPLAIN QUERY PLAN on the database afterwards.
        println!("kept {}", dir.keep().display());
    }
}
