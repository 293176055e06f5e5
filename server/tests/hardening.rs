//! What every input of the server is held to (`docs/security.md`): body limits with JSON 413s,
//! strict tus headers with 400s that name the header, enrollment throttled per address,
//! security headers on the back office and every other response, and no secret in the log.

mod common;
// The fuzz corpus replay lives in this binary too: one test binary fewer to link in CI.
mod fuzz_corpus;
mod media_fixture;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::{TestServer, assert_error};
use http_body_util::BodyExt;
use siteproof_core::sync::wire::{self, SyncRequest};
use siteproof_server::GroupId;
use tower::ServiceExt;

async fn headers_of(server: &TestServer, req: Request<Body>) -> (StatusCode, HeaderMap) {
    let resp = server.app().oneshot(req).await.expect("infallible");
    (resp.status(), resp.headers().clone())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

#[tokio::test]
async fn office_pages_carry_the_security_headers() {
    let server = TestServer::new().await;
    for path in ["/office/login", "/office/visits", "/office/ledger.csv"] {
        let req = Request::get(path).body(Body::empty()).expect("request");
        let (_, h) = headers_of(&server, req).await;
        let csp = header(&h, "content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'sha256-",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("script-src 'unsafe-inline'"), "{path}: {csp}");
        assert_eq!(header(&h, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&h, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&h, "referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header(&h, "cache-control"), "no-store", "{path}");
    }
}

#[tokio::test]
async fn api_and_evidence_responses_are_sandboxed_and_never_sniffed() {
    let server = TestServer::new().await;
    for path in ["/v1/health", "/v1/media/not-a-hash"] {
        let req = Request::get(path).body(Body::empty()).expect("request");
        let (_, h) = headers_of(&server, req).await;
        assert!(
            header(&h, "content-security-policy").contains("sandbox"),
            "{path}"
        );
        assert_eq!(header(&h, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&h, "x-frame-options"), "DENY", "{path}");
    }
}

#[tokio::test]
async fn an_oversize_enroll_body_is_a_json_413_and_unknown_fields_are_refused() {
    let server = TestServer::new().await;
    let name = "x".repeat(17 * 1024);
    let (status, ct, body) = server.enroll_with("AAAA-BBBB", &name).await;
    assert_error(
        status,
        &ct,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );

    let extra = r#"{"code": "AAAA", "device_name": "p", "admin": true}"#;
    let (status, ct, body) = server
        .send(
            Request::post("/v1/enroll")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(extra))
                .expect("request"),
        )
        .await;
    assert_error(status, &ct, &body, StatusCode::BAD_REQUEST, "malformed");
}

#[tokio::test]
async fn an_oversize_office_form_is_refused_before_it_is_read() {
    let server = TestServer::new().await;
    let form = format!("csrf=x&login=alice&password={}", "p".repeat(100 * 1024));
    let req = Request::post("/office/login")
        .header(header::COOKIE, "sp_login_csrf=x")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request");
    let (status, _) = headers_of(&server, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_need_full_over_the_limit_is_refused_before_the_push_is_stored() {
    let server = TestServer::new().await;
    let mut phone = common::Phone::enroll(&server, "g1").await;
    phone.capture_visit("某燃气站");
    let mut req: SyncRequest = phone.request(1 << 20);
    req.need_full = vec![siteproof_core::RecordId::random(); 1001];
    let (status, ct, body) = server
        .sync_raw(Some(&phone.token), wire::encode(&req))
        .await;
    assert_error(status, &ct, &body, StatusCode::BAD_REQUEST, "malformed");
    assert_eq!(
        server.total_changes().await,
        0,
        "a refused sync stores nothing"
    );
}

/// A tus request from an enrolled device with `headers` on top of valid ones.
async fn tus(
    server: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, String, bytes::Bytes) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("tus-resumable", "1.0.0");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    server.send(req.body(Body::empty()).expect("request")).await
}

/// Method, path, headers, and the header the 400 must name.
type BadTusRequest = (
    &'static str,
    &'static str,
    Vec<(&'static str, String)>,
    &'static str,
);

#[tokio::test]
async fn bad_tus_headers_are_400s_that_name_the_header() {
    let server = TestServer::new().await;
    let device = server.enroll("g1").await;
    let record = "cmVjb3Jk"; // "record": not a valid claim, but parsed after the length
    let cases: Vec<BadTusRequest> = vec![
        (
            "POST",
            "/v1/uploads",
            vec![("upload-length", "+5".into())],
            "Upload-Length",
        ),
        (
            "POST",
            "/v1/uploads",
            vec![("upload-length", "99999999999999999999999".into())],
            "Upload-Length",
        ),
        (
            "POST",
            "/v1/uploads",
            vec![
                ("upload-length", "5".into()),
                (
                    "upload-metadata",
                    format!("record {record},record {record}"),
                ),
            ],
            "Upload-Metadata",
        ),
        (
            "POST",
            "/v1/uploads",
            vec![
                ("upload-length", "5".into()),
                (
                    "upload-metadata",
                    format!("filename {}", "QUFB".repeat(2000)),
                ),
            ],
            "Upload-Metadata",
        ),
        (
            "PATCH",
            "/v1/uploads/0123456789abcdef0123456789abcdef",
            vec![
                ("content-type", "application/offset+octet-stream".into()),
                ("upload-offset", "-1".into()),
            ],
            "Upload-Offset",
        ),
        (
            "PATCH",
            "/v1/uploads/0123456789abcdef0123456789abcdef",
            vec![
                ("content-type", "application/offset+octet-stream".into()),
                ("upload-offset", "0".into()),
                ("upload-checksum", "sha256 not-base64!".into()),
            ],
            "Upload-Checksum",
        ),
    ];
    for (method, path, headers, named) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, ct, body) = tus(&server, &device.token, method, path, &headers).await;
        assert_error(
            status,
            &ct,
            &body,
            StatusCode::BAD_REQUEST,
            "invalid_header",
        );
        let message = String::from_utf8_lossy(&body);
        assert!(message.contains(named), "{named}: {message}");
        assert!(
            message.len() < 400,
            "the message echoes the input: {message}"
        );
    }
    // Sent twice, the offset is ambiguous.
    let mut req = Request::patch("/v1/uploads/0123456789abcdef0123456789abcdef")
        .header(header::AUTHORIZATION, format!("Bearer {}", device.token))
        .header("tus-resumable", "1.0.0")
        .header("content-type", "application/offset+octet-stream");
    req = req
        .header("upload-offset", "0")
        .header("upload-offset", "5");
    let (status, ct, body) = server.send(req.body(Body::empty()).expect("request")).await;
    assert_error(
        status,
        &ct,
        &body,
        StatusCode::BAD_REQUEST,
        "invalid_header",
    );
}

fn enroll_from(address: [u8; 4], code: &str) -> Request<Body> {
    let body = serde_json::json!({ "code": code, "device_name": "phone" }).to_string();
    let mut req = Request::post("/v1/enroll")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("request");
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((address, 40000))));
    req
}

#[tokio::test]
async fn refused_enrollments_are_throttled_per_address() {
    let server = TestServer::new().await;
    let attacker = [203, 0, 113, 9];
    for _ in 0..siteproof_server::ENROLL_FAILURES_PER_ADDRESS {
        let (status, ct, body) = server
            .send(enroll_from(attacker, "ZZZZ-ZZZZ-ZZZZ-ZZZ"))
            .await;
        assert_error(
            status,
            &ct,
            &body,
            StatusCode::FORBIDDEN,
            "enrollment_refused",
        );
    }
    let (status, ct, body) = server
        .send(enroll_from(attacker, "ZZZZ-ZZZZ-ZZZZ-ZZZ"))
        .await;
    assert_error(
        status,
        &ct,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    );

    // Another address, with a real code, is not affected.
    let group: GroupId = "g1".parse().expect("group");
    let code = server
        .state
        .admin
        .issue_enrollment_code(&group, std::time::Duration::from_secs(60))
        .await
        .expect("code");
    let (status, _, _) = server
        .send(enroll_from([198, 51, 100, 7], &code.code))
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tokens_codes_passwords_and_cookies_never_reach_the_log() {
    // Both formats of `--log-format`: text, and JSON with the request's span on each line.
    use tracing_subscriber::layer::SubscriberExt;
    let (captured, captured_json) = (Captured::default(), Captured::default());
    let (writer, json_writer) = (captured.clone(), captured_json.clone());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::TRACE)
        .with(tracing_subscriber::fmt::layer().with_writer(move || writer.clone()))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_writer(move || json_writer.clone()),
        );
    // Global, not scoped to this thread: tracing caches per call site whether anyone listens,
    // and the other tests of this binary run at the same time without a subscriber.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber here");

    let server = TestServer::new().await;
    let group: GroupId = "g1".parse().expect("group");
    let code = server
        .state
        .admin
        .issue_enrollment_code(&group, std::time::Duration::from_secs(60))
        .await
        .expect("code");
    let (status, _, body) = server.enroll_with(&code.code, "phone").await;
    assert_eq!(status, StatusCode::OK);
    let token = serde_json::from_slice::<serde_json::Value>(&body).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let empty = SyncRequest {
        cursor: None,
        push: vec![],
        need_full: vec![],
        max_bytes: 1024,
        reads: Vec::new(),
    };
    server.sync(&token, &empty).await;
    let (status, _, _) = server
        .sync_raw(Some("0000bad0token"), wire::encode(&empty))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let login = Request::post("/office/login")
        .header(
            header::COOKIE,
            "sp_login_csrf=csrf-cookie-secret; sp_session=session-secret",
        )
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "csrf=csrf-cookie-secret&login=alice&password=hunter2-secret",
        ))
        .expect("request");
    let resp = server.app().oneshot(login).await.expect("infallible");
    let _ = resp.into_body().collect().await;

    let log = String::from_utf8_lossy(&captured.0.lock().expect("log buffer")).into_owned();
    let json_log =
        String::from_utf8_lossy(&captured_json.0.lock().expect("log buffer")).into_owned();
    assert!(log.contains("device enrolled"), "the capture works: {log}");
    assert!(
        json_log.contains("device enrolled") && json_log.contains("request_id"),
        "the JSON capture works: {json_log}"
    );
    let code_compact = code.code.replace('-', "");
    for secret in [
        token.as_str(),
        code.code.as_str(),
        code_compact.as_str(),
        "0000bad0token",
        "hunter2-secret",
        "csrf-cookie-secret",
        "session-secret",
    ] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
        assert!(
            !json_log.contains(secret),
            "{secret} is in the JSON log:\n{json_log}"
        );
    }
}

/// Found by the `sync_request` fuzz target: a change whose ops name an actor that no change of
/// its history introduced made Automerge 0.12.0 panic (`unwrap` on the actor lookup) while the
/// push was validated. It is refused as malformed, stores nothing, and the server carries on.
#[tokio::test]
async fn crash_automerge_unknown_actor_is_a_malformed_push() {
    let server = TestServer::new().await;
    let device = server.enroll("g1").await;
    let body = include_bytes!("../../fuzz/corpus/sync_request/crash-automerge-unknown-actor");
    let (status, ct, reply) = server.sync_raw(Some(&device.token), body.to_vec()).await;
    assert_error(status, &ct, &reply, StatusCode::BAD_REQUEST, "malformed");
    assert_eq!(server.total_changes().await, 0);
    let mut phone = common::Phone::enroll(&server, "g1").await;
    server.assert_still_serves(&mut phone).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_ending_at_the_top_of_u64_over_a_real_port_is_the_whole_file() {
    use media_fixture::{MediaPhone, create, patch, pseudo_random};
    let server = TestServer::new().await;
    let mut phone = MediaPhone::enroll(&server, "g1").await;
    let data = pseudo_random(100_000, 5);
    let (visit, media_ref) = phone.visit_with_evidence(&server, &data).await;
    let (token, hash) = (phone.phone.token.clone(), media_ref.hash.to_string());
    let created = create(&server, &token, visit.as_str(), &hash, 100_000).await;
    let location = created.header("location").expect("location").to_owned();
    let sent = patch(&server, &token, &location, 0, &data).await;
    assert_eq!(sent.status, StatusCode::NO_CONTENT);

    let real = common::RealServer::start(&server).await;
    let url = real.url(&format!("/v1/media/{hash}"));
    let get = |range: Option<&str>, token: Option<&str>| {
        let (url, range, token) = (
            url.clone(),
            range.map(str::to_owned),
            token.map(str::to_owned),
        );
        tokio::task::spawn_blocking(move || {
            let mut req = reqwest::blocking::Client::new().get(url);
            if let Some(r) = range {
                req = req.header("range", r);
            }
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let resp = req.send().expect("the server answers");
            let range = resp
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (
                resp.status().as_u16(),
                range,
                resp.bytes().expect("body").to_vec(),
            )
        })
    };
    let (status, range, body) = get(Some("bytes=0-18446744073709551615"), Some(&token))
        .await
        .expect("task");
    assert_eq!(status, 206);
    assert_eq!(range.as_deref(), Some("bytes 0-99999/100000"));
    assert_eq!(body, data, "the whole file");
    let (status, _, _) = get(Some("bytes=18446744073709551615-"), Some(&token))
        .await
        .expect("task");
    assert_eq!(status, 416, "a start past the end, not an overflow");
    let (status, _, _) = get(None, None).await.expect("task");
    assert_eq!(status, 401, "no credentials");
}
