//! Soak bench (not run by CI). The server runs in a child process of its own (this binary
//! re-executed with `--role server`); this process plays `--devices` devices that capture,
//! sync and upload a new clip in a loop, while other loopback addresses flood the back-office
//! login with wrong passwords (127.0.0.2) and hold slow connections that trickle a body or
//! half a head (127.0.0.3).
//!
//! Every `--every` seconds (default 30) it prints one row: seconds since the devices started,
//! the server process's resident set and its peak so far (VmRSS, VmHWM from
//! `/proc/<pid>/status`), this (client) process's resident set (devices and floods), syncs,
//! uploads, device errors, slow connections the server closed, and the login answers by HTTP
//! status (`err` = no answer). At the end: the server's RSS at the first row after the
//! warm-up (`--warmup` seconds, default 120, at most a quarter of the run) against its min
//! and max over the run's second half, the totals, and every distinct device error. Then the
//! verdict on the server's memory: its RSS at 5 minutes and at the end, the slope of a
//! least-squares line through the second half's samples (MiB per 10 minutes), and FLAT or
//! GROWING as that line rises over the second half by at most `--max-growth-mib` (default 8)
//! or more. Exits 1 if a device saw an error, the server process died, or its RSS grew.
//!
//! Run: `cargo build --release -p siteproof-tests --bin soak` then
//! `target/release/soak --devices 50 --seconds 1800` (or `--minutes 30`); the same flags after
//! `cargo run --release -p siteproof-tests --bin soak --`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use siteproof_core::SyncClient;
use siteproof_core::media::Network;
use siteproof_server::backoffice::Role;
use siteproof_tests::procstat::{peak_rss_kib, rss_kib};
use siteproof_tests::server::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
struct Counts {
    syncs: AtomicU64,
    uploads: AtomicU64,
    device_errors: AtomicU64,
    slow_closed: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    logins: Mutex<BTreeMap<u16, u64>>,
}

impl Counts {
    fn error(&self, what: String) {
        self.device_errors.fetch_add(1, Ordering::Relaxed);
        *self.errors.lock().expect("errors").entry(what).or_default() += 1;
    }

    /// `401:12 429:3400 err:1`: login answers by status.
    fn logins(&self) -> String {
        let logins = self.logins.lock().expect("logins");
        let parts: Vec<String> = logins
            .iter()
            .map(|(status, n)| match status {
                0 => format!("err:{n}"),
                s => format!("{s}:{n}"),
            })
            .collect();
        if parts.is_empty() {
            "-".into()
        } else {
            parts.join(" ")
        }
    }
}

/// One printed row's memory figures, in KiB.
struct Sample {
    t_s: u64,
    server_rss: u64,
    server_hwm: u64,
    client_rss: u64,
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--role") {
        assert_eq!(
            args.get(2).map(String::as_str),
            Some("server"),
            "--role server DIR"
        );
        let dir = args.get(3).expect("--role server DIR");
        // As `siteproof serve` does: the allocator's limits.
        siteproof_server::allocator::limit_retention();
        return serve(Path::new(dir), arg("--devices", 50) as usize);
    }
    if !run() {
        std::process::exit(1);
    }
}

/// The child: a server on a free loopback port with a template, an office account and one
/// enrollment code per device (five devices a group). Prints `code <n> <code>` per device,
/// then `listening <addr>`; stops gracefully when its stdin closes (the parent ended).
fn serve(dir: &Path, devices: usize) {
    let server = TestServer::start(dir);
    server.publish_template(&siteproof_tests::template(3));
    server.office_user("chief", Role::Admin);
    for g in 0..devices.div_ceil(5) {
        let group = server.create_group(&format!("组{g}"));
        for d in g * 5..(g * 5 + 5).min(devices) {
            println!("code {d} {}", server.enrollment_code(&group));
        }
    }
    println!("listening {}", server.addr());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.stop();
}

/// The server child, its address and the enrollment codes it printed.
fn start_server(dir: &Path, devices: usize) -> (Child, ChildStdin, SocketAddr, Vec<String>) {
    let mut child = Command::new(std::env::current_exe().expect("this binary"))
        .args(["--role", "server"])
        .arg(dir)
        .args(["--devices", &devices.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server process");
    let stdin = child.stdin.take().expect("stdin");
    let mut codes = vec![String::new(); devices];
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let line = line.expect("server line");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["code", d, code] => codes[d.parse::<usize>().expect("device")] = (*code).into(),
            ["listening", addr] => return (child, stdin, addr.parse().expect("addr"), codes),
            _ => panic!("unexpected server line {line:?}"),
        }
    }
    panic!("the server process ended before listening");
}

/// The soak; `true` if no device saw an error and the server lived to the end.
fn run() -> bool {
    let devices = arg("--devices", 50) as usize;
    let seconds = arg("--seconds", arg("--minutes", 30) * 60);
    let every = Duration::from_secs(arg("--every", 30));
    let max_growth_mib = arg("--max-growth-mib", 8) as f64;
    let warmup = arg("--warmup", 120).min(seconds / 4);
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, child_stdin, addr, codes) = start_server(&dir.path().join("server"), devices);
    let (pid, url) = (child.id(), format!("http://{addr}"));
    println!(
        "soak: {devices} devices for {seconds} s against {url}: server pid {pid}, clients pid {}",
        std::process::id()
    );
    let template = siteproof_tests::template(3);
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut stores = Vec::new();
    for (d, code) in codes.iter().enumerate() {
        let name = format!("检查员{d}");
        let mut store =
            siteproof_tests::open_store(&dir.path().join(format!("device{d}.db")), &name);
        SyncClient::new(&url)
            .expect("client")
            .enroll(&mut store, code, &name)
            .expect("enroll");
        store.sync().expect("first sync");
        stores.push(store);
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for (d, mut store) in stores.into_iter().enumerate() {
        let media = store
            .media_store(dir.path().join(format!("media{d}")))
            .expect("media");
        let (counts, stop, template) = (Arc::clone(&counts), Arc::clone(&stop), template.clone());
        let clip = dir.path().join(format!("clip{d}.mp4"));
        workers.push(std::thread::spawn(move || {
            let mut round = 0u32;
            while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                round += 1;
                let visit = match store.create_visit(siteproof_tests::new_visit(&template, "工地"))
                {
                    Ok(v) => v,
                    Err(e) => return counts.error(format!("capture: {e}")),
                };
                siteproof_tests::finding(&mut store, &visit, "消防通道堵塞");
                // A clip of a size no other device or round uses: a new file each time. Small
                // and slow-growing, as device and server keep every one (a 30-minute run
                // stores ~90,000 on each side).
                let len = 16_000 + round * devices as u32 + d as u32;
                siteproof_tests::attach_clip(&mut store, &media, &visit, &clip, len);
                match store.sync() {
                    Ok(_) => counts.syncs.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        counts.error(format!("sync: {e}"));
                        continue;
                    }
                };
                let cancel = AtomicBool::new(false);
                match store.upload(&media, Network::Unmetered, &cancel, &mut |_| {}) {
                    Ok(run) if run.deferred.is_empty() && run.failed.is_empty() => {
                        counts
                            .uploads
                            .fetch_add(run.completed.len() as u64, Ordering::Relaxed);
                    }
                    Ok(run) => counts.error(format!(
                        "upload: deferred {:?} failed {:?}",
                        run.deferred, run.failed
                    )),
                    Err(e) => counts.error(format!("upload: {e}")),
                }
            }
        }));
    }
    let login = {
        let (counts, stop, url) = (Arc::clone(&counts), Arc::clone(&stop), url.clone());
        std::thread::spawn(move || login_flood(&url, &counts, &stop))
    };
    let slow = {
        let (counts, stop) = (Arc::clone(&counts), Arc::clone(&stop));
        std::thread::spawn(move || slow_flood(addr, counts, stop))
    };

    let started = Instant::now();
    let mut samples = Vec::new();
    let mut server_died = None;
    println!(
        "{:>6} {:>11} {:>11} {:>11} {:>7} {:>7} {:>10} {:>11}  logins(status:n)",
        "t_s",
        "srv_rss_mib",
        "srv_hwm_mib",
        "cli_rss_mib",
        "syncs",
        "uploads",
        "dev_errors",
        "slow_closed"
    );
    while Instant::now() < deadline {
        std::thread::sleep(every.min(deadline.saturating_duration_since(Instant::now())));
        samples.push(report(&counts, started, pid));
        if let Ok(Some(status)) = child.try_wait() {
            println!("the server process ended: {status}");
            server_died = Some(status);
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let _ = login.join();
    let _ = slow.join();
    if server_died.is_none() {
        samples.push(report(&counts, started, pid));
    }
    summary(&samples, seconds, warmup, &counts);
    let flat = verdict(&samples, seconds, max_growth_mib);
    // A closed stdin asks the server to shut down gracefully; it gets 30 s.
    drop(child_stdin);
    let asked = Instant::now();
    while child.try_wait().ok().flatten().is_none() && asked.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    match child.try_wait().ok().flatten() {
        Some(status) => println!("server process ended: {status}"),
        None => {
            println!("server process did not stop within 30 s: killed");
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    server_died.is_none() && counts.device_errors.load(Ordering::Relaxed) == 0 && flat
}

/// The server's RSS at 5 minutes and at the end, the slope of its second half and whether
/// it stayed within `max_growth_mib` over that half; `true` if it did.
fn verdict(samples: &[Sample], seconds: u64, max_growth_mib: f64) -> bool {
    let live: Vec<&Sample> = samples.iter().filter(|s| s.server_rss > 0).collect();
    if let Some(at5) = live.iter().find(|s| s.t_s >= 300) {
        println!(
            "server RSS at 5 min (t={} s): {:.1} MiB",
            at5.t_s,
            mib(at5.server_rss)
        );
    }
    if let Some(end) = live.last() {
        println!(
            "server RSS at the end (t={} s): {:.1} MiB",
            end.t_s,
            mib(end.server_rss)
        );
    }
    let half: Vec<(f64, f64)> = live
        .iter()
        .filter(|s| s.t_s >= seconds / 2)
        .map(|s| (s.t_s as f64, mib(s.server_rss)))
        .collect();
    let Some(slope) = slope(&half) else {
        println!("memory: GROWING? too few samples in the second half to tell");
        return false;
    };
    let span = half.last().map_or(0.0, |l| l.0) - half[0].0;
    let growth = slope * span;
    let flat = growth <= max_growth_mib;
    println!(
        "server RSS over the second half (t>={} s, {} samples): {:+.2} MiB per 10 min, \
         {:+.1} MiB over {:.0} s: {} (limit {max_growth_mib} MiB)",
        seconds / 2,
        half.len(),
        slope * 600.0,
        growth,
        span,
        if flat { "FLAT" } else { "GROWING" },
    );
    flat
}

/// The slope of the least-squares line through `points` (y per x), if there are two x's.
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (points.len() >= 2 && sxx > 0.0).then(|| sxy / sxx)
}

fn report(counts: &Counts, started: Instant, server_pid: u32) -> Sample {
    let sample = Sample {
        t_s: started.elapsed().as_secs(),
        server_rss: rss_kib(server_pid),
        server_hwm: peak_rss_kib(server_pid),
        client_rss: rss_kib(std::process::id()),
    };
    println!(
        "{:>6} {:>11.1} {:>11.1} {:>11.1} {:>7} {:>7} {:>10} {:>11}  {}",
        sample.t_s,
        mib(sample.server_rss),
        mib(sample.server_hwm),
        mib(sample.client_rss),
        counts.syncs.load(Ordering::Relaxed),
        counts.uploads.load(Ordering::Relaxed),
        counts.device_errors.load(Ordering::Relaxed),
        counts.slow_closed.load(Ordering::Relaxed),
        counts.logins(),
    );
    sample
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The server's RSS after the warm-up against its second half, the totals, the errors.
fn summary(samples: &[Sample], seconds: u64, warmup: u64, counts: &Counts) {
    println!("== summary ==");
    let live: Vec<&Sample> = samples.iter().filter(|s| s.server_rss > 0).collect();
    let base = live.iter().find(|s| s.t_s >= warmup);
    let half: Vec<&Sample> = live
        .iter()
        .copied()
        .filter(|s| s.t_s >= seconds / 2)
        .collect();
    let min = half.iter().min_by_key(|s| s.server_rss);
    let max = half.iter().max_by_key(|s| s.server_rss);
    if let (Some(first), Some(last)) = (live.first(), live.last()) {
        println!(
            "server RSS: first {:.1} MiB (t={} s), last {:.1} MiB (t={} s), peak (VmHWM) {:.1} MiB",
            mib(first.server_rss),
            first.t_s,
            mib(last.server_rss),
            last.t_s,
            mib(last.server_hwm),
        );
    }
    if let (Some(base), Some(min), Some(max)) = (base, min, max) {
        let change = |s: &Sample| {
            100.0 * (s.server_rss as f64 - base.server_rss as f64) / base.server_rss as f64
        };
        println!(
            "server RSS after warm-up (t={} s): {:.1} MiB; second half (t>={} s): min {:.1} MiB \
             ({:+.1}%), max {:.1} MiB ({:+.1}%)",
            base.t_s,
            mib(base.server_rss),
            seconds / 2,
            mib(min.server_rss),
            change(min),
            mib(max.server_rss),
            change(max),
        );
    }
    if let (Some(first), Some(last), Some(peak)) = (
        samples.first(),
        samples.last(),
        samples.iter().max_by_key(|s| s.client_rss),
    ) {
        println!(
            "client RSS: first {:.1} MiB, last {:.1} MiB, max {:.1} MiB",
            mib(first.client_rss),
            mib(last.client_rss),
            mib(peak.client_rss),
        );
    }
    println!(
        "syncs {}, uploads {}, slow connections closed {}, login answers {}",
        counts.syncs.load(Ordering::Relaxed),
        counts.uploads.load(Ordering::Relaxed),
        counts.slow_closed.load(Ordering::Relaxed),
        counts.logins(),
    );
    let errors = counts.errors.lock().expect("errors");
    println!(
        "device errors: {}",
        counts.device_errors.load(Ordering::Relaxed)
    );
    for (what, n) in errors.iter() {
        println!("  {n} x {what}");
    }
}

/// Wrong passwords for a real account from 127.0.0.2, eight at a time.
fn login_flood(url: &str, counts: &Counts, stop: &AtomicBool) {
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let client = reqwest::blocking::Client::builder()
                    .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("client");
                while !stop.load(Ordering::Relaxed) {
                    let answer = client
                        .post(format!("{url}/office/login"))
                        .header("cookie", "sp_login_csrf=flood")
                        .form(&[("csrf", "flood"), ("login", "chief"), ("password", "guess")])
                        .send();
                    let status = answer.map(|r| r.status().as_u16()).unwrap_or(0);
                    *counts
                        .logins
                        .lock()
                        .expect("logins")
                        .entry(status)
                        .or_default() += 1;
                }
            });
        }
    });
}

/// 200 connections from 127.0.0.3, half sending half a head, half a body one byte every 2 s;
/// each one the server closes is counted and opened again.
fn slow_flood(addr: SocketAddr, counts: Arc<Counts>, stop: Arc<AtomicBool>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..200 {
            let (counts, stop) = (Arc::clone(&counts), Arc::clone(&stop));
            tasks.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if slow_connection(addr, i % 2 == 0, &stop).await {
                        counts.slow_closed.fetch_add(1, Ordering::Relaxed);
                    } else {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    });
}

/// One slow connection until the server closes it (`true`) or it cannot be opened.
async fn slow_connection(addr: SocketAddr, half_head: bool, stop: &AtomicBool) -> bool {
    let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
        return false;
    };
    if socket.bind("127.0.0.3:0".parse().expect("addr")).is_err() {
        return false;
    }
    let Ok(mut conn) = socket.connect(addr).await else {
        return false;
    };
    let head: &[u8] = if half_head {
        b"POST /v1/sync HTTP/1.1\r\nHost: soak\r\n"
    } else {
        b"POST /v1/sync HTTP/1.1\r\nHost: soak\r\nContent-Length: 100000\r\n\r\n"
    };
    if conn.write_all(head).await.is_err() {
        return true;
    }
    let mut buf = [0u8; 512];
    loop {
        tokio::select! {
            read = conn.read(&mut buf) => {
                if matches!(read, Ok(0) | Err(_)) {
                    return true;
                }
            }
            () = tokio::time::sleep(Duration::from_secs(2)) => {
                if stop.load(Ordering::Relaxed) {
                    return false;
                }
                if conn.write_all(b"x").await.is_err() {
                    return true;
                }
            }
        }
    }
}
