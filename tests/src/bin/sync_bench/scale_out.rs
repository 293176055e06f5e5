//! `sync-bench --scale-out`: the 100-device load (phase 3c: each device's rounds made
//! beforehand, only the sync requests sent, closed loop) against three layouts in one run:
//! SQLite with one server process, PostgreSQL with one, PostgreSQL with two (device `d` syncs
//! with process `d % 2`, as a balancer would spread them). Prints changes/s, p50/p99, the
//! servers' and PostgreSQL's CPU per change, each server's peak RSS, and the ratio of two PostgreSQL
//! processes to one SQLite process (target: at least 1).
//!
//! PostgreSQL: the cluster `SITEPROOF_TEST_DATABASE_URL` names (any database of it; a fresh
//! database is made for each layout with `psql` and dropped after). With a throwaway cluster:
//! `scripts/postgres.sh run target/release/sync-bench --scale-out`.

use std::process::Command;

use siteproof_core::{RecordId, Store};
use siteproof_server::storage::Database;
use siteproof_tests::procstat::{cpu_seconds_named, peak_rss_kib};

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
    let sqlite = layout("SQLite, 1 process", Database::Embedded, 1);
    let pg1 = on_fresh_database(&cluster, "sync_bench_pg1", |db| {
        layout("PostgreSQL, 1 process", db, 1)
    });
    let pg2 = on_fresh_database(&cluster, "sync_bench_pg2", |db| {
        layout("PostgreSQL, 2 processes", db, 2)
    });
    println!("\n== {DEVICES} devices, closed loop, the same pre-made traffic ==");
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

/// Makes database `name` in the cluster, runs `work` on it, drops it.
fn on_fresh_database(cluster: &str, name: &str, work: impl FnOnce(Database) -> Layout) -> Layout {
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
    let figures = work(url.parse().expect("a PostgreSQL URL"));
    psql(
        cluster,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    figures
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args(["-qAt", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `processes` server processes on `database`, [`DEVICES`] devices spread over them, the
/// load generator's closed loop.
fn layout(name: &'static str, database: Database, processes: usize) -> Layout {
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
    let database_cpu0 = cpu_seconds_named("postgres");
    let load = generate(&traffic, &pids, None);
    let database_cpu_s = cpu_seconds_named("postgres") - database_cpu0;
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
