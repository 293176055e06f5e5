//! What an operations team relies on, against the real `siteproof serve` on a real port:
//! metrics after a sync, an upload and a refused request, metrics on a listener of their own,
//! readiness that fails while the database or the blob folder cannot be used and recovers,
//! JSON log lines that carry the request id the response returned, and the front door
//! (`/` and unknown URLs). `docs/operations.md` describes all of it.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{laptop_with_a_visit, ok, start_server_with};
use reqwest::blocking::{Client, Response};

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // A readiness check may wait for a lock: longer than its own limit.
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

fn get(url: &str) -> Response {
    client().get(url).send().expect("GET")
}

fn json(resp: Response) -> serde_json::Value {
    serde_json::from_str(&resp.text().expect("body")).expect("a JSON body")
}

/// The samples of a Prometheus text page: `name{labels}` -> value.
fn samples(page: &str) -> BTreeMap<String, f64> {
    page.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn scrape(url: &str) -> BTreeMap<String, f64> {
    let resp = get(url);
    assert_eq!(resp.status(), 200, "{url}");
    let ct = resp.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    samples(&resp.text().expect("body"))
}

fn value(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("no sample {key} in {samples:#?}"))
}

#[test]
fn metrics_count_a_sync_an_upload_and_a_refused_request_by_route_status_and_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scene = laptop_with_a_visit(dir.path());
    let synced: serde_json::Value =
        serde_json::from_str(&ok(&["client", "--home", &scene.home, "sync"])).expect("json");
    let pushed = synced["pushed"].as_u64().expect("pushed");
    assert!(pushed >= 1, "{synced}");

    let photo = dir.path().join("photo.bin");
    let size = 200_000u32;
    let bytes: Vec<u8> = (0..size)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&photo, bytes).expect("write file");
    let photo = photo.to_str().expect("utf-8");
    let out = ok(&[
        "client",
        "--home",
        &scene.home,
        "upload",
        &scene.visit,
        photo,
    ]);
    assert!(out.contains("1 uploaded and verified"), "{out}");

    let refused = client()
        .post(format!("{}/v1/sync", scene.url))
        .bearer_auth("0000bad0token")
        .header("content-type", "application/cbor")
        .body(vec![0xa0])
        .send()
        .expect("POST");
    assert_eq!(refused.status(), 401);

    let m = scrape(&format!("{}/metrics", scene.url));
    // Requests by route template and status: the refused sync apart from the good ones.
    assert_eq!(
        value(
            &m,
            r#"siteproof_http_requests_total{route="/v1/sync",method="POST",status="401"}"#
        ),
        1.0
    );
    assert!(
        value(
            &m,
            r#"siteproof_http_requests_total{route="/v1/sync",method="POST",status="200"}"#
        ) >= 2.0,
        "the sync, and the upload's sync before it"
    );
    assert!(
        m.keys()
            .any(|k| k.starts_with("siteproof_http_requests_total{")
                && k.contains(r#"method="PATCH""#)
                && k.contains(r#"status="204""#)
                && k.contains("{id}")),
        "the upload's PATCH, by its route template: {m:#?}"
    );
    assert!(
        value(
            &m,
            r#"siteproof_http_request_duration_seconds_count{route="/v1/sync",method="POST"}"#
        ) >= 3.0
    );
    // No raw id in any label.
    let hash_like = |k: &str| {
        k.split(|c: char| !c.is_ascii_hexdigit())
            .any(|run| run.len() >= 32)
    };
    for key in m.keys() {
        assert!(!key.contains(&scene.visit), "a record id in {key}");
        assert!(!hash_like(key), "an upload id or hash in {key}");
    }
    // Refusals by code.
    assert_eq!(
        value(&m, r#"siteproof_refusals_total{code="unauthorized"}"#),
        1.0
    );
    // Sync.
    assert!(value(&m, "siteproof_sync_changes_pushed_total") >= pushed as f64);
    assert!(value(&m, "siteproof_sync_pushes_total") >= 1.0);
    assert!(value(&m, "siteproof_sync_rounds_total") >= 2.0);
    assert!(value(&m, r#"siteproof_sync_bytes_total{direction="received"}"#) > 0.0);
    assert!(value(&m, r#"siteproof_sync_bytes_total{direction="sent"}"#) > 0.0);
    // The upload: its bytes, no upload left active, verified, in the custody log.
    assert_eq!(value(&m, "siteproof_upload_bytes_total"), f64::from(size));
    assert_eq!(value(&m, "siteproof_uploads_active"), 0.0);
    assert_eq!(
        value(&m, r#"siteproof_evidence_checks_total{result="verified"}"#),
        1.0
    );
    assert_eq!(
        value(&m, r#"siteproof_custody_appends_total{action="upload"}"#),
        1.0
    );
    assert!(
        value(
            &m,
            r#"siteproof_blob_op_duration_seconds_count{op="commit_staged"}"#
        ) >= 1.0
    );
    assert_eq!(value(&m, "siteproof_db_writer_queue_depth"), 0.0);
    assert_eq!(value(&m, "siteproof_db_reads_active"), 0.0);
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        m.keys().any(|k| k.starts_with("siteproof_build_info{")
            && k.contains(&format!(r#"version="{version}""#))),
        "{m:#?}"
    );
}

#[test]
fn metrics_listen_serves_metrics_apart_and_the_main_listener_has_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (server, url) = start_server_with(
        data.to_str().expect("utf-8"),
        &["--metrics-listen", "127.0.0.1:0"],
        None,
    );
    let metrics = server.metrics_address();
    assert_eq!(get(&format!("{url}/v1/health")).status(), 200);

    let m = scrape(&format!("http://{metrics}/metrics"));
    assert_eq!(
        value(
            &m,
            r#"siteproof_http_requests_total{route="/v1/health",method="GET",status="200"}"#
        ),
        1.0
    );
    let main = get(&format!("{url}/metrics"));
    assert_eq!(main.status(), 404);
    let body: serde_json::Value = json(main);
    assert_eq!(body["error"], "not_found");
    // The metrics listener serves nothing else.
    assert_eq!(get(&format!("http://{metrics}/v1/health")).status(), 404);
}

/// `/readyz`'s status and the outcome of each of its checks.
fn readiness(url: &str) -> (u16, String, String) {
    let resp = get(&format!("{url}/readyz"));
    let status = resp.status().as_u16();
    let body: serde_json::Value = json(resp);
    let check = |name: &str| body["checks"][name].as_str().expect("check").to_owned();
    (status, check("database"), check("blob_store"))
}

fn assert_alive(url: &str) {
    assert_eq!(get(&format!("{url}/healthz")).status(), 200);
}

#[test]
fn readiness_fails_while_the_database_is_locked_or_the_blob_folder_is_gone_and_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (_server, url) = start_server_with(data.to_str().expect("utf-8"), &[], None);
    assert_eq!(readiness(&url), (200, "ok".into(), "ok".into()));

    // Another process holds the database's write lock: writes cannot happen.
    let holder = rusqlite::Connection::open(data.join("siteproof.db")).expect("open");
    holder
        .execute_batch("BEGIN EXCLUSIVE")
        .expect("take the lock");
    assert_eq!(readiness(&url), (503, "failed".into(), "ok".into()));
    assert_alive(&url);
    holder.execute_batch("COMMIT").expect("let go");
    assert_eq!(readiness(&url), (200, "ok".into(), "ok".into()));

    // The blob folder goes away (an unmounted volume): uploads cannot be stored.
    let (blobs, away) = (data.join("blobs"), data.join("blobs-away"));
    std::fs::rename(&blobs, &away).expect("move the blobs away");
    assert_eq!(readiness(&url), (503, "ok".into(), "failed".into()));
    assert_alive(&url);
    std::fs::rename(&away, &blobs).expect("bring them back");
    assert_eq!(readiness(&url), (200, "ok".into(), "ok".into()));
}

fn enroll(url: &str, code: &str, request_id: Option<&str>) -> (String, String) {
    let mut req = client()
        .post(format!("{url}/v1/enroll"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "code": code, "device_name": "phone" }).to_string());
    if let Some(id) = request_id {
        req = req.header("x-request-id", id);
    }
    let resp = req.send().expect("POST");
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let body: serde_json::Value = json(resp);
    (id, body["token"].as_str().expect("token").to_owned())
}

/// Every line of `log`, parsed: each must be one JSON object.
fn json_lines(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .expect("log")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn json_log_lines_parse_and_carry_the_request_id_the_response_returned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8");
    let log = dir.path().join("server.log");
    let (server, url) = start_server_with(data, &["--log-format", "json"], Some(&log));
    let group = ok(&[
        "admin", "--data", data, "group", "create", "--region", "hebei", "--name", "一组",
    ]);
    let code = |group: &str| ok(&["admin", "--data", data, "enroll-code", "--group", group]);
    let (first_code, second_code) = (code(&group), code(&group));

    let (kept, first_token) = enroll(&url, &first_code, Some("ops-test-42"));
    assert_eq!(kept, "ops-test-42", "a sane incoming id is kept");
    let (made, second_token) = enroll(&url, &second_code, Some("bad id\twith tab"));
    assert_ne!(made, "bad id\twith tab");
    assert_eq!(made.len(), 36, "a new UUID: {made}");
    drop(server);

    let lines = json_lines(&log);
    let enrolled_under = |id: &str| {
        lines.iter().any(|l| {
            l["fields"]["message"] == "device enrolled"
                && l["span"]["request_id"] == id
                && l["span"]["route"] == "/v1/enroll"
        })
    };
    assert!(enrolled_under("ops-test-42"), "{lines:#?}");
    assert!(enrolled_under(&made), "{lines:#?}");
    let text = std::fs::read_to_string(&log).expect("log");
    for secret in [&first_token, &second_token, &first_code, &second_code] {
        assert!(!text.contains(secret.as_str()), "{secret} is in the log");
    }
}

#[test]
fn the_front_door_redirects_to_the_office_and_unknown_urls_answer_in_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (_server, url) = start_server_with(data.to_str().expect("utf-8"), &[], None);

    let front = get(&format!("{url}/"));
    assert_eq!(front.status(), 303);
    assert_eq!(front.headers()["location"], "/office/login");
    let signed_in = client()
        .get(format!("{url}/"))
        .header("cookie", "sp_session=some-session")
        .send()
        .expect("GET");
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/office/visits");

    let page = get(&format!("{url}/office/no-such-page"));
    assert_eq!(page.status(), 404);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        csp.contains("style-src 'unsafe-inline'"),
        "the office's policy: {csp}"
    );
    let html = page.text().expect("body");
    assert!(html.contains("页面不存在"), "{html}");
    assert!(html.contains("/office/visits"), "a way back: {html}");
    let english = get(&format!("{url}/office/no-such-page?lang=en"));
    assert!(english.text().expect("body").contains("Page not found"));

    let api = get(&format!("{url}/v1/no-such-endpoint"));
    assert_eq!(api.status(), 404);
    let body: serde_json::Value = json(api);
    assert_eq!(body["error"], "not_found");
}

#[test]
fn the_demo_and_the_client_print_no_schema_migration_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("demo.log");
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/../content/templates");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_siteproof"))
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--demo-templates",
            templates,
        ])
        .arg("--data")
        .arg(dir.path().join("data"))
        .env_remove("SITEPROOF_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().expect("piped");
    let _demo = common::Server::from(child);
    // The demo prints `ready:` once seeded; its phones have migrated their stores by then.
    let mut printed = String::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line.expect("a line");
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("ready: ") {
            break;
        }
    }
    assert!(
        printed.contains("ready: "),
        "the demo ended early: {printed}"
    );
    printed.push_str(&std::fs::read_to_string(&log).expect("log"));
    assert!(!printed.contains("migrating"), "{printed}");
    assert!(printed.contains("/office/login"), "{printed}");
    assert!(printed.contains("login reviewer"), "{printed}");
    let registered: usize = printed
        .lines()
        .filter_map(|line| line.strip_prefix("demo: "))
        .find_map(|rest| {
            rest.strip_suffix(" enterprises registered, the demo sites merged into theirs")
        })
        .and_then(|count| count.parse().ok())
        .unwrap_or(0);
    assert!(
        registered >= 10,
        "the demo seeds the enterprise registry (at least ten, one per tier and more): {printed}"
    );

    let home = dir.path().join("laptop");
    let listed = common::siteproof(&["client", "--home", home.to_str().expect("utf-8"), "list"]);
    assert!(listed.status.success());
    assert!(
        !common::text(&listed).contains("migrating"),
        "{}",
        common::text(&listed)
    );
}

/// Whether the environment a running process started with (read from `/proc`) holds every
/// `name=value` of `tunables` in `GLIBC_TUNABLES`. glibc may cut the variable where it read
/// the first value (it writes a NUL there), so the rest is looked for up to the next variable
/// that is not a tunable.
fn started_with_tunables(pid: u32, tunables: &str) -> bool {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("read /proc/PID/environ");
    let text = String::from_utf8_lossy(&environ).replace('\0', ":");
    let Some(start) = text.find("GLIBC_TUNABLES=") else {
        return false;
    };
    let found: Vec<&str> = text[start + "GLIBC_TUNABLES=".len()..]
        .split(':')
        .take_while(|item| item.starts_with("glibc."))
        .collect();
    tunables.split(':').all(|t| found.contains(&t))
}

/// `siteproof serve` runs with the allocator's limits (`docs/operations.md`, "Memory"): the
/// process the test started (same process id) started again with them and serves; an
/// operator's own malloc tunables are kept as they are.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_server_runs_with_the_allocators_limits_unless_the_operator_set_malloc_tunables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("server");
    let data = data.to_str().expect("utf-8 path");
    let args = ["--data", data, "--listen", "127.0.0.1:0"];
    let server = common::LoggedServer::start(&args, &[]);
    let (addr, _) = server.listening();
    assert!(started_with_tunables(
        server.pid(),
        siteproof_server::allocator::TUNABLES
    ));
    assert_alive(&format!("http://{addr}"));
    drop(server);

    let own = "glibc.malloc.arena_max=4";
    let server = common::LoggedServer::start(&args, &[("GLIBC_TUNABLES", own)]);
    let (addr, _) = server.listening();
    assert!(started_with_tunables(server.pid(), own));
    assert!(!started_with_tunables(
        server.pid(),
        "glibc.malloc.mmap_threshold=131072"
    ));
    assert_alive(&format!("http://{addr}"));
}
