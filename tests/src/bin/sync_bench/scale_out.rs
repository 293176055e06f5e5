//! `sync-bench --scale-out`: the 100-device load (phase 3c: each device's rounds made
//! beforehand, only the sync requests sent, closed loop) against three layouts in one run:
//! SQLite with one server process, PostgreSQL with one, PostgreSQL with two (device `d` syncs
//! with process `d % 2`, as a balancer would spread them). Prints changes/s, p50/p99, the
//! servers' and PostgreSQL's CPU per change, each server's peak RSS, and the ratio of two PostgreSQL
//! processes to one SQLite process (target: at least 1).
//!
//! PostgreSQL: the cluster `SITEPROOF_TEST_DATABASE_URL` names (any database of it; a fresh
//! database is made for each layout with `psql` and dropped after). Like is compared with
//! like only when that cluster is as durable as the embedded database (an fsync per commit:
//! `synchronous_commit = on`, `fsync = on`), which `scripts/postgres.sh run --durable` starts:
//! `scripts/postgres.sh run --durable target/release/sync-bench --scale-out`. The cluster's
//! settings are printed with the figures; with `pg_stat_statements` loaded (the script loads
//! it), so are the statements each layout ran per sync request.

use std::process::Command;

use siteproof_core::{RecordId, Store};
use siteproof_server::storage::Database;
use siteproof_tests::procstat::{cpu_seconds, peak_rss_kib};

use super::{ANSWERS, DEVICES, GROUP_SIZE, Load, Server, generate, pre_made_traffic};

/// One layout's figures.
struct Layout {
    name: &'static str,
    load: Load,
    /// CPU seconds PostgreSQL's processes spent during the load (0 on SQLite).
    database_cpu_s: f64,
    peak_rss_kib: Vec<u64>,
}

/// Runs the three layouts and prints them side by side.
pub fn run() {
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
    let sqlite = layout("SQLite, 1 process", Database::Embedded, 1, None);
    let pg1 = on_fresh_database(&cluster, "sync_bench_pg1", |db, url| {
        layout("PostgreSQL, 1 process", db, 1, Some((url, postmaster)))
    });
    let pg2 = on_fresh_database(&cluster, "sync_bench_pg2", |db, url| {
        layout("PostgreSQL, 2 processes", db, 2, Some((url, postmaster)))
    });
    println!("\n== {DEVICES} devices, closed loop, the same pre-made traffic ==");
    println!(
        "SQLite: WAL, synchronous=FULL (an fsync of the log per commit, shared by a group commit)"
    );
    println!("PostgreSQL: {}", settings.trim());
    if settings.contains("fsync=off") || settings.contains("synchronous_commit=off") {
        println!(
            "    NOT like for like: this cluster does not flush its commits, the embedded database \
             does (scripts/postgres.sh run --durable starts one that does)"
        );
    }
    println!(
        "{:<26} {:>10} {:>9} {:>9} {:>12} {:>14} {:>22}",
        "layout",
        "changes/s",
        "p50 ms",
        "p99 ms",
        "CPU ms/chg",
        "DB CPU ms/chg",
        "server peak RSS MiB"
    );
    let changes = (DEVICES * super::ROUNDS * super::CHANGES_PER_ROUND) as f64;
    for l in [&sqlite, &pg1, &pg2] {
        let rss: Vec<String> = l
            .peak_rss_kib
            .iter()
            .map(|k| format!("{:.1}", *k as f64 / 1024.0))
            .collect();
        println!(
            "{:<26} {:>10.0} {:>9.1} {:>9.1} {:>12.3} {:>14.3} {:>22}",
            l.name,
            l.load.per_s,
            l.load.p50.as_secs_f64() * 1e3,
            l.load.p99.as_secs_f64() * 1e3,
            l.load.server_cpu_s * 1e3 / changes,
            l.database_cpu_s * 1e3 / changes,
            rss.join(" + ")
        );
    }
    let ratio = pg2.load.per_s / sqlite.load.per_s;
    println!(
        "PostgreSQL with 2 processes / SQLite with 1: {ratio:.2}x changes/s (target >= 1: {}); PostgreSQL 1 process / SQLite: {:.2}x",
        super::verdict(ratio >= 1.0),
        pg1.load.per_s / sqlite.load.per_s
    );
}

/// Makes database `name` in the cluster, runs `work` on it (given its URL too), drops it.
fn on_fresh_database(
    cluster: &str,
    name: &str,
    work: impl FnOnce(Database, &str) -> Layout,
) -> Layout {
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
    let url = format!("{server}/{name}{query}");
    let figures = work(url.parse().expect("a PostgreSQL URL"), &url);
    psql(
        cluster,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    figures
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
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid == postmaster || parent_pid(*pid) == Some(postmaster))
        .map(|pid| cpu_seconds(Some(pid)))
        .sum()
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

/// `processes` server processes on `database`, [`DEVICES`] devices spread over them, the
/// load generator's closed loop.
/// With `postgres` (the database's URL and the cluster's postmaster), PostgreSQL's CPU and
/// statements are measured too.
fn layout(
    name: &'static str,
    database: Database,
    processes: usize,
    postgres: Option<(&str, u32)>,
) -> Layout {
    println!("\n== {name} ==");
    let disk = tempfile::tempdir().expect("tempdir");
    let shm = tempfile::tempdir_in(super::shm_dir()).expect("tempdir in /dev/shm");
    // With the embedded database every process would be one file's: one process only.
    assert!(processes == 1 || !database.is_embedded());
    let servers: Vec<Server> = (0..processes)
        .map(|p| Server::start_on(&disk.path().join(format!("server{p}")), false, &database))
        .collect();
    let template = siteproof_tests::template(ANSWERS);
    servers[0].publish(&template);
    let groups: Vec<_> = (0..DEVICES / GROUP_SIZE)
        .map(|g| servers[0].group(&format!("组{g}")))
        .collect();
    let mut devices: Vec<(Store, RecordId)> = (0..DEVICES)
        .map(|d| {
            let server = &servers[d % processes];
            let mut s = server.enroll(
                &shm.path().join(format!("dev{d}.db")),
                &groups[d / GROUP_SIZE],
                &format!("d{d}"),
            );
            s.sync().expect("template");
            let v = s
                .create_visit(siteproof_tests::new_visit(&template, &format!("现场{d}")))
                .expect("v");
            s.sync().expect("push visit");
            (s, v)
        })
        .collect();
    let traffic = pre_made_traffic(&mut devices, |d| servers[d % processes].url.clone());
    let pids: Vec<u32> = servers.iter().map(|s| s.pid).collect();
    let statements = postgres.is_some_and(|(url, _)| reset_statements(url));
    let database_cpu = || postgres.map_or(0.0, |(_, pm)| cluster_cpu_seconds(pm));
    let database_cpu0 = database_cpu();
    let load = generate(&traffic, &pids, None);
    let database_cpu_s = database_cpu() - database_cpu0;
    if let (Some((url, _)), true) = (postgres, statements) {
        print_statements(url, DEVICES * super::ROUNDS);
    }
    let peak_rss_kib = pids.iter().map(|pid| peak_rss_kib(*pid)).collect();
    drop(servers);
    drop(devices);
    Layout {
        name,
        load,
        database_cpu_s,
        peak_rss_kib,
    }
}
