//! Several `siteproof serve` processes on one PostgreSQL database, as a province runs them:
//! two processes behind a round-robin TCP proxy written here, phones (real stores) capturing
//! and syncing through it, two reviewers working cases on one process each, leads reported
//! and triaged on both; then one process killed with SIGKILL in the middle of the phones'
//! pushes. What must hold: every phone ends with the same visits as the server, no pull
//! skipped a change, each finding has one case, a lifecycle step taken at once on both
//! processes is written once, a lead is triaged once, the custody
//! chain verifies, and the lead limit counts reports on both processes as one.
//!
//! Needs `SITEPROOF_TEST_DATABASE_URL` (a cluster `scripts/postgres.sh` started; the test makes
//! its own database in it) and `psql`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use common::office::Office;
use common::{Server, start_server_with, text};
use siteproof_core::{RecordId, Store};

const PHONES: usize = 5;
const ROUNDS: usize = 6;

/// The test's own database in the test cluster, dropped at the end.
struct Database {
    admin: String,
    url: String,
    name: String,
}

impl Database {
    fn create() -> Self {
        let admin = std::env::var("SITEPROOF_TEST_DATABASE_URL").expect(
            "SITEPROOF_TEST_DATABASE_URL is not set: run under scripts/postgres.sh run (or \
             scripts/test-all.sh), which starts a throwaway cluster",
        );
        let name = format!("siteproof_scale_{}", rand::random::<u32>());
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let (base, _) = admin.rsplit_once('/').expect("a database in the URL");
        let url = format!("{base}/{name}");
        Self { admin, url, name }
    }

    /// One value (the first column of the first row) of `sql`.
    fn value(&self, sql: &str) -> String {
        psql(&self.url, sql).trim().to_owned()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-qAt", &self.admin, "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-qAt", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "psql {sql}: {}", text(&out));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A TCP load balancer: each connection goes to the next upstream in turn; an upstream that
/// refuses the connection (a process that died) is skipped, as a balancer's health check
/// would. Counts the connections each upstream took.
struct RoundRobin {
    addr: SocketAddr,
    taken: Arc<Vec<AtomicUsize>>,
    stop: Arc<AtomicBool>,
}

impl RoundRobin {
    fn start(upstreams: Vec<SocketAddr>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the balancer");
        let addr = listener.local_addr().expect("address");
        let taken: Arc<Vec<AtomicUsize>> =
            Arc::new(upstreams.iter().map(|_| AtomicUsize::new(0)).collect());
        let stop = Arc::new(AtomicBool::new(false));
        let (counts, stopped) = (Arc::clone(&taken), Arc::clone(&stop));
        std::thread::spawn(move || {
            let next = AtomicUsize::new(0);
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let first = next.fetch_add(1, Ordering::SeqCst);
                let upstream = (0..upstreams.len()).find_map(|i| {
                    let at = (first + i) % upstreams.len();
                    TcpStream::connect(upstreams[at]).ok().map(|s| (at, s))
                });
                let Some((at, server)) = upstream else {
                    continue; // both down: the client sees its connection closed
                };
                counts[at].fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || pipe(client, server));
            }
        });
        Self { addr, taken, stop }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn taken(&self) -> Vec<usize> {
        self.taken
            .iter()
            .map(|n| n.load(Ordering::SeqCst))
            .collect()
    }
}

impl Drop for RoundRobin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Copies bytes both ways until either side closes.
fn pipe(client: TcpStream, server: TcpStream) {
    let copy = |mut from: TcpStream, mut to: TcpStream| {
        let mut buf = [0u8; 64 << 10];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
        let _ = from.shutdown(Shutdown::Read);
    };
    let (c2, s2) = (
        client.try_clone().expect("clone"),
        server.try_clone().expect("clone"),
    );
    let up = std::thread::spawn(move || copy(c2, s2));
    copy(server, client);
    let _ = up.join();
}

/// `form` posted to `path` by both reviewers at the same moment, each on its own process:
/// each one's status and `location`.
fn at_once(
    reviewers: [&Office; 2],
    path: &str,
    form: &[(&str, &str)],
) -> [(u16, Option<String>); 2] {
    std::thread::scope(|s| {
        let [one, two] = reviewers.map(|r| s.spawn(move || r.post_to(path, form)));
        [one.join().expect("first"), two.join().expect("second")]
    })
}

/// `siteproof admin --data DATA --database URL ARGS...`, asserted to succeed; its output.
fn admin(data: &str, url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_siteproof"))
        .args(["admin", "--data", data, "--database", url])
        .args(args)
        .output()
        .expect("run siteproof admin");
    assert!(out.status.success(), "admin {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn serve(data: &str, url: &str, log: &std::path::Path) -> (Server, String) {
    start_server_with(data, &["--database", url], Some(log))
}

fn address(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().expect("address")
}

/// A phone: its store, the visits and findings it captured, the changes it saw acknowledged.
struct Phone {
    store: Store,
    _dir: tempfile::TempDir,
    visits: Vec<RecordId>,
}

impl Phone {
    fn enroll(balancer: &str, code: &str, name: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = siteproof_tests::open_store(&dir.path().join("phone.db"), name);
        siteproof_core::SyncClient::new(balancer)
            .expect("client")
            .enroll(&mut store, code, name)
            .expect("enroll through the balancer");
        store.sync().expect("first sync");
        Self {
            store,
            _dir: dir,
            visits: Vec::new(),
        }
    }

    /// Captures a visit with one finding; returns the visit and the finding.
    fn capture(&mut self, template: &siteproof_core::Template, site: &str) -> (String, String) {
        let visit = self
            .store
            .create_visit(siteproof_tests::new_visit(template, site))
            .expect("visit");
        let finding =
            siteproof_tests::finding(&mut self.store, &visit, &format!("{site} 气瓶未固定"));
        self.visits.push(visit.clone());
        (visit.to_string(), finding.to_string())
    }

    /// Syncs until nothing waits; a failure (a process killed under it) is retried next time.
    fn sync_until_done(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.store.sync() {
                Ok(_) if self.store.pending_changes(1).expect("outbox").is_empty() => return,
                Ok(_) => {}
                Err(e) => eprintln!("a sync failed and is tried again: {e}"),
            }
            assert!(
                Instant::now() < deadline,
                "the phone never finished syncing"
            );
        }
    }

    /// The visits the phone holds, each as its summary (everything read from the records).
    fn state(&self) -> BTreeMap<String, String> {
        self.store
            .list_visits()
            .expect("list")
            .into_iter()
            .map(|v| (v.id.to_string(), format!("{v:?}")))
            .collect()
    }
}

/// Every phone syncs until it has nothing left to send or receive; then the visits the
/// phones captured and those the server holds.
fn settle(phones: &mut [Phone], url: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    for phone in phones.iter_mut() {
        phone.sync_until_done();
    }
    let captured = phones
        .iter()
        .flat_map(|p| p.visits.iter().map(|v| v.to_string()))
        .collect();
    let on_server = psql(url, "SELECT id FROM documents WHERE kind = 'visit'")
        .lines()
        .map(str::to_owned)
        .collect();
    (captured, on_server)
}

#[test]
fn two_processes_on_one_postgres_database_behind_a_balancer_keep_every_rule() {
    let (seed, _) = siteproof_tests::seeded_rng("scale_out");
    let db = Database::create();
    let work = tempfile::tempdir().expect("tempdir");
    let data = |n: usize| {
        let dir = work.path().join(format!("process-{n}"));
        std::fs::create_dir_all(&dir).expect("data dir");
        dir.to_str().expect("utf-8").to_owned()
    };
    let (data_a, data_b) = (data(1), data(2));
    let template = siteproof_tests::template(6);
    let template_file = work.path().join("template.json");
    std::fs::write(&template_file, serde_json::to_vec(&template).expect("json")).expect("write");
    admin(
        &data_a,
        &db.url,
        &[
            "template",
            "publish",
            template_file.to_str().expect("utf-8"),
        ],
    );
    admin(
        &data_a,
        &db.url,
        &[
            "group",
            "create",
            "--region",
            "hebei",
            "--name",
            "督导一组",
            "--id",
            "g1",
        ],
    );

    let (a, url_a) = serve(&data_a, &db.url, &work.path().join("a.log"));
    let (b, url_b) = serve(&data_b, &db.url, &work.path().join("b.log"));
    let balancer = RoundRobin::start(vec![address(&url_a), address(&url_b)]);

    // Phones enroll through the balancer with codes issued by the CLI.
    let mut phones: Vec<Phone> = (0..PHONES)
        .map(|i| {
            let code = admin(&data_b, &db.url, &["enroll-code", "--group", "g1"]);
            Phone::enroll(&balancer.url(), &code, &format!("检查员{i}"))
        })
        .collect();

    // The reviewers: one on each process, the same login limits and sessions in the database.
    let reviewer_a =
        Office::add_and_sign_in(&["--data", &data_a, "--database", &db.url], &url_a, "wang");
    let reviewer_b =
        Office::add_and_sign_in(&["--data", &data_b, "--database", &db.url], &url_b, "li");

    // Phones capture and sync in threads; each finding goes to the reviewers.
    let (found, findings) = mpsc::channel::<(String, String)>();
    let phone_threads: Vec<_> = phones
        .drain(..)
        .enumerate()
        .map(|(i, mut phone)| {
            let (template, found) = (template.clone(), found.clone());
            std::thread::spawn(move || {
                for round in 0..ROUNDS {
                    let pair = phone.capture(&template, &format!("企业{i}-{round}"));
                    phone.sync_until_done();
                    found.send(pair).expect("reviewers listen");
                }
                phone
            })
        })
        .collect();
    drop(found);

    // Both reviewers open a case for every finding at once, each on its own process: one case
    // per finding, whoever wins. Then both order the rectification at once: one event.
    let mut cases = BTreeMap::new();
    for (visit, finding) in findings.iter() {
        let path = format!("/office/visits/{visit}/findings/{finding}/case");
        let opened = at_once([&reviewer_a, &reviewer_b], &path, &[]);
        let ids: BTreeSet<String> = opened
            .iter()
            .map(|(status, location)| {
                assert_eq!(*status, 303, "opening a case: {opened:?}");
                location.clone().expect("the case's page")
            })
            .collect();
        assert_eq!(
            ids.len(),
            1,
            "two reviewers opened two cases for one finding: {ids:?}"
        );
        let case = ids.into_iter().next().expect("one");
        let events = format!("{case}/events");
        let order = [
            ("kind", "ordered"),
            ("unit", "某燃气公司"),
            ("deadline", "2030-01-31"),
            ("note", "限期整改"),
        ];
        assert_eq!(
            reviewer_a.post_to(&events, &order).0,
            303,
            "ordering {case}"
        );
        // Both record the rectification at once: the lifecycle allows it once.
        let form = [("kind", "rectified"), ("note", "整改完毕回执")];
        let rectified = at_once([&reviewer_a, &reviewer_b], &events, &form).map(|r| r.0);
        assert_eq!(
            rectified.iter().filter(|s| **s == 303).count(),
            1,
            "the rectification of {case} was written once: {rectified:?}"
        );
        cases.insert((visit, finding), case);
    }
    let mut phones: Vec<Phone> = phone_threads
        .into_iter()
        .map(|t| t.join().expect("phone thread"))
        .collect();
    assert_eq!(cases.len(), PHONES * ROUNDS);

    // One case record per finding, one `ordered` event each, whichever process wrote it.
    assert_eq!(
        db.value("SELECT count(*) FROM bo_cases WHERE recorded"),
        (PHONES * ROUNDS).to_string()
    );
    assert_eq!(
        db.value("SELECT count(*) FROM documents WHERE kind = 'case'"),
        (PHONES * ROUNDS).to_string()
    );
    assert_eq!(
        db.value("SELECT count(*) FROM bo_cases WHERE status <> 'rectified'"),
        "0",
        "every case is rectified"
    );
    for (_, case) in cases.iter().take(5) {
        let page = reviewer_a.get(case);
        assert_eq!(
            page.matches("整改完毕回执").count(),
            1,
            "one rectified event: {case}"
        );
    }

    // Leads: seven reports, alternately to each process, from one address: the limit of five
    // per address holds across both.
    let http = reqwest::blocking::Client::new();
    let mut statuses = Vec::new();
    for i in 0..7 {
        let url = if i % 2 == 0 { &url_a } else { &url_b };
        let resp = http
            .post(format!("{url}/v1/leads"))
            .json(&serde_json::json!({
                "region": "hebei", "site": format!("某餐馆{i}"), "address": "石家庄",
                "description": "后厨液化气瓶放在地下室，无报警器"
            }))
            .send()
            .expect("report a lead");
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(
        statuses,
        [201, 201, 201, 201, 201, 429, 429],
        "one limit for both processes"
    );
    // Each lead triaged by both reviewers at once: one decision each.
    let leads = psql(&db.url, "SELECT id FROM bo_leads ORDER BY id");
    for lead in leads.lines() {
        let path = format!("/office/leads/{lead}/triage");
        let form = [("decision", "dismiss"), ("note", "不属于本辖区")];
        let decided = at_once([&reviewer_a, &reviewer_b], &path, &form).map(|r| r.0);
        assert_eq!(
            decided.iter().filter(|s| **s == 303).count(),
            1,
            "lead {lead} triaged once: {decided:?}"
        );
    }
    assert_eq!(
        db.value("SELECT count(*) FROM bo_leads WHERE status = 'dismissed'"),
        "5"
    );

    // SIGKILL one process while the phones push (after a seeded number of their syncs): they
    // go on through the other (the balancer skips the dead one; the phones' kept-alive
    // connections to it fail and are made again), and every change a phone saw acknowledged
    // is on the server, once.
    let synced = Arc::new(AtomicUsize::new(0));
    let kill_after = PHONES + (seed as usize) % (PHONES * (ROUNDS - 2));
    let pushing: Vec<_> = phones
        .drain(..)
        .enumerate()
        .map(|(i, mut phone)| {
            let (template, synced) = (template.clone(), Arc::clone(&synced));
            std::thread::spawn(move || {
                for round in 0..ROUNDS {
                    phone.capture(&template, &format!("复查{i}-{round}"));
                    phone.sync_until_done();
                    synced.fetch_add(1, Ordering::SeqCst);
                }
                phone
            })
        })
        .collect();
    let waiting = Instant::now();
    while synced.load(Ordering::SeqCst) < kill_after {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "the phones stalled"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(a); // SIGKILL
    let killed_at = synced.load(Ordering::SeqCst);
    let mut phones: Vec<Phone> = pushing
        .into_iter()
        .map(|t| t.join().expect("phone thread"))
        .collect();
    assert!(
        killed_at < PHONES * ROUNDS,
        "the kill came after every push ({killed_at} syncs done)"
    );

    // The end: every phone pulls; all hold the visits every phone captured, as the server does.
    let (captured, on_server) = settle(&mut phones, &db.url);
    assert_eq!(captured.len(), PHONES * ROUNDS * 2);
    assert_eq!(on_server, captured, "the server holds every visit captured");
    let first = phones[0].state();
    assert_eq!(
        first.keys().cloned().collect::<BTreeSet<_>>(),
        captured,
        "a phone missed a visit: a pull skipped a change"
    );
    for phone in &phones[1..] {
        assert_eq!(phone.state(), first, "every phone holds the same visits");
    }
    assert_eq!(
        db.value("SELECT count(*) FROM (SELECT doc_id, hash FROM changes GROUP BY 1, 2 HAVING count(*) > 1) d"),
        "0",
        "no change stored twice"
    );
    // The custody chain both processes appended to verifies.
    let verified = admin(&data_b, &db.url, &["custody", "verify"]);
    assert!(!verified.is_empty(), "custody verify printed nothing");
    let taken = balancer.taken();
    assert!(
        taken.iter().all(|n| *n > 0),
        "both processes took connections: {taken:?}"
    );
    drop(b);
}

/// A cluster of the test's own (`scripts/postgres.sh start`), to restart without touching the
/// other tests' cluster; stopped and removed on drop.
struct OwnCluster {
    dir: std::path::PathBuf,
    url: String,
}

impl OwnCluster {
    fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("siteproof-pg-restart.")
            .tempdir()
            .expect("cluster folder")
            .keep();
        let exports = postgres_script("start", &dir);
        let url = exports
            .trim()
            .strip_prefix("export SITEPROOF_TEST_DATABASE_URL=")
            .unwrap_or_else(|| panic!("unexpected output of postgres.sh start: {exports}"))
            .to_owned();
        Self { dir, url }
    }

    fn restart(&self) {
        postgres_script("restart", &self.dir);
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        postgres_script("stop", &self.dir);
    }
}

fn postgres_script(command: &str, dir: &std::path::Path) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");
    let out = Command::new(script)
        .arg(command)
        .arg(dir)
        .output()
        .expect("run postgres.sh");
    assert!(
        out.status.success(),
        "postgres.sh {command}: {}",
        text(&out)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn phones_syncing_through_a_database_restart_complete_their_next_sync() {
    let cluster = OwnCluster::start();
    let work = tempfile::tempdir().expect("tempdir");
    let data = work.path().join("data");
    let data = data.to_str().expect("utf-8");
    let template = siteproof_tests::template(4);
    let template_file = work.path().join("template.json");
    std::fs::write(&template_file, serde_json::to_vec(&template).expect("json")).expect("write");
    admin(
        data,
        &cluster.url,
        &[
            "template",
            "publish",
            template_file.to_str().expect("utf-8"),
        ],
    );
    admin(
        data,
        &cluster.url,
        &[
            "group",
            "create",
            "--region",
            "hebei",
            "--name",
            "督导二组",
            "--id",
            "g1",
        ],
    );
    let (_server, url) = serve(data, &cluster.url, &work.path().join("server.log"));
    let mut phones: Vec<Phone> = (0..3)
        .map(|i| {
            let code = admin(data, &cluster.url, &["enroll-code", "--group", "g1"]);
            Phone::enroll(&url, &code, &format!("检查员{i}"))
        })
        .collect();

    // The phones capture and sync in a loop; the database restarts under them (every pooled
    // connection of the server is cut) while they do.
    let failed = Arc::new(AtomicUsize::new(0));
    let restarted = Arc::new(AtomicBool::new(false));
    let syncing: Vec<_> = phones
        .drain(..)
        .enumerate()
        .map(|(i, mut phone)| {
            let (template, failed, restarted) = (
                template.clone(),
                Arc::clone(&failed),
                Arc::clone(&restarted),
            );
            std::thread::spawn(move || {
                let mut after_restart = 0;
                let mut round = 0;
                // Until two syncs completed after the restart.
                while after_restart < 2 {
                    phone.capture(&template, &format!("站{i}-{round}"));
                    round += 1;
                    let was_restarted = restarted.load(Ordering::SeqCst);
                    match phone.store.sync() {
                        Ok(_) if was_restarted => after_restart += 1,
                        Ok(_) => {}
                        // A sync begun once the database was back must complete: the pool
                        // dropped the connections the restart cut.
                        Err(e) if was_restarted => panic!("a sync after the restart failed: {e}"),
                        Err(_) => {
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    assert!(round < 2_000, "the phone never synced after the restart");
                }
                phone
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    cluster.restart();
    restarted.store(true, Ordering::SeqCst);
    let mut phones: Vec<Phone> = syncing
        .into_iter()
        .map(|t| t.join().expect("phone thread"))
        .collect();
    let (captured, on_server) = settle(&mut phones, &cluster.url);
    assert_eq!(
        on_server, captured,
        "every visit captured reached the server"
    );
    for phone in &phones[1..] {
        assert_eq!(phone.state(), phones[0].state(), "the phones agree");
    }
    eprintln!(
        "{} syncs failed while the database restarted",
        failed.load(Ordering::SeqCst)
    );
}
