//! Bounded password work over a real port (`docs/security.md`): 100 parallel failed logins,
//! with the login limits raised so every one reaches the password check, keep the server's
//! resident memory within [`BOUND_MIB`] of where it was, and the ones past the queue are
//! answered 503 with `Retry-After`. Its own test binary: the bound is measured on the whole
//! process (`/proc/self/status`), which must run nothing else meanwhile.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{RealServer, TestServer};
use reqwest::StatusCode;
use siteproof_server::ServerConfig;
use siteproof_server::backoffice::{NewUser, Role};
use siteproof_server::login_guard::LoginLimits;

/// The most the server's resident memory may grow over the burst. Unbounded, each check
/// holds argon2's 19 MiB and 100 at once took ~1.9 GB; the two pooled buffers exist before.
const BOUND_MIB: u64 = 64;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in kB")
}

async fn failed_login(client: &reqwest::Client, base: &str, i: usize) -> (StatusCode, bool) {
    let resp = client
        .post(format!("{base}/office/login"))
        .header("cookie", "sp_login_csrf=t")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf=t&login=user{}&password=wrong-{i}", i % 7))
        .send()
        .await
        .expect("login answered");
    let retry_after = resp.headers().get("retry-after").is_some();
    (resp.status(), retry_after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_parallel_failed_logins_keep_resident_memory_bounded() {
    let mut config = ServerConfig::default();
    config.office.logins = LoginLimits {
        per_account_and_address: 1000,
        per_address: 1000,
        per_account: 1000,
        ..LoginLimits::default()
    };
    let server = TestServer::with_config(config).await;
    server
        .state
        .backoffice
        .create_user(NewUser {
            login: "user0".into(),
            name: "user0".into(),
            password: "correct horse battery".into(),
            role: Role::Reviewer,
            region: "hebei".into(),
            sectors: vec![],
        })
        .await
        .expect("user");
    let real = RealServer::start(&server).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let base = real.url("");
    // Warm up: one check, connections pooled.
    assert_eq!(
        failed_login(&client, &base, 0).await.0,
        StatusCode::UNAUTHORIZED
    );
    let before = rss_kib();
    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let checks_before = server.state.backoffice.password_checks();
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (client, base, barrier) = (client.clone(), base.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                failed_login(&client, &base, i).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("join"));
    }
    sampler.abort();
    let peak = peak.load(Ordering::Relaxed).max(rss_kib());
    let grown_mib = peak.saturating_sub(before) / 1024;
    let refused = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    let busy = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    println!(
        "rss before {} MiB, peak {} MiB (+{grown_mib} MiB); 401: {refused}, 503: {busy}",
        before / 1024,
        peak / 1024
    );
    assert_eq!(refused + busy, 100, "only 401 or 503: {answers:?}");
    assert!(
        answers
            .iter()
            .all(|(s, retry)| *s != StatusCode::SERVICE_UNAVAILABLE || *retry),
        "every 503 says Retry-After"
    );
    assert_eq!(
        server.state.backoffice.password_checks() - checks_before,
        refused as u64,
        "a 503 costs no check"
    );
    assert!(
        grown_mib < BOUND_MIB,
        "resident memory grew {grown_mib} MiB (bound {BOUND_MIB} MiB)"
    );
    // The server still signs the right user in.
    let resp = client
        .post(format!("{base}/office/login"))
        .header("cookie", "sp_login_csrf=t")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("csrf=t&login=user0&password=correct+horse+battery")
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}
