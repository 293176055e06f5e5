//! `sync-bench --pull N`: a fresh device pulls N visits of 60 answers while it keeps
//! capturing. The device runs in a child process of its own, so its peak RSS is its own; it
//! holds its store the way the app's `SiteproofStore` does (one lock, taken by `sync` for the
//! whole call and by each capture), and a thread of it answers an item every 20 ms all through
//! the pull, timing how long each capture waited for the store.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use siteproof_tests::procstat::{cpu_seconds, peak_rss_kib, reset_peak, rss_kib};

use super::{ANSWERS, Server, answer, verdict};

/// The pull's targets.
const PULL_TARGET: Duration = Duration::from_secs(5);
const CLIENT_RSS_TARGET_MIB: f64 = 150.0;
const CAPTURE_WAIT_TARGET: Duration = Duration::from_millis(100);

/// The parent's side: a server, a seeding device, the pulling device's child process.
pub(super) fn run(visits: usize) {
    let disk = tempfile::tempdir().expect("tempdir");
    let shm = tempfile::tempdir_in(super::shm_dir()).expect("tempdir in /dev/shm");
    let server = Server::start(&disk.path().join("server"), false);
    let template = siteproof_tests::template(ANSWERS);
    server.publish(&template);
    let group = server.group("大组");
    let mut seeder = server.enroll(&shm.path().join("seeder.db"), &group, "seeder");
    seeder.sync().expect("seeder gets the template");

    // The device enrolls and takes the template before the visits exist, so it can capture
    // all through the pull; the visits it then pulls are all new to it.
    // The device is a binary of its own, built with the phone library's allocator (the server
    // here keeps the system's, as `siteproof serve` does).
    let device = std::env::current_exe()
        .expect("exe")
        .with_file_name("pull-device");
    assert!(
        device.exists(),
        "{} is missing: build it with `cargo build --release -p siteproof-tests --bin pull-device`",
        device.display()
    );
    let mut child = Command::new(device)
        .arg(&server.url)
        .arg(server.code(&group))
        .arg(disk.path().join("device.db"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the device");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next_line = || lines.next().expect("a line").expect("read a line");
    assert_eq!(next_line(), "ready", "the device enrolled");

    let t = Instant::now();
    for n in 0..visits {
        let v = seeder
            .create_visit(siteproof_tests::new_visit(&template, &format!("企业{n}")))
            .expect("visit");
        for i in 0..ANSWERS {
            seeder
                .answer_item(
                    &v,
                    &format!("i{i}").parse().expect("item"),
                    answer(i, &format!("{n}-{i}")),
                )
                .expect("answer");
        }
    }
    let pushed = seeder.sync().expect("push");
    println!(
        "seeded and pushed {visits} visits x {ANSWERS} answers ({} changes) in {:.1?}",
        pushed.pushed,
        t.elapsed()
    );
    // The pull starts once the server is idle: what the seeding left it to do (the office
    // index taking in 10,000 new visits) is not the pull's work.
    let settled = settle(server.pid);
    println!("    the server was idle {settled:.1?} after the seeding push");
    let server_before = rss_kib(server.pid);
    reset_peak(server.pid);
    let server_cpu0 = cpu_seconds(Some(server.pid));

    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "go").expect("start the pull");
    let result = next_line();
    let server_cpu = cpu_seconds(Some(server.pid)) - server_cpu0;
    child.wait().ok();
    let fields: Vec<f64> = result
        .split_whitespace()
        .map(|f| f.parse().expect("a number"))
        .collect();
    let [
        pulled,
        held,
        took_ms,
        client_peak_kib,
        wait_max_ms,
        wait_p99_ms,
        captures,
        client_cpu,
    ] = fields[..]
    else {
        panic!("unexpected result line: {result}");
    };
    let took = Duration::from_secs_f64(took_ms / 1e3);
    let client_mib = client_peak_kib / 1024.0;
    let wait_max = Duration::from_secs_f64(wait_max_ms / 1e3);
    println!(
        "[5] fresh device pulled {pulled} records ({held} visits held) in {took:.2?}: target < {PULL_TARGET:?}: {}",
        verdict(held as usize == visits && took < PULL_TARGET)
    );
    println!("    CPU during the pull: the device {client_cpu:.2} s, the server {server_cpu:.2} s");
    println!(
        "    device peak RSS {client_mib:.1} MiB (its own process): target < {CLIENT_RSS_TARGET_MIB} MiB: {}",
        verdict(client_mib < CLIENT_RSS_TARGET_MIB)
    );
    println!(
        "    {captures} captures during the pull waited for the store at most {wait_max:.1?} (p99 {wait_p99_ms:.1} ms): target < {CAPTURE_WAIT_TARGET:?}: {}",
        verdict(wait_max < CAPTURE_WAIT_TARGET)
    );
    println!(
        "    server RSS {server_before} KiB before the pull, peak {} KiB during it, {} KiB after",
        peak_rss_kib(server.pid),
        rss_kib(server.pid)
    );
}

/// Waits until the process `pid` spent at most one clock tick (10 ms) of CPU in half a
/// second (a minute at most); returns how long that took.
pub(crate) fn settle(pid: u32) -> Duration {
    let t = Instant::now();
    let mut before = cpu_seconds(Some(pid));
    while t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(500));
        let now = cpu_seconds(Some(pid));
        if now - before <= 0.01 {
            break;
        }
        before = now;
    }
    t.elapsed()
}
