//! The visibility policy against the routes: every reader (devices of three groups, office
//! users of every role and two regions) × record (visits of two sectors and two regions, the
//! cases opened from them) × action (list, open, evidence, write). The policy's answer and
//! what the HTTP routes do must agree in every cell.

mod common;
mod media_fixture;
mod office_fixture;

use automerge::{AutoCommit, ROOT, transaction::Transactable};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_bytes::ByteBuf;
use siteproof_core::sync::wire::{self, PushRecord, SyncRequest};
use siteproof_core::*;
use siteproof_server::backoffice::{Role, WebUser};
use siteproof_server::{Action, RecordFacts, Visibility};
use tower::ServiceExt;

use common::{Phone, TestServer, fail, item, new_visit, template};
use media_fixture::MediaPhone;
use office_fixture::{add_user, sign_in};

/// A record of the table, with the file its visit carries.
struct Subject {
    id: RecordId,
    kind: RecordKind,
    sector: Sector,
    hash: String,
    label: String,
}

enum Reader {
    Device {
        name: &'static str,
        phone: Box<Phone>,
    },
    User {
        login: &'static str,
        user: WebUser,
        cookie: String,
        csrf: String,
    },
}

async fn reply(server: &TestServer, req: Request<Body>) -> (StatusCode, String) {
    let resp = server.app().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A visit of `sector` with a finding and an uploaded file, captured by `phone`.
async fn visit(
    server: &TestServer,
    phone: &mut MediaPhone,
    sector: Sector,
    label: &str,
    seed: u64,
) -> Subject {
    let mut new = new_visit(&template(), label);
    new.site.sector = sector;
    let visit = phone.phone.store.create_visit(new).expect("visit");
    phone
        .phone
        .store
        .answer_item(&visit, &item("exits"), fail("出口堵塞"))
        .expect("answer");
    phone
        .phone
        .store
        .add_finding(
            &visit,
            NewFinding {
                description: format!("{label} 隐患"),
                severity: Severity::Major,
                item: None,
                location: None,
                media: vec![],
                fixed_on_spot: false,
                interim_measures: None,
            },
        )
        .expect("finding");
    let data = media_fixture::pseudo_random(500, seed);
    let path = phone.dir.path().join(format!("{label}.mp4"));
    std::fs::write(&path, &data).expect("write capture");
    let capture = MediaCapture {
        kind: MediaKind::Video,
        mime: "video/mp4".into(),
        captured_at: None,
        location: None,
        poster: None,
    };
    let media = phone
        .phone
        .store
        .add_evidence(&visit, &phone.media, &path, capture)
        .expect("evidence");
    phone.phone.sync_all(server, 1 << 20).await;
    let hash = media.hash.to_string();
    let token = phone.phone.token.clone();
    let created = media_fixture::create(server, &token, visit.as_str(), &hash, 500).await;
    let location = created.header("location").expect("location").to_owned();
    let done = media_fixture::patch(server, &token, &location, 0, &data).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "upload of {label}");
    Subject {
        id: visit,
        kind: RecordKind::Visit,
        sector,
        hash,
        label: label.into(),
    }
}

/// Opens a case from the visit's finding as `cookie`'s user.
async fn case_of(server: &TestServer, visit: &Subject, cookie: &str, csrf: &str) -> Subject {
    let detail = server
        .state
        .storage
        .full_document(&visit.id)
        .await
        .expect("stored")
        .expect("visit");
    let doc = siteproof_core::document::decode(&detail.to_bytes(), automerge::ActorId::random())
        .expect("decode");
    let finding = siteproof_core::document::read_visit(&doc)
        .expect("visit")
        .0
        .findings
        .keys()
        .next()
        .expect("a finding")
        .to_string();
    let (status, body) = reply(
        server,
        Request::post(format!(
            "/office/visits/{}/findings/{finding}/case",
            visit.id
        ))
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf={csrf}")))
        .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let cases = server
        .state
        .backoffice
        .ledger(
            &server
                .state
                .backoffice
                .session(cookie.strip_prefix("sp_session=").expect("cookie"))
                .await
                .expect("session")
                .expect("user"),
            siteproof_server::backoffice::LedgerFilter::default(),
            100_000,
        )
        .await
        .expect("ledger");
    let row = cases
        .into_iter()
        .find(|c| c.visit_id == visit.id.as_str())
        .expect("the case in the ledger");
    Subject {
        id: row.id.parse().expect("case id"),
        kind: RecordKind::Case,
        sector: visit.sector,
        hash: visit.hash.clone(),
        label: format!("case of {}", visit.label),
    }
}

/// A change to the stored record made outside any phone store (an attempt to write it).
async fn foreign_change(server: &TestServer, id: &RecordId) -> PushRecord {
    let full = server
        .state
        .storage
        .full_document(id)
        .await
        .expect("stored")
        .expect("record");
    let mut doc = AutoCommit::load(&full.to_bytes()).expect("load");
    doc.put(ROOT, "scribble", "x").expect("put");
    doc.commit();
    let change = doc
        .get_last_local_change()
        .expect("a change")
        .raw_bytes()
        .to_vec();
    PushRecord {
        id: id.clone(),
        changes: vec![ByteBuf::from(change)],
    }
}

/// What the routes let `reader` do with `subject`.
async fn routes_allow(
    server: &TestServer,
    reader: &mut Reader,
    subject: &Subject,
    action: Action,
    listed: &[RecordId],
) -> bool {
    match reader {
        Reader::Device { phone, .. } => match action {
            Action::ReadList => listed.contains(&subject.id),
            Action::ReadOne => {
                let req = SyncRequest {
                    cursor: None,
                    push: vec![],
                    need_full: vec![subject.id.clone()],
                    max_bytes: 1 << 20,
                    reads: Vec::new(),
                };
                let (status, _, _) = server
                    .sync_raw(Some(&phone.token), wire::encode(&req))
                    .await;
                status == StatusCode::OK
            }
            Action::Evidence => {
                let (status, _) = reply(
                    server,
                    Request::get(format!("/v1/media/{}?record={}", subject.hash, subject.id))
                        .header(header::AUTHORIZATION, format!("Bearer {}", phone.token))
                        .body(Body::empty())
                        .expect("request"),
                )
                .await;
                status == StatusCode::OK
            }
            Action::Write => {
                // The owning phone edits through its store; anyone else sends a raw change.
                let push = if phone.store.visit(&subject.id).is_ok() {
                    phone
                        .store
                        .answer_item(&subject.id, &item("exits"), fail("复查"))
                        .expect("edit own visit");
                    phone.outbox()
                } else {
                    vec![foreign_change(server, &subject.id).await]
                };
                let req = SyncRequest {
                    cursor: None,
                    push,
                    need_full: vec![],
                    max_bytes: 1,
                    reads: Vec::new(),
                };
                let (status, _, _) = server
                    .sync_raw(Some(&phone.token), wire::encode(&req))
                    .await;
                assert!(
                    status == StatusCode::OK || status == StatusCode::FORBIDDEN,
                    "a write is stored or refused, got {status}"
                );
                status == StatusCode::OK
            }
        },
        Reader::User { cookie, csrf, .. } => {
            let path = match subject.kind {
                RecordKind::Case => format!("/office/cases/{}", subject.id),
                _ => format!("/office/visits/{}", subject.id),
            };
            let get = |uri: String| {
                Request::get(uri)
                    .header(header::COOKIE, cookie.as_str())
                    .body(Body::empty())
                    .expect("request")
            };
            match action {
                Action::ReadList => {
                    let list = match subject.kind {
                        RecordKind::Case => "/office/ledger",
                        _ => "/office/visits",
                    };
                    let (status, body) = reply(server, get(list.into())).await;
                    assert_eq!(status, StatusCode::OK);
                    body.contains(subject.id.as_str())
                }
                Action::ReadOne => reply(server, get(path)).await.0 == StatusCode::OK,
                Action::Evidence => {
                    let uri = format!("/v1/media/{}?record={}", subject.hash, subject.id);
                    reply(server, get(uri)).await.0 == StatusCode::OK
                }
                Action::Write => match subject.kind {
                    RecordKind::Case => {
                        let (status, _) = reply(
                            server,
                            Request::post(format!("{path}/events"))
                                .header(header::COOKIE, cookie.as_str())
                                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                                .body(Body::from(format!("csrf={csrf}&kind=escalated&note=x")))
                                .expect("request"),
                        )
                        .await;
                        // Refused by visibility looks absent; a lifecycle refusal is not.
                        status != StatusCode::NOT_FOUND && status != StatusCode::FORBIDDEN
                    }
                    _ => {
                        // Records other than cases are written only through sync, by devices.
                        let (status, _) = reply(
                            server,
                            Request::post("/v1/sync")
                                .header(header::COOKIE, cookie.as_str())
                                .header(header::CONTENT_TYPE, wire::CONTENT_TYPE)
                                .body(Body::from(wire::encode(&SyncRequest {
                                    cursor: None,
                                    push: vec![],
                                    need_full: vec![],
                                    max_bytes: 1,
                                    reads: Vec::new(),
                                })))
                                .expect("request"),
                        )
                        .await;
                        status == StatusCode::OK
                    }
                },
            }
        }
    }
}

#[tokio::test]
async fn the_policy_and_the_routes_agree_for_every_reader_record_and_action() {
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
    add_user(&server, "rev", Role::Reviewer, "hebei", vec![]).await;
    add_user(&server, "adm", Role::Admin, "hebei", vec![]).await;
    add_user(
        &server,
        "fire",
        Role::SectorDepartment,
        "hebei",
        vec![Sector::FireSafety],
    )
    .await;
    add_user(
        &server,
        "gas",
        Role::SectorDepartment,
        "hebei",
        vec![Sector::Gas],
    )
    .await;
    add_user(&server, "tom", Role::Reviewer, "tianjin", vec![]).await;

    let mut g1 = MediaPhone::enroll(&server, "g1").await;
    let mut t1 = MediaPhone::enroll(&server, "t1").await;
    let mut subjects = vec![
        visit(&server, &mut g1, Sector::FireSafety, "河北消防站点", 10).await,
        visit(&server, &mut g1, Sector::Gas, "河北燃气站点", 20).await,
        visit(&server, &mut t1, Sector::FireSafety, "天津消防站点", 30).await,
    ];
    let (_, rev_cookie, rev_csrf) = sign_in(&server, "rev").await;
    let (_, tom_cookie, tom_csrf) = sign_in(&server, "tom").await;
    let cases = vec![
        case_of(&server, &subjects[0], &rev_cookie, &rev_csrf).await,
        case_of(&server, &subjects[1], &rev_cookie, &rev_csrf).await,
        case_of(&server, &subjects[2], &tom_cookie, &tom_csrf).await,
    ];
    subjects.extend(cases);

    let g2 = Phone::enroll(&server, "g2").await;
    let mut readers = vec![
        Reader::Device {
            name: "device g1",
            phone: Box::new(g1.phone),
        },
        Reader::Device {
            name: "device g2",
            phone: Box::new(g2),
        },
        Reader::Device {
            name: "device t1",
            phone: Box::new(t1.phone),
        },
    ];
    for login in ["rev", "adm", "fire", "gas", "tom"] {
        let (user, cookie, csrf) = sign_in(&server, login).await;
        readers.push(Reader::User {
            login,
            user,
            cookie,
            csrf,
        });
    }

    let mut cells = 0;
    for reader in &mut readers {
        let (name, policy) = match &*reader {
            Reader::Device { name, phone } => {
                let profile = phone.store.profile().expect("profile");
                (name.to_string(), Visibility::device(&profile.scope))
            }
            Reader::User { login, user, .. } => (login.to_string(), Visibility::user(user)),
        };
        // What a device lists is what a full pull from nothing brings.
        let listed: Vec<RecordId> = match reader {
            Reader::Device { phone, .. } => {
                let mut fresh = phone.request(1 << 20);
                fresh.push.clear();
                fresh.cursor = None;
                let mut ids = Vec::new();
                loop {
                    let resp = server.sync(&phone.token, &fresh).await;
                    ids.extend(resp.records.iter().map(|r| r.id.clone()));
                    if !resp.more {
                        break;
                    }
                    fresh.cursor = Some(resp.cursor);
                }
                ids
            }
            Reader::User { .. } => Vec::new(),
        };
        // Writes last: a stored write changes what later reads see.
        for action in [
            Action::ReadList,
            Action::ReadOne,
            Action::Evidence,
            Action::Write,
        ] {
            for subject in &subjects {
                let header = server
                    .state
                    .storage
                    .full_document(&subject.id)
                    .await
                    .expect("stored")
                    .expect("record")
                    .header;
                let facts = RecordFacts {
                    kind: subject.kind,
                    scope: header.scope,
                    sector: Some(subject.sector),
                };
                let want = policy.allows(action, &facts);
                let got = routes_allow(&server, reader, subject, action, &listed).await;
                assert_eq!(
                    got, want,
                    "{name} × {} × {action:?}: routes {got}, policy {want}",
                    subject.label
                );
                cells += 1;
            }
        }
    }
    assert_eq!(cells, 8 * 6 * 4);
    println!("{cells} cells agree");
}
