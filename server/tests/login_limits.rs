//! Back-office login throttling over a real port (`docs/security.md`): attempts are counted
//! before the password is checked, so parallel guesses get exactly the limit's number of
//! checks; a guesser locks only their own address; the account-wide limit is lifted by an
//! administrator's unlock written from another process.

mod common;

use std::net::IpAddr;

use common::{RealServer, TestServer};
use reqwest::StatusCode;
use siteproof_server::ServerConfig;
use siteproof_server::backoffice::{NewUser, Role};
use siteproof_server::identity::TrustedProxies;
use siteproof_server::login_guard::{LoginGuard, LoginLimits};

const RIGHT: &str = "correct horse battery";

async fn add_alice(server: &TestServer) {
    server
        .state
        .backoffice
        .create_user(NewUser {
            login: "alice".into(),
            name: "Alice".into(),
            password: RIGHT.into(),
            role: Role::Reviewer,
            region: "hebei".into(),
            sectors: vec![],
        })
        .await
        .expect("user");
}

/// A client whose connections come from `127.0.0.<last>`.
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, last]))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// One login at `base` (`http://host:port`); the status and whether a session came back.
async fn login(client: &reqwest::Client, base: &str, password: &str) -> (StatusCode, bool) {
    login_forwarded(client, base, password, None).await
}

/// [`login`] with an `X-Forwarded-For` header, as a proxy (or a client pretending) sends it.
async fn login_forwarded(
    client: &reqwest::Client,
    base: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (StatusCode, bool) {
    let body = format!(
        "csrf=t&login=alice&password={}",
        form_urlencoded::byte_serialize(password.as_bytes()).collect::<String>()
    );
    let mut request = client.post(format!("{base}/office/login"));
    if let Some(value) = forwarded_for {
        request = request.header("x-forwarded-for", value);
    }
    let resp = request
        .header("cookie", "sp_login_csrf=t")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("login answered");
    let session = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with("sp_session=")));
    (resp.status(), session)
}

/// Logins for every password at once (released together) from `127.0.0.<last>`.
async fn burst(real: &RealServer, last: u8, passwords: Vec<String>) -> Vec<(StatusCode, bool)> {
    let client = client_from(last);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(passwords.len()));
    let tasks: Vec<_> = passwords
        .into_iter()
        .map(|p| {
            let (client, barrier, base) = (client.clone(), barrier.clone(), real.url(""));
            tokio::spawn(async move {
                barrier.wait().await;
                login(&client, &base, &p).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("join"));
    }
    out
}

fn count(answers: &[(StatusCode, bool)], status: StatusCode) -> usize {
    answers.iter().filter(|(s, _)| *s == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_get_exactly_the_limit_of_checks_and_no_session_past_it() {
    let server = TestServer::new().await;
    add_alice(&server).await;
    let real = RealServer::start(&server).await;
    let office = &server.state.backoffice;
    let limit = LoginLimits::default().per_account_and_address;
    assert_eq!(limit, 5, "docs/security.md states 5");
    let checks_before = office.password_checks();

    // 30 wrong guesses at once: 5 are checked, 25 refused before any hashing.
    let wrong: Vec<String> = (0..30).map(|i| format!("guess-{i}")).collect();
    let answers = burst(&real, 1, wrong).await;
    assert_eq!(
        count(&answers, StatusCode::UNAUTHORIZED),
        limit,
        "{answers:?}"
    );
    assert_eq!(count(&answers, StatusCode::TOO_MANY_REQUESTS), 30 - limit);
    assert_eq!(office.password_checks() - checks_before, limit as u64);

    // 30 more at once, one of them the right password: nothing is checked, no session.
    let mut with_right: Vec<String> = (0..29).map(|i| format!("again-{i}")).collect();
    with_right.insert(17, RIGHT.to_owned());
    let answers = burst(&real, 1, with_right).await;
    assert_eq!(
        count(&answers, StatusCode::TOO_MANY_REQUESTS),
        30,
        "{answers:?}"
    );
    assert!(answers.iter().all(|(_, session)| !session));
    assert_eq!(office.password_checks() - checks_before, limit as u64);

    // The owner at another address is not locked out by the guesser.
    assert_eq!(
        login(&client_from(2), &real.url(""), RIGHT).await,
        (StatusCode::SEE_OTHER, true)
    );
    assert_eq!(office.password_checks() - checks_before, limit as u64 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_account_wide_limit_holds_until_an_administrator_unlocks_from_another_process() {
    // Unlocks read at every refusal (1 s apart by default), so the test need not wait.
    let limits = LoginLimits {
        unlock_poll: std::time::Duration::ZERO,
        ..LoginLimits::default()
    };
    let mut config = ServerConfig::default();
    config.office.logins = limits.clone();
    let server = TestServer::with_config(config).await;
    add_alice(&server).await;
    let real = RealServer::start(&server).await;
    // Spread over addresses, each under its own limit, until the account-wide one is full.
    let addresses = limits.per_account / limits.per_account_and_address;
    for a in 0..addresses {
        let last = 10 + u8::try_from(a).expect("few addresses");
        let guesses = (0..limits.per_account_and_address)
            .map(|i| format!("spread-{a}-{i}"))
            .collect();
        let answers = burst(&real, last, guesses).await;
        assert_eq!(
            count(&answers, StatusCode::UNAUTHORIZED),
            limits.per_account_and_address
        );
    }
    let checks = server.state.backoffice.password_checks();
    let owner = client_from(200);
    assert_eq!(
        login(&owner, &real.url(""), RIGHT).await,
        (StatusCode::TOO_MANY_REQUESTS, false)
    );
    assert_eq!(
        server.state.backoffice.password_checks(),
        checks,
        "refused unchecked"
    );

    // What `siteproof admin user unlock` does: its own guard on the same database file.
    let admin_storage = server
        .config_of_another_process()
        .database
        .open(server.dir.path())
        .await
        .expect("the admin's storage");
    LoginGuard::new(admin_storage.rate_store(), limits.clone())
        .unlock("alice")
        .await
        .expect("unlock");
    assert_eq!(
        login(&owner, &real.url(""), RIGHT).await,
        (StatusCode::SEE_OTHER, true)
    );
}

/// Wrong guesses for alice from `127.0.0.<last>`, each claiming another forwarded address.
async fn guesses_with_forwarded(
    real: &RealServer,
    last: u8,
    forwarded: impl Fn(usize) -> String,
    n: usize,
) -> Vec<(StatusCode, bool)> {
    let client = client_from(last);
    let mut answers = Vec::new();
    for i in 0..n {
        let value = forwarded(i);
        answers.push(
            login_forwarded(&client, &real.url(""), &format!("wrong-{i}"), Some(&value)).await,
        );
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forwarded_address_from_an_untrusted_peer_cannot_dodge_the_limit() {
    // No trusted proxy configured: every peer is a client, its header a claim.
    let server = TestServer::new().await;
    add_alice(&server).await;
    let real = RealServer::start(&server).await;
    let limit = LoginLimits::default().per_account_and_address;
    let answers = guesses_with_forwarded(&real, 3, |i| format!("203.0.113.{i}"), limit + 3).await;
    assert_eq!(
        count(&answers, StatusCode::UNAUTHORIZED),
        limit,
        "{answers:?}"
    );
    assert_eq!(
        count(&answers, StatusCode::TOO_MANY_REQUESTS),
        3,
        "{answers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn behind_a_trusted_proxy_the_limit_follows_the_forwarded_address() {
    let config = ServerConfig {
        trusted_proxies: TrustedProxies::new(vec!["127.0.0.1".parse().expect("net")]),
        ..ServerConfig::default()
    };
    let server = TestServer::with_config(config).await;
    add_alice(&server).await;
    let real = RealServer::start(&server).await;
    let limit = LoginLimits::default().per_account_and_address;
    // Through the proxy (127.0.0.1), one guesser behind it reaches the pair limit...
    let answers = guesses_with_forwarded(&real, 1, |_| "203.0.113.7".into(), limit + 1).await;
    assert_eq!(
        count(&answers, StatusCode::UNAUTHORIZED),
        limit,
        "{answers:?}"
    );
    assert_eq!(count(&answers, StatusCode::TOO_MANY_REQUESTS), 1);
    // ...and cannot get out of it by putting another address in front of the proxy's entry:
    // the right-most untrusted entry is the one the proxy saw.
    let spoofed = guesses_with_forwarded(&real, 1, |_| "198.51.100.1, 203.0.113.7".into(), 2).await;
    assert_eq!(
        count(&spoofed, StatusCode::TOO_MANY_REQUESTS),
        2,
        "{spoofed:?}"
    );
    // Another client behind the same proxy is its own address: not locked out.
    let other = guesses_with_forwarded(&real, 1, |_| "203.0.113.8".into(), 1).await;
    assert_eq!(other[0].0, StatusCode::UNAUTHORIZED, "checked, not refused");
    assert_eq!(
        login_forwarded(&client_from(1), &real.url(""), RIGHT, Some("203.0.113.9")).await,
        (StatusCode::SEE_OTHER, true)
    );
    // A peer that is not the proxy is counted by its socket address, whatever it claims.
    let direct = guesses_with_forwarded(&real, 4, |i| format!("192.0.2.{i}"), limit + 1).await;
    assert_eq!(
        count(&direct, StatusCode::TOO_MANY_REQUESTS),
        1,
        "{direct:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_on_two_processes_of_one_database_get_the_limit_once() {
    let first = TestServer::new().await;
    add_alice(&first).await;
    // A second server over the same data directory, as another process would open it.
    let second = TestServer {
        state: siteproof_server::Services::open(
            first.dir.path(),
            first.config_of_another_process(),
        )
        .await
        .expect("second process"),
        dir: tempfile::tempdir().expect("unused folder"),
        database: None,
    };
    let (one, two) = (
        RealServer::start(&first).await,
        RealServer::start(&second).await,
    );
    let limit = LoginLimits::default().per_account_and_address;
    let checks_before =
        first.state.backoffice.password_checks() + second.state.backoffice.password_checks();
    let (a, b) = tokio::join!(
        burst(&one, 5, (0..15).map(|i| format!("one-{i}")).collect()),
        burst(&two, 5, (0..15).map(|i| format!("two-{i}")).collect()),
    );
    let answers: Vec<_> = a.into_iter().chain(b).collect();
    assert_eq!(
        count(&answers, StatusCode::UNAUTHORIZED),
        limit,
        "{answers:?}"
    );
    assert_eq!(count(&answers, StatusCode::TOO_MANY_REQUESTS), 30 - limit);
    let checks =
        first.state.backoffice.password_checks() + second.state.backoffice.password_checks();
    assert_eq!(
        checks - checks_before,
        limit as u64,
        "argon2 ran once per admitted guess"
    );
}
