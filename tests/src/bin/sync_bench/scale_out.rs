//! `sync-bench --scale-out [--rounds N]`: the 100-device load (phase 3c: each device's rounds
//! made beforehand, only the sync requests sent, closed loop) against three layouts in one
//! run: SQLite with one server process, PostgreSQL with one, PostgreSQL with two (device `d`
//! syncs with process `d % 2`, as a balancer would spread them). The three are set up side by
//! side, then take turns: `N` phases (5 unless told) of [`ROUNDS`] syncs per device each, the
//! order rotating from phase to phase, so that what else the machine does moves all three
//! alike. Prints each phase's changes/s and CPU per change, then the medians: changes/s,
//! p50/p99, the servers' and PostgreSQL's CPU per change, statements per sync request, each
//! server's peak RSS, and the median of the phases' ratios of two PostgreSQL processes to one
//! SQLite process (target: at least 1).
//!
//! PostgreSQL: the cluster `SITEPROOF_TEST_DATABASE_URL` names (any database of it; a fresh
//! database is made for each PostgreSQL layout with `psql` and dropped after). Like is compared with
//! like only when that cluster is as durable as the embedded database (an fsync per commit:
//! `synchronous_commit = on`, `fsync = on`), which `scripts/postgres.sh run --durable` starts:
//! `scripts/postgres.sh run --durable target/release/sync-bench --scale-out`. The cluster's
//! settings are printed with the figures; with `pg_stat_statements` loaded (the script loads
//! it), so are the statements each layout ran per sync request.
//!
//! With `--database-host` the cluster runs as on a host of its own (`docs/deploy.md`): its
//! processes, and those it starts later, are pinned to the machine's last core, this bench and
//! the servers it starts to the other cores. The embedded layout then has those other cores,
//! as its one host would; the PostgreSQL layouts have them for their servers and the last core
//! for the database. Without it every party shares every core.

use std::process::Command;

use siteproof_core::{RecordId, Store};
use siteproof_server::storage::Database;
use siteproof_tests::procstat::{cpu_seconds, peak_rss_kib};

use super::{
    ANSWERS, CHANGES_PER_ROUND, DEVICES, Load, ROUNDS, Server, Traffic, pre_made_traffic,
    send_rounds,
};

/// Load phases per layout, interleaved with the other layouts' (`--rounds N` to change):
/// each phase is [`ROUNDS`] syncs per device, and the medians of the phases are compared.
const PHASES: usize = 5;

/// One layout: its servers, devices and pre-made traffic, and the figures of each phase.
struct Layout {
    name: &'static str,
    /// The database's URL and the cluster's postmaster (PostgreSQL only).
    postgres: Option<(String, u32)>,
    /// Whether `pg_stat_statements` counts this layout's statements.
    statements: bool,
    servers: Vec<Server>,
    traffic: Vec<super::Traffic>,
    phases: Vec<Phase>,
    _devices: Vec<(Store, RecordId)>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// One load phase's figures.
struct Phase {
    load: Load,
    /// CPU seconds PostgreSQL's processes spent during the phase (0 on SQLite).
    database_cpu_s: f64,
}

/// Changes sent in one phase.
const PHASE_CHANGES: usize = DEVICES * ROUNDS * CHANGES_PER_ROUND;

impl Layout {
    fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(|s| s.pid).collect()
    }

    /// Sends phase `phase` of the traffic (the next [`ROUNDS`] syncs of every device).
    fn run_phase(&mut self, phase: usize) {
        let database_cpu = || {
            self.postgres
                .as_ref()
                .map_or(0.0, |(_, pm)| cluster_cpu_seconds(*pm))
        };
        let database_cpu0 = database_cpu();
        let (load, _) = send_rounds(
            &self.traffic,
            &self.pids(),
            None,
            phase * ROUNDS..(phase + 1) * ROUNDS,
        );
        let database_cpu_s = database_cpu() - database_cpu0;
        self.phases.push(Phase {
            load,
            database_cpu_s,
        });
    }

    /// Per change: the servers' CPU, PostgreSQL's, in ms, of phase `i`.
    fn cpu_ms(&self, i: usize) -> (f64, f64) {
        let p = &self.phases[i];
        let per = |s: f64| s * 1e3 / PHASE_CHANGES as f64;
        (per(p.load.server_cpu_s), per(p.database_cpu_s))
    }

    fn median(&self, figure: impl Fn(usize) -> f64) -> f64 {
        median((0..self.phases.len()).map(figure).collect())
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Runs the three layouts, their load phases interleaved (the order rotating from phase to
/// phase), and prints each phase and the medians side by side.
pub fn run(args: &[String]) {
    let phases = match args.iter().position(|a| a == "--rounds") {
        Some(at) => args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > 0)
            .expect("--rounds N (N > 0)"),
        None => PHASES,
    };
    let cluster = std::env::var("SITEPROOF_TEST_DATABASE_URL").expect(
        "SITEPROOF_TEST_DATABASE_URL names the PostgreSQL cluster to use \
         (scripts/postgres.sh run target/release/sync-bench --scale-out)",
    );
    let settings = psql(
        &cluster,
        "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
         WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method',
                        'commit_delay', 'shared_buffers', 'shared_preload_libraries')",
    );
    let postmaster = postmaster_pid(&cluster);
    let database_host = args
        .iter()
        .any(|a| a == "--database-host")
        .then(|| DatabaseHost::pin(postmaster));
    let pg1_url = fresh_database(&cluster, "sync_bench_pg1");
    let pg2_url = fresh_database(&cluster, "sync_bench_pg2");
    let rounds = phases * ROUNDS;
    let mut layouts = vec![
        layout("SQLite, 1 process", Database::Embedded, 1, None, rounds),
        layout(
            "PostgreSQL, 1 process",
            pg1_url.parse().expect("a PostgreSQL URL"),
            1,
            Some((pg1_url.clone(), postmaster)),
            rounds,
        ),
        layout(
            "PostgreSQL, 2 processes",
            pg2_url.parse().expect("a PostgreSQL URL"),
            2,
            Some((pg2_url.clone(), postmaster)),
            rounds,
        ),
    ];
    println!(
        "\n== {DEVICES} devices, closed loop, the same pre-made traffic: {phases} phases of {ROUNDS} syncs of {CHANGES_PER_ROUND} changes per device, the layouts taking turns =="
    );
    println!(
        "SQLite: WAL, synchronous=FULL (an fsync of the log per commit, shared by a group commit)"
    );
    println!("PostgreSQL: {}", settings.trim());
    match &database_host {
        Some(host) => println!(
            "cores: PostgreSQL on {} (a database host of its own), the servers and the load generator on {}",
            host.database, host.others
        ),
        None => println!("cores: every party on every core"),
    }
    if settings.contains("fsync=off") || settings.contains("synchronous_commit=off") {
        println!(
            "    NOT like for like: this cluster does not flush its commits, the embedded database \
             does (scripts/postgres.sh run --durable starts one that does)"
        );
    }
    for l in &mut layouts {
        l.statements = l
            .postgres
            .as_ref()
            .is_some_and(|(url, _)| reset_statements(url));
    }
    println!(
        "changes/s (CPU ms per change: servers + PostgreSQL) of each phase, in the order run:"
    );
    for phase in 0..phases {
        let n = layouts.len();
        for k in 0..n {
            layouts[(phase + k) % n].run_phase(phase);
        }
        let cells: Vec<String> = layouts
            .iter()
            .map(|l| {
                let (server, db) = l.cpu_ms(phase);
                format!(
                    "{}: {:.0} ({server:.3} + {db:.3})",
                    l.name, l.phases[phase].load.per_s
                )
            })
            .collect();
        println!(
            "    phase {}: {}; 2 processes / SQLite {:.2}",
            phase + 1,
            cells.join("; "),
            layouts[2].phases[phase].load.per_s / layouts[0].phases[phase].load.per_s
        );
    }
    let requests = DEVICES * rounds;
    for l in &layouts {
        if let (Some((url, _)), true) = (&l.postgres, l.statements) {
            println!("\n== {}: statements ==", l.name);
            print_statements(url, requests);
        }
    }
    println!("\n== medians of {phases} phases ==");
    println!(
        "{:<26} {:>10} {:>9} {:>9} {:>14} {:>14} {:>12} {:>22}",
        "layout",
        "changes/s",
        "p50 ms",
        "p99 ms",
        "server ms/chg",
        "DB ms/chg",
        "stmts/req",
        "server peak RSS MiB"
    );
    for l in &layouts {
        let rss: Vec<String> = l
            .pids()
            .iter()
            .map(|pid| format!("{:.1}", peak_rss_kib(*pid) as f64 / 1024.0))
            .collect();
        let statements = match (&l.postgres, l.statements) {
            (Some((url, _)), true) => format!("{:.2}", statements_per_request(url, requests)),
            _ => "-".into(),
        };
        println!(
            "{:<26} {:>10.0} {:>9.1} {:>9.1} {:>14.3} {:>14.3} {:>12} {:>22}",
            l.name,
            l.median(|i| l.phases[i].load.per_s),
            l.median(|i| l.phases[i].load.p50.as_secs_f64() * 1e3),
            l.median(|i| l.phases[i].load.p99.as_secs_f64() * 1e3),
            l.median(|i| l.cpu_ms(i).0),
            l.median(|i| l.cpu_ms(i).1),
            statements,
            rss.join(" + ")
        );
    }
    let ratio_of = |layout: usize| {
        median(
            (0..phases)
                .map(|i| layouts[layout].phases[i].load.per_s / layouts[0].phases[i].load.per_s)
                .collect(),
        )
    };
    let ratio = ratio_of(2);
    println!(
        "PostgreSQL with 2 processes / SQLite with 1, median of the phases' ratios: {ratio:.2}x changes/s (target >= 1: {}); PostgreSQL 1 process / SQLite: {:.2}x",
        super::verdict(ratio >= 1.0),
        ratio_of(1)
    );
    drop(layouts);
    drop(database_host);
    for name in ["sync_bench_pg1", "sync_bench_pg2"] {
        psql(
            &cluster,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
    }
}

/// Makes a fresh database `name` in the cluster; its URL.
fn fresh_database(cluster: &str, name: &str) -> String {
    psql(
        cluster,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    psql(cluster, &format!("CREATE DATABASE {name}"));
    let (server, query) = match cluster.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (cluster, String::new()),
    };
    let (server, _) = server
        .rsplit_once('/')
        .expect("a database in the cluster's URL");
    format!("{server}/{name}{query}")
}

/// Runs `sql` with `psql`; its output (unaligned, tuples only).
fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-qAt", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The cluster's postmaster: the parent of its checkpointer (a backend's would exit with
/// the `psql` that asked).
fn postmaster_pid(cluster: &str) -> u32 {
    let checkpointer: u32 = psql(
        cluster,
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'",
    )
    .trim()
    .parse()
    .expect("the checkpointer's pid");
    parent_pid(checkpointer).expect("the checkpointer's parent")
}

fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the parenthesised command name: state, then the parent's pid.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds of the cluster's processes running now: the postmaster and its children
/// (other clusters on the machine are not counted).
fn cluster_cpu_seconds(postmaster: u32) -> f64 {
    cluster_pids(postmaster)
        .into_iter()
        .map(|pid| cpu_seconds(Some(pid)))
        .sum()
}

/// The cluster pinned to a core of its own (see the top of this file); unpinned when dropped.
struct DatabaseHost {
    postmaster: u32,
    /// The database's core, and the others, as `taskset` lists.
    database: String,
    others: String,
    all: String,
}

impl DatabaseHost {
    /// Pins the cluster of `postmaster` to the last core and this process to the others.
    fn pin(postmaster: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert!(
            cores >= 2,
            "--database-host needs two cores at least (one for the database)"
        );
        let host = Self {
            postmaster,
            database: (cores - 1).to_string(),
            others: match cores {
                2 => "0".to_string(),
                _ => format!("0-{}", cores - 2),
            },
            all: format!("0-{}", cores - 1),
        };
        for pid in cluster_pids(postmaster) {
            taskset(&host.database, pid);
        }
        // The servers are started after this, and inherit it.
        taskset(&host.others, std::process::id());
        host
    }
}

impl Drop for DatabaseHost {
    fn drop(&mut self) {
        for pid in cluster_pids(self.postmaster) {
            taskset(&self.all, pid);
        }
        taskset(&self.all, std::process::id());
    }
}

/// Sets the cores every thread of process `pid` may run on (`taskset -a -p -c`); a process
/// gone meanwhile is skipped.
fn taskset(cores: &str, pid: u32) {
    let out = Command::new("taskset")
        .args(["-a", "-p", "-c", cores, &pid.to_string()])
        .output()
        .expect("run taskset (util-linux)");
    if !out.status.success() && std::path::Path::new(&format!("/proc/{pid}")).exists() {
        panic!(
            "taskset -c {cores} {pid}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The cluster's processes running now: the postmaster and its children.
fn cluster_pids(postmaster: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid == postmaster || parent_pid(*pid) == Some(postmaster))
        .collect()
}

/// Whether `pg_stat_statements` is loaded in the cluster of `url`; if so, makes its view in
/// that database and empties it.
fn reset_statements(url: &str) -> bool {
    let loaded = psql(url, "SHOW shared_preload_libraries").contains("pg_stat_statements");
    if loaded {
        psql(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        psql(url, "SELECT pg_stat_statements_reset()");
    }
    loaded
}

/// The statements run in `url`'s database since [`reset_statements`], per sync request.
fn statements_per_request(url: &str, requests: usize) -> f64 {
    let calls: f64 = psql(
        url,
        "SELECT COALESCE(SUM(calls), 0) FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query NOT LIKE '%pg_stat_statements%'",
    )
    .trim()
    .parse()
    .unwrap_or(0.0);
    calls / requests as f64
}

/// The statements run in `url`'s database since [`reset_statements`], per sync request:
/// calls, rows and time, the costliest first.
fn print_statements(url: &str, requests: usize) {
    let n = requests as f64;
    let rows = psql(
        url,
        "SELECT calls, rows, total_exec_time, regexp_replace(query, '\\s+', ' ', 'g')
         FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query NOT LIKE '%pg_stat_statements%'
         ORDER BY total_exec_time DESC",
    );
    let (mut calls_total, mut ms_total) = (0.0, 0.0);
    let mut lines = Vec::new();
    for line in rows.lines() {
        let mut f = line.splitn(4, '|');
        let mut num = || f.next().and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let (calls, rows, ms) = (num(), num(), num());
        let query: String = f.next().unwrap_or("").chars().take(90).collect();
        calls_total += calls;
        ms_total += ms;
        lines.push(format!(
            "    {:>7.2} {:>8.2} {:>9.3} {:>8.3}  {query}",
            calls / n,
            rows / calls.max(1.0),
            ms / n,
            ms / calls.max(1.0)
        ));
    }
    println!(
        "    statements per sync request: {:.2} calls, {:.3} ms of execution; the costliest:",
        calls_total / n,
        ms_total / n
    );
    println!("    calls/req rows/call ms/req  ms/call  statement");
    for l in lines.iter().take(12) {
        println!("{l}");
    }
}

/// `processes` server processes on `database`, [`DEVICES`] devices spread over them (device
/// `d` on process `d % processes`), each with `rounds` rounds of traffic made beforehand.
/// With `postgres` (the database's URL and the cluster's postmaster), PostgreSQL's CPU and
/// statements are measured too.
fn layout(
    name: &'static str,
    database: Database,
    processes: usize,
    postgres: Option<(String, u32)>,
    rounds: usize,
) -> Layout {
    println!("== setting up {name} ==");
    let disk = tempfile::tempdir().expect("tempdir");
    let shm = tempfile::tempdir_in(super::shm_dir()).expect("tempdir in /dev/shm");
    // With the embedded database every process would be one file's: one process only.
    assert!(processes == 1 || !database.is_embedded());
    let servers: Vec<Server> = (0..processes)
        .map(|p| Server::start_on(&disk.path().join(format!("server{p}")), false, &database))
        .collect();
    let template = siteproof_tests::template(ANSWERS);
    servers[0].publish(&template);
    let mut devices =
        super::visit_devices(DEVICES, shm.path(), &template, |d| &servers[d % processes]);
    let traffic: Vec<Traffic> =
        pre_made_traffic(&mut devices, rounds, |d| servers[d % processes].url.clone());
    Layout {
        name,
        postgres,
        statements: false,
        servers,
        traffic,
        phases: Vec::new(),
        _devices: devices,
        _dirs: (disk, shm),
    }
}
