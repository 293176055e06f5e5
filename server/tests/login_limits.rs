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
    let body = format!(
        "csrf=t&login=alice&password={}",
        form_urlencoded::byte_serialize(password.as_bytes()).collect::<String>()
    );
    let resp = client
        .post(format!("{base}/office/login"))
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
    let db = server.dir.path().join("siteproof.db");
    let admin_storage = siteproof_server::SqliteStorage::open(&db).expect("the admin's storage");
    LoginGuard::new(std::sync::Arc::new(admin_storage), limits.clone())
        .unlock("alice")
        .await
        .expect("unlock");
    assert_eq!(
        login(&owner, &real.url(""), RIGHT).await,
        (StatusCode::SEE_OTHER, true)
    );
}
