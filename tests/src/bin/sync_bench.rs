//! Sync benchmark (release build): prints, measured in one run against one server process:
//! 1. a fresh device pulling 1,000 visits of 60 answers: time, and wire bytes against the
//!    documents' saved size;
//! 2. one changed answer synced while 1,000 visits are in scope: round trips, bytes, time;
//! 3. 100 devices (20 groups of 5) syncing at once: changes/s, p50/p99 sync latency, and the
//!    server's peak RSS;
//! 4. the same 100 devices making 50 changes each, one at a time, each synced and acknowledged
//!    by the server before the next (the automerge-repo peer's workload, for
//!    `scripts/bench-peers.sh sync`).
//!
//! 5. with `--pull [N]` instead (N = 10,000 by default; nothing else runs): a fresh device
//!    pulling N visits in a process of its own while it captures: time, its own peak RSS,
//!    how long captures waited for the store (`sync_bench/big_pull.rs`). The device is the
//!    `pull-device` binary next to this one, built with the phone library's allocator.
//! 6. with `--scale-out [--rounds N] [--database-host]` instead: the 100-device load of phase 3c on SQLite with
//!    one server process, on PostgreSQL with one, and on PostgreSQL with two (devices split
//!    between them), in one run, N phases each taking turns (medians reported): changes/s,
//!    p50/p99, CPU per change, statements per request, each server's peak RSS
//!    (`sync_bench/scale_out.rs`; needs `SITEPROOF_TEST_DATABASE_URL`, see there).
//! 7. with `--cost [--history N] [--rounds N]` instead: the server's instructions per synced
//!    change, counted by callgrind while 20 devices sync rounds of ten answers to visits with
//!    history, for comparing builds on a noisy machine (`sync_bench/cost.rs`; needs valgrind).
//!
//! Phases 3c and 3d print the server's CPU per synced change; each target line says `ok` or
//! `MISSED`.
//!
//! Run: `cargo run --release -p siteproof-tests --bin sync-bench [-- --compare-check]`
//! (the server runs as a child process of this binary, on a loopback port). With
//! `--compare-check` the whole benchmark runs twice in one process, first against a server
//! that checks every pushed record whole, then against one that checks what each push writes
//! (the default), and prints the figures side by side with their ratio. `--figures FILE`
//! (after the other arguments) also writes the figures the peer comparison reads to FILE, one
//! `name value` line each.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use serde_bytes::ByteBuf;
use siteproof_core::sync::wire::{self, Cursor, PushRecord, SyncRequest, SyncResponse};
use siteproof_core::{RecordId, Store, SyncClient};
use siteproof_server::backoffice::{NewUser, Role};
use siteproof_server::storage::Database;
use siteproof_server::{AppState, GroupId, RegionCode, ServerConfig};
use siteproof_tests::procstat::{cpu_seconds, peak_rss_kib, reset_peak, rss_kib};

#[path = "sync_bench/answers.rs"]
mod answers;
use answers::{ANSWERS, answer};
#[path = "sync_bench/big_pull.rs"]
mod big_pull;
#[path = "sync_bench/cost.rs"]
mod cost;
#[path = "sync_bench/scale_out.rs"]
mod scale_out;

const VISITS: usize = 1_000;
const DEVICES: usize = 100;
const GROUP_SIZE: usize = 5;
const ROUNDS: usize = 10;
const CHANGES_PER_ROUND: usize = 10;
/// Phase 4: changes per device, each acknowledged before the next.
const ACKED_CHANGES: usize = 50;

/// The server's targets under load (issue 17): CPU per synced change, the generator's
/// closed loop, the paced load, the server's resident set.
const CPU_PER_CHANGE_TARGET_MS: f64 = 0.08;
const CLOSED_LOOP_TARGET_PER_S: f64 = 8_000.0;
const CLOSED_LOOP_P99_TARGET: Duration = Duration::from_millis(250);
const PACED_P99_TARGET: Duration = Duration::from_millis(50);
const SERVER_RSS_TARGET_KIB: u64 = 100 * 1024;

/// The password of the benchmark's back-office reviewer.
const OFFICE_PASSWORD: &str = "correct horse battery";

/// `ok` or `MISSED`, for a target line.
fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

/// Throughput and latency of one load phase.
#[derive(Clone, Copy, Default)]
struct Load {
    per_s: f64,
    p50: Duration,
    p99: Duration,
    server_cpu_s: f64,
}

/// Every figure of one run, for the side-by-side table.
#[derive(Default)]
struct Figures {
    seed_push: Duration,
    pull: Duration,
    pull_bytes: u64,
    one_change: Duration,
    one_change_bytes: u64,
    one_change_seen: Duration,
    closed: Load,
    paced: Load,
    gen_closed: Load,
    gen_paced: Load,
    acked: Load,
    peak_rss_seed_kib: u64,
    peak_rss_load_kib: u64,
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let figures = args.iter().position(|a| a == "--figures").map(|at| {
        let file = args.get(at + 1).expect("--figures FILE").clone();
        args.drain(at..at + 2);
        PathBuf::from(file)
    });
    match args.first().map(String::as_str) {
        Some("--serve") => {
            let dir = PathBuf::from(args.get(1).expect("data dir"));
            let database = match args.iter().position(|a| a == "--database") {
                Some(at) => args
                    .get(at + 1)
                    .expect("--database URL")
                    .parse()
                    .expect("URL"),
                None => Database::Embedded,
            };
            serve(&dir, args.iter().any(|a| a == "--check-whole"), database);
        }
        Some("--scale-out") => scale_out::run(&args),
        Some("--cost") => cost::run(&args),
        Some("--compare-check") => {
            println!("== server checks every pushed record whole ==");
            let whole = run(true);
            println!("\n== server checks what each push writes (the default) ==");
            let written = run(false);
            compare(&whole, &written);
        }
        Some("--pull") => {
            let visits = args.get(1).map_or(10_000, |n| n.parse().expect("--pull N"));
            big_pull::run(visits);
        }
        Some("--help" | "-h") => {
            println!(
                "sync-bench [--compare-check | --pull [N] | --scale-out [--rounds N] [--database-host] | --cost [--history N] [--rounds N]]: see the top of tests/src/bin/sync_bench.rs"
            )
        }
        _ => {
            let fig = run(false);
            if let Some(file) = figures {
                std::fs::write(&file, fig.lines()).expect("write the figures");
            }
        }
    }
}

impl Figures {
    /// `name value` lines, in the units their names end with.
    fn lines(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        [
            ("pull_ms", ms(self.pull)),
            ("pull_bytes", self.pull_bytes as f64),
            ("one_change_ack_ms", ms(self.one_change)),
            ("one_change_seen_ms", ms(self.one_change_seen)),
            ("one_change_bytes", self.one_change_bytes as f64),
            ("acked_per_s", self.acked.per_s),
            ("acked_p50_ms", ms(self.acked.p50)),
            ("acked_p99_ms", ms(self.acked.p99)),
            ("acked_server_cpu_s", self.acked.server_cpu_s),
            ("peak_rss_seed_mib", self.peak_rss_seed_kib as f64 / 1024.0),
            ("peak_rss_load_mib", self.peak_rss_load_kib as f64 / 1024.0),
        ]
        .iter()
        .map(|(name, value)| format!("{name} {value:.3}\n"))
        .collect()
    }
}

/// The server child process, and the admin handle the benchmark sets it up with.
struct Server {
    child: std::process::Child,
    url: String,
    pid: u32,
    admin: AppState,
    admin_rt: tokio::runtime::Runtime,
}

impl Server {
    /// Starts a server on `dir` in a child process (this binary with `--serve`).
    fn start(dir: &Path, check_whole: bool) -> Self {
        Self::start_on(dir, check_whole, &Database::Embedded)
    }

    /// Starts a server on `dir` and `database` in a child process.
    fn start_on(dir: &Path, check_whole: bool, database: &Database) -> Self {
        Self::start_with(dir, check_whole, database, None)
    }

    /// Starts a server on `dir` (the embedded database) in a child process run by `wrapper`
    /// (a command and its arguments, such as valgrind's).
    fn start_under(dir: &Path, wrapper: &[String]) -> Self {
        Self::start_with(dir, false, &Database::Embedded, Some(wrapper))
    }

    fn start_with(
        dir: &Path,
        check_whole: bool,
        database: &Database,
        wrapper: Option<&[String]>,
    ) -> Self {
        let admin_rt = tokio::runtime::Runtime::new().expect("runtime");
        let config = ServerConfig {
            database: database.clone(),
            ..ServerConfig::default()
        };
        let admin = admin_rt
            .block_on(AppState::open(dir, config))
            .expect("admin state");
        let url = match database {
            Database::Embedded => None,
            Database::Postgres(url) => Some(url.as_str()),
        };
        let exe = std::env::current_exe().expect("exe");
        let mut command = match wrapper {
            Some([program, args @ ..]) => {
                let mut c = Command::new(program);
                c.args(args).arg(&exe);
                // The allocator's limits set here: the server would otherwise start itself
                // again with them (`allocator::limit_retention`), outside the wrapper.
                c.env("GLIBC_TUNABLES", siteproof_server::allocator::TUNABLES);
                c
            }
            _ => Command::new(&exe),
        };
        let mut child = command
            .arg("--serve")
            .arg(dir)
            .args(check_whole.then_some("--check-whole"))
            .args(url.map(|url| ["--database", url]).into_iter().flatten())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read addr");
        let url = format!(
            "http://{}",
            line.trim()
                .strip_prefix("listening ")
                .expect("listening line")
        );
        let pid = child.id();
        Self {
            child,
            url,
            pid,
            admin,
            admin_rt,
        }
    }

    fn publish(&self, template: &siteproof_core::model::Template) {
        self.admin_rt
            .block_on(self.admin.admin.publish_template(template))
            .expect("publish");
    }

    fn group(&self, name: &str) -> GroupId {
        let region: RegionCode = "hebei".parse().expect("region");
        self.admin_rt
            .block_on(self.admin.admin.create_group(region, name, None))
            .expect("group")
            .id
    }

    fn code(&self, g: &GroupId) -> String {
        self.admin_rt
            .block_on(
                self.admin
                    .admin
                    .issue_enrollment_code(g, Duration::from_secs(3600)),
            )
            .expect("code")
            .code
    }

    /// Signs a reviewer of the benchmark's region in over HTTP, as the office does: the
    /// session cookie its requests carry.
    fn office_session(&self) -> String {
        self.admin_rt
            .block_on(self.admin.backoffice.create_user(NewUser {
                login: "bench-reviewer".into(),
                name: "bench-reviewer".into(),
                password: OFFICE_PASSWORD.into(),
                role: Role::Reviewer,
                region: "hebei".into(),
                sectors: vec![],
            }))
            .expect("office user");
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let answer = client
            .post(format!("{}/office/login", self.url))
            .header("cookie", "sp_login_csrf=bench")
            .form(&[
                ("csrf", "bench"),
                ("login", "bench-reviewer"),
                ("password", OFFICE_PASSWORD),
            ])
            .send()
            .expect("sign in");
        answer
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.split(';').next().filter(|c| c.starts_with("sp_session=")))
            .expect("a session cookie")
            .to_string()
    }

    /// Has the server bring its office index up to date as the office does (a reviewer opens
    /// the visits list), then waits until it is idle: what the earlier phases pushed is not
    /// indexed within the next phase, whose CPU per change is then the load's own. (A region's
    /// directory build first catches the index up; when one fell in a phase it read the 1,000
    /// seeded visits whole there, about 0.7 CPU-seconds, in one phase or the other by chance.)
    fn office_catches_up(&self, session: &str) {
        reqwest::blocking::Client::new()
            .get(format!("{}/office/visits", self.url))
            .header("cookie", session)
            .send()
            .and_then(|r| r.error_for_status())
            .expect("the visits list");
        big_pull::settle(self.pid);
    }

    fn enroll(&self, path: &Path, g: &GroupId, name: &str) -> Store {
        let mut store = siteproof_tests::open_store(path, name);
        SyncClient::new(&self.url)
            .expect("client")
            .enroll(&mut store, &self.code(g), name)
            .expect("enroll");
        store
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The whole benchmark against a fresh server child process.
fn run(check_whole: bool) -> Figures {
    let mut fig = Figures::default();
    let disk = tempfile::tempdir().expect("tempdir");
    let shm = tempfile::tempdir_in(shm_dir()).expect("tempdir in /dev/shm");
    let server_dir = disk.path().join("server");
    let server = Server::start(&server_dir, check_whole);
    let (url, pid) = (server.url.clone(), server.pid);
    let template = siteproof_tests::template(ANSWERS);
    server.publish(&template);
    let group = |name: &str| server.group(name);
    let code = |g: &GroupId| server.code(g);
    let enroll = |path: &Path, g: &GroupId, name: &str| server.enroll(path, g, name);

    // 1. A group with 1,000 visits of 60 answers; a fresh device pulls them.
    let big = group("大组");
    let mut seeder = enroll(&shm.path().join("seeder.db"), &big, "seeder");
    seeder.sync().expect("seeder gets the template");
    let t = Instant::now();
    let mut visits: Vec<RecordId> = Vec::with_capacity(VISITS);
    for n in 0..VISITS {
        let v = seeder
            .create_visit(siteproof_tests::new_visit(&template, &format!("企业{n}")))
            .expect("v");
        for i in 0..ANSWERS {
            seeder
                .answer_item(
                    &v,
                    &format!("i{i}").parse().expect("item"),
                    answer(i, &format!("{n}-{i}")),
                )
                .expect("answer");
        }
        visits.push(v);
    }
    println!(
        "seeded {VISITS} visits x {ANSWERS} answers in {:.1?}",
        t.elapsed()
    );
    let t = Instant::now();
    let pushed = seeder.sync().expect("push");
    fig.seed_push = t.elapsed();
    println!(
        "seeding device pushed {} changes in {:.2?} ({} round trips, {:.1} MB up)",
        pushed.pushed,
        t.elapsed(),
        pushed.round_trips,
        pushed.bytes_up as f64 / 1e6
    );
    println!(
        "    server peak RSS during the seeding push: {} KiB; now {} KiB (target < 100 MiB)",
        peak_rss_kib(pid),
        rss_kib(pid)
    );
    let saved: usize = visits
        .iter()
        .map(|v| seeder.export_document(v).expect("export").len())
        .sum();

    let mut fresh = siteproof_tests::open_store(&disk.path().join("fresh.db"), "fresh");
    SyncClient::new(&url)
        .expect("client")
        .enroll(&mut fresh, &code(&big), "fresh")
        .expect("enroll");
    let t = Instant::now();
    let pulled = fresh.sync().expect("pull");
    let took = t.elapsed();
    fig.pull = took;
    fig.pull_bytes = pulled.bytes_up + pulled.bytes_down;
    assert_eq!(fresh.list_visits().expect("list").len(), VISITS);
    println!(
        "[1] fresh device pulled {} records in {took:.2?} ({} round trips): {:.2} MB on the wire for {:.2} MB of saved documents = {:.3}x   (target < 2 s, <= 1.1x)",
        pulled.pulled,
        pulled.round_trips,
        pulled.bytes_down as f64 / 1e6,
        saved as f64 / 1e6,
        pulled.bytes_down as f64 / saved as f64
    );

    fig.peak_rss_seed_kib = peak_rss_kib(pid);
    println!(
        "    server peak RSS so far (the 61,000-change push and the pull): {} KiB; now {} KiB",
        fig.peak_rss_seed_kib,
        rss_kib(pid)
    );
    // The office's reviewer signs in now (the password check's memory is the sign-in's, not
    // the load's); the peak is then reset so the next figure is that of the steady phases.
    let office = server.office_session();
    let rss_before_load = rss_kib(pid);
    reset_peak(pid);

    // 2. One changed answer with 1,000 visits in scope; the seeding device (which holds them
    // all) then syncs and receives it.
    seeder.sync().expect("seeder catches up");
    let (mut times, mut seen) = (Vec::new(), Vec::new());
    let mut last = None;
    for k in 0..21 {
        fresh
            .answer_item(
                &visits[k * 7],
                &"i3".parse().expect("item"),
                answer(1, &format!("changed {k}")),
            )
            .expect("answer");
        let t = Instant::now();
        let s = fresh.sync().expect("sync one change");
        times.push(t.elapsed());
        let other = seeder.sync().expect("the other device syncs");
        seen.push(t.elapsed());
        assert!(
            other.records_updated >= 1,
            "the other device got the change"
        );
        last = Some((s, other));
    }
    times.sort();
    seen.sort();
    fig.one_change = times[times.len() / 2];
    fig.one_change_seen = seen[seen.len() / 2];
    let (s, other) = last.expect("measured");
    fig.one_change_bytes = s.bytes_up + s.bytes_down + other.bytes_up + other.bytes_down;
    println!(
        "[2] one changed answer, {VISITS} visits in scope: {} round trip(s), {} B up + {} B down = {} B, median {:.1?} (target: 1 round trip, < 2 KB, < 20 ms)",
        s.round_trips,
        s.bytes_up,
        s.bytes_down,
        s.bytes_up + s.bytes_down,
        times[times.len() / 2]
    );
    println!(
        "    the other device's sync that brings it: {} B up + {} B down; change to the other device holding it, median {:.1?}",
        other.bytes_up,
        other.bytes_down,
        seen[seen.len() / 2]
    );

    // 3. 100 devices in groups of 5, syncing at once.
    let mut devices = visit_devices(DEVICES, shm.path(), &template, |_| &server);
    // 3a: closed loop, every device syncing again as soon as it can: the most the server
    // and these 2 cores take. 3b: paced at 1,600 changes/s: latency at the target load.
    fig.closed = load(&mut devices, pid, None);
    fig.paced = load(
        &mut devices,
        pid,
        Some(Duration::from_secs_f64(
            (DEVICES * CHANGES_PER_ROUND) as f64 / 1_600.0,
        )),
    );
    // 4. Every device makes one change and waits for the server's acknowledgement (its sync)
    // before the next: the peer's concurrent workload.
    fig.acked = acked_changes(&mut devices, pid);
    // 3c/3d: the same traffic from a load generator: each device's captures are made
    // beforehand and only their sync requests are sent, so the 2 cores serve the server
    // (on a real deployment the devices are phones, not threads beside it).
    let traffic = pre_made_traffic(&mut devices, ROUNDS, |_| url.clone());
    server.office_catches_up(&office);
    fig.gen_closed = generate(&traffic, &[pid], None);
    server.office_catches_up(&office);
    fig.gen_paced = generate(
        &traffic,
        &[pid],
        Some(Duration::from_secs_f64(
            (DEVICES * CHANGES_PER_ROUND) as f64 / 1_600.0,
        )),
    );

    fig.peak_rss_load_kib = peak_rss_kib(pid);
    let db_size = std::fs::metadata(server_dir.join("siteproof.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    let rss_after = rss_kib(pid);
    println!(
        "server peak RSS during [2] and [3]: {} KiB (target < {} KiB: {}); {rss_before_load} KiB before them, {rss_after} KiB after (the allocator keeps {} KiB more than before); database {:.1} MB",
        fig.peak_rss_load_kib,
        SERVER_RSS_TARGET_KIB,
        verdict(fig.peak_rss_load_kib < SERVER_RSS_TARGET_KIB),
        rss_after.saturating_sub(rss_before_load),
        db_size as f64 / 1e6
    );
    drop(server);
    fig
}

/// Prints two runs side by side: `a` (whole-record check) against `b` (what a push writes).
fn compare(a: &Figures, b: &Figures) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let rows: Vec<(&str, f64, f64)> = vec![
        (
            "seeding push, 61,000 changes (s)",
            a.seed_push.as_secs_f64(),
            b.seed_push.as_secs_f64(),
        ),
        (
            "[1] fresh pull of 1,000 visits (s)",
            a.pull.as_secs_f64(),
            b.pull.as_secs_f64(),
        ),
        (
            "[2] one changed answer, median (ms)",
            ms(a.one_change),
            ms(b.one_change),
        ),
        (
            "[3a] in-process closed loop (changes/s)",
            a.closed.per_s,
            b.closed.per_s,
        ),
        ("[3a] p99 (ms)", ms(a.closed.p99), ms(b.closed.p99)),
        (
            "[3b] in-process paced p99 (ms)",
            ms(a.paced.p99),
            ms(b.paced.p99),
        ),
        (
            "[3c] generator closed loop (changes/s)",
            a.gen_closed.per_s,
            b.gen_closed.per_s,
        ),
        ("[3c] p99 (ms)", ms(a.gen_closed.p99), ms(b.gen_closed.p99)),
        (
            "[4] acknowledged one by one (changes/s)",
            a.acked.per_s,
            b.acked.per_s,
        ),
        ("[4] p99 (ms)", ms(a.acked.p99), ms(b.acked.p99)),
        (
            "[3c] server CPU (s)",
            a.gen_closed.server_cpu_s,
            b.gen_closed.server_cpu_s,
        ),
        (
            "[3d] generator paced 1,600/s p50 (ms)",
            ms(a.gen_paced.p50),
            ms(b.gen_paced.p50),
        ),
        (
            "[3d] generator paced 1,600/s p99 (ms)",
            ms(a.gen_paced.p99),
            ms(b.gen_paced.p99),
        ),
        (
            "server peak RSS, seed + pull (MiB)",
            a.peak_rss_seed_kib as f64 / 1024.0,
            b.peak_rss_seed_kib as f64 / 1024.0,
        ),
        (
            "server peak RSS, [2] + [3] (MiB)",
            a.peak_rss_load_kib as f64 / 1024.0,
            b.peak_rss_load_kib as f64 / 1024.0,
        ),
    ];
    println!("\n| measure | whole-record check | check of what a push writes | ratio |");
    println!("| --- | --- | --- | --- |");
    for (name, x, y) in rows {
        println!("| {name} | {x:.2} | {y:.2} | {:.2}x |", y / x);
    }
}

/// Every device makes `CHANGES_PER_ROUND` answers and syncs, `ROUNDS` times, all at once.
/// With `period`, each device starts round r at r * period (staggered), so the offered load is
/// fixed; without, it goes again at once.
fn load(devices: &mut [(Store, RecordId)], pid: u32, period: Option<Duration>) -> Load {
    let n = devices.len();
    let (server_cpu0, client_cpu0) = (cpu_seconds(Some(pid)), cpu_seconds(None));
    let (pushed_total, lat, wall) = drive(devices, |d, store, visit, latencies| {
        let start = Instant::now();
        let mut pushed = 0;
        for round in 0..ROUNDS {
            if let Some(period) = period {
                let due = period.mul_f64(round as f64 + d as f64 / n as f64);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            answer_round(store, visit, round, &format!("d{d}"));
            let t = Instant::now();
            pushed += store.sync().expect("concurrent sync").pushed;
            latencies.push(t.elapsed());
        }
        pushed
    });
    let server_cpu = cpu_seconds(Some(pid)) - server_cpu0;
    let client_cpu = cpu_seconds(None) - client_cpu0;
    let pct = |p: f64| percentile(&lat, p);
    let label = match period {
        None => "3a closed loop".to_string(),
        Some(p) => format!("3b paced, one sync per device every {p:.0?}"),
    };
    println!(
        "[{label}] {n} devices x {ROUNDS} syncs of {CHANGES_PER_ROUND} changes: {pushed_total} changes in {wall:.2?} = {:.0} changes/s; sync latency p50 {:.1?}, p99 {:.1?} (target >= 1500/s with p99 < 250 ms)",
        pushed_total as f64 / wall.as_secs_f64(),
        pct(0.50),
        pct(0.99)
    );
    println!(
        "    CPU: server {server_cpu:.1} s, the {n} simulated devices {client_cpu:.1} s, on {} cores shared by both",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    assert_eq!(
        pushed_total as usize,
        n * ROUNDS * CHANGES_PER_ROUND,
        "every change acknowledged"
    );
    Load {
        per_s: pushed_total as f64 / wall.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        server_cpu_s: server_cpu,
    }
}

/// Every device makes [`ACKED_CHANGES`] changes one after another, each synced (pushed and
/// acknowledged) before the next; latency from before the change to the acknowledgement.
fn acked_changes(devices: &mut [(Store, RecordId)], pid: u32) -> Load {
    let n = devices.len();
    let server_cpu0 = cpu_seconds(Some(pid));
    let (pushed, lat, wall) = drive(devices, |d, store, visit, latencies| {
        let mut pushed = 0;
        for k in 0..ACKED_CHANGES {
            let t = Instant::now();
            store
                .answer_item(
                    visit,
                    &format!("i{}", k % ANSWERS).parse().expect("item"),
                    answer(k, &format!("acked d{d} k{k}")),
                )
                .expect("answer");
            pushed += store.sync().expect("acked sync").pushed;
            latencies.push(t.elapsed());
        }
        pushed
    });
    let server_cpu = cpu_seconds(Some(pid)) - server_cpu0;
    let pct = |p: f64| percentile(&lat, p);
    println!(
        "[4] {n} devices x {ACKED_CHANGES} changes, each acknowledged before the next: {pushed} in {wall:.2?} = {:.0} changes/s; latency p50 {:.1?}, p99 {:.1?}; server CPU {server_cpu:.1} s",
        pushed as f64 / wall.as_secs_f64(),
        pct(0.50),
        pct(0.99)
    );
    assert_eq!(
        pushed as usize,
        n * ACKED_CHANGES,
        "every change acknowledged"
    );
    Load {
        per_s: pushed as f64 / wall.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        server_cpu_s: server_cpu,
    }
}

/// One device's pre-made sync traffic: the server it syncs with, its token, its cursor (the
/// one its store holds, then the last one a run of the traffic received), and the changes of
/// each round.
struct Traffic {
    url: String,
    token: String,
    cursor: Mutex<Option<Cursor>>,
    rounds: Vec<Vec<PushRecord>>,
}

/// Makes each device's `rounds` rounds of answers beforehand (acknowledged locally), for
/// [`generate`] to send; device `d` syncs with `url(d)`.
fn pre_made_traffic(
    devices: &mut [(Store, RecordId)],
    rounds: usize,
    url: impl Fn(usize) -> String,
) -> Vec<Traffic> {
    devices
        .iter_mut()
        .enumerate()
        .map(|(d, (store, visit))| {
            let rounds = (0..rounds)
                .map(|round| {
                    answer_round(store, visit, round, &format!("g d{d}"));
                    let pending = store.pending_changes(10).expect("pending");
                    let acked: Vec<_> = pending
                        .iter()
                        .flat_map(|p| p.hashes.iter().map(|h| (p.id.clone(), *h)))
                        .collect();
                    store.acknowledge(&acked).expect("ack locally");
                    pending
                        .into_iter()
                        .map(|p| PushRecord {
                            id: p.id,
                            changes: p.changes.into_iter().map(ByteBuf::from).collect(),
                        })
                        .collect()
                })
                .collect();
            Traffic {
                url: url(d),
                token: store.server_token().expect("token").expect("enrolled"),
                cursor: Mutex::new(store.sync_cursor().expect("cursor")),
                rounds,
            }
        })
        .collect()
}

/// Sends each device's pre-made rounds as sync requests, from one thread per device, closed
/// loop or paced like [`load`], and prints the figures. Each request carries the device's cursor as the device's own
/// sync would (without it every device would first pull its group's records whole): the
/// first the one its store holds or the last run left, each next one the previous response's.
fn generate(traffic: &[Traffic], pids: &[u32], period: Option<Duration>) -> Load {
    let indexed_before = office_index_records(&traffic[0].url);
    let (load, lat) = send_rounds(traffic, pids, period, 0..ROUNDS);
    let indexed = office_index_records(&traffic[0].url) - indexed_before;
    let n = traffic.len();
    let (per_s, server_cpu) = (load.per_s, load.server_cpu_s);
    let changes = n * ROUNDS * CHANGES_PER_ROUND;
    let wall = Duration::from_secs_f64(changes as f64 / per_s);
    let pct = |p: f64| percentile(&lat, p);
    let label = match period {
        None => "3c generator, closed loop".to_string(),
        Some(p) => format!("3d generator, paced: one sync per device every {p:.0?}"),
    };
    let cpu_ms = server_cpu * 1e3 / changes as f64;
    println!(
        "[{label}] {n} devices x {ROUNDS} syncs: {changes} changes in {wall:.2?} = {per_s:.0} changes/s; latency p50 {:.1?}, p99 {:.1?}; server CPU {server_cpu:.2} s = {cpu_ms:.3} ms per change",
        pct(0.50),
        pct(0.99)
    );
    // The index was brought up to date before the phase (`Server::office_catches_up`): what
    // it reads now are the load's visits, when a region's directory build falls in the phase.
    println!("    the office index read {indexed:.0} records whole meanwhile");
    let cpu = format!(
        "CPU per change <= {CPU_PER_CHANGE_TARGET_MS} ms: {}",
        verdict(cpu_ms <= CPU_PER_CHANGE_TARGET_MS)
    );
    match period {
        None => println!(
            "    targets: {cpu}; >= {CLOSED_LOOP_TARGET_PER_S:.0} changes/s: {}; p99 < {CLOSED_LOOP_P99_TARGET:?}: {}",
            verdict(per_s >= CLOSED_LOOP_TARGET_PER_S),
            verdict(pct(0.99) < CLOSED_LOOP_P99_TARGET)
        ),
        Some(_) => println!(
            "    targets: {cpu}; p99 < {PACED_P99_TARGET:?}: {}",
            verdict(pct(0.99) < PACED_P99_TARGET)
        ),
    }
    load
}

/// What the server at `url` counts in `siteproof_office_index_records_total` (0 before the
/// first count).
fn office_index_records(url: &str) -> f64 {
    let page = reqwest::blocking::get(format!("{url}/metrics"))
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.text())
        .expect("the server's metrics");
    page.lines()
        .find_map(|l| l.strip_prefix("siteproof_office_index_records_total "))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

/// Sends rounds `rounds` of each device's pre-made traffic (see [`generate`]) without
/// printing; the load's figures and every request's latency, sorted.
fn send_rounds(
    traffic: &[Traffic],
    pids: &[u32],
    period: Option<Duration>,
    rounds: std::ops::Range<usize>,
) -> (Load, Vec<Duration>) {
    let http = reqwest::blocking::Client::new();
    let latencies = Mutex::new(Vec::new());
    let barrier = Barrier::new(traffic.len());
    let n = traffic.len();
    let servers_cpu = || pids.iter().map(|pid| cpu_seconds(Some(*pid))).sum::<f64>();
    let server_cpu0 = servers_cpu();
    let t = Instant::now();
    let changes: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = traffic
            .iter()
            .enumerate()
            .map(
                |(
                    d,
                    Traffic {
                        url,
                        token,
                        cursor,
                        rounds: made,
                    },
                )| {
                    let (http, latencies, barrier) = (&http, &latencies, &barrier);
                    let range = rounds.clone();
                    scope.spawn(move || {
                        barrier.wait();
                        let start = Instant::now();
                        let mut next: Option<Cursor> = cursor.lock().expect("lock").clone();
                        let mut acked = 0;
                        for (round, push) in made[range].iter().enumerate() {
                            if let Some(period) = period {
                                let due = period.mul_f64(round as f64 + d as f64 / n as f64);
                                if let Some(wait) = due.checked_sub(start.elapsed()) {
                                    std::thread::sleep(wait);
                                }
                            }
                            let body = wire::encode(&SyncRequest {
                                cursor: next.clone(),
                                push: push.clone(),
                                need_full: vec![],
                                max_bytes: 8 << 20,
                                reads: next.as_ref().map(|c| c.reads.clone()).unwrap_or_default(),
                            });
                            let t = Instant::now();
                            let resp = http
                                .post(format!("{url}/v1/sync"))
                                .bearer_auth(token)
                                .header("content-type", wire::CONTENT_TYPE)
                                .body(body)
                                .send()
                                .expect("send");
                            assert!(
                                resp.status().is_success(),
                                "sync refused: {}",
                                resp.status()
                            );
                            let bytes = resp.bytes().expect("body");
                            latencies.lock().expect("lock").push(t.elapsed());
                            let response: SyncResponse = wire::decode(&bytes).expect("decode");
                            acked += response.acked.iter().map(|a| a.hashes.len()).sum::<usize>();
                            next = Some(response.cursor);
                        }
                        *cursor.lock().expect("lock") = next;
                        acked
                    })
                },
            )
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).sum()
    });
    let wall = t.elapsed();
    let server_cpu = servers_cpu() - server_cpu0;
    let mut lat = latencies.into_inner().expect("lock");
    lat.sort();
    assert_eq!(
        changes,
        n * rounds.len() * CHANGES_PER_ROUND,
        "every change acknowledged"
    );
    let pct = |p: f64| percentile(&lat, p);
    let load = Load {
        per_s: changes as f64 / wall.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        server_cpu_s: server_cpu,
    };
    (load, lat)
}

/// Runs `device(d, store, visit, latencies)` for every device at once, one thread each, all
/// started together. Returns the changes they pushed, every latency they recorded (sorted)
/// and the wall time.
fn drive<F>(devices: &mut [(Store, RecordId)], device: F) -> (u64, Vec<Duration>, Duration)
where
    F: Fn(usize, &mut Store, &RecordId, &mut Vec<Duration>) -> u64 + Sync,
{
    let barrier = Barrier::new(devices.len());
    let t = Instant::now();
    let results: Vec<(u64, Vec<Duration>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = devices
            .iter_mut()
            .enumerate()
            .map(|(d, (store, visit))| {
                let (barrier, device) = (&barrier, &device);
                scope.spawn(move || {
                    barrier.wait();
                    let mut latencies = Vec::new();
                    let pushed = device(d, store, visit, &mut latencies);
                    (pushed, latencies)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("device thread"))
            .collect()
    });
    let wall = t.elapsed();
    let pushed = results.iter().map(|(pushed, _)| pushed).sum();
    let mut latencies: Vec<Duration> = results.into_iter().flat_map(|(_, l)| l).collect();
    latencies.sort();
    (pushed, latencies, wall)
}

/// `n` devices in groups of [`GROUP_SIZE`] (made on the first server), device `d` enrolled
/// with `server(d)` and its stores in `dir`, each with a visit it has pushed.
fn visit_devices<'a>(
    n: usize,
    dir: &Path,
    template: &siteproof_core::model::Template,
    server: impl Fn(usize) -> &'a Server,
) -> Vec<(Store, RecordId)> {
    let groups: Vec<GroupId> = (0..n.div_ceil(GROUP_SIZE))
        .map(|g| server(0).group(&format!("组{g}")))
        .collect();
    (0..n)
        .map(|d| {
            let mut s = server(d).enroll(
                &dir.join(format!("dev{d}.db")),
                &groups[d / GROUP_SIZE],
                &format!("d{d}"),
            );
            s.sync().expect("template");
            let v = s
                .create_visit(siteproof_tests::new_visit(template, &format!("现场{d}")))
                .expect("v");
            s.sync().expect("push visit");
            (s, v)
        })
        .collect()
}

/// The `p` quantile of sorted latencies.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// A load round's [`CHANGES_PER_ROUND`] answers on one device's visit, noted `"{tag} r{round}"`.
fn answer_round(store: &mut Store, visit: &RecordId, round: usize, tag: &str) {
    for c in 0..CHANGES_PER_ROUND {
        let item = format!("i{}", (round * CHANGES_PER_ROUND + c) % ANSWERS);
        store
            .answer_item(
                visit,
                &item.parse().expect("item"),
                answer(c, &format!("{tag} r{round}")),
            )
            .expect("answer");
    }
}

fn shm_dir() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

/// The child process: the server on the embedded default, on a free loopback port.
fn serve(dir: &Path, check_whole: bool, database: Database) {
    // As `siteproof serve` does: the allocator's limits (`SYNC_BENCH_GLIBC_DEFAULTS=1` keeps
    // glibc's defaults, to compare).
    if std::env::var_os("SYNC_BENCH_GLIBC_DEFAULTS").is_none() {
        siteproof_server::allocator::limit_retention();
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut config = ServerConfig {
            database,
            ..ServerConfig::default()
        };
        config.sync.check_whole_records = check_whole;
        let state = AppState::open(dir, config).await.expect("open");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("listening {}", listener.local_addr().expect("addr"));
        siteproof_server::serve(listener, state, std::future::pending())
            .await
            .expect("serve");
    });
}
