//! Soak bench (not run by CI): `--devices` devices capture, sync and upload in a loop while
//! other loopback addresses flood the back-office login (127.0.0.2) and hold slow connections
//! that trickle a body or half a head (127.0.0.3). Prints, every `--every` seconds, the
//! process's RSS (server and clients share this process), the devices' syncs, uploads and
//! errors, the login answers and how many slow connections the server closed; then every
//! distinct device error.
//!
//! Run: `cargo run -p siteproof-tests --bin soak -- --devices 50 --minutes 30`
//! (`--seconds N` for a short run; a release build gives figures closer to production).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use siteproof_core::media::Network;
use siteproof_server::backoffice::Role;
use siteproof_tests::procstat::rss_kib;
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
    let devices = arg("--devices", 50) as usize;
    let seconds = arg("--seconds", arg("--minutes", 30) * 60);
    let every = Duration::from_secs(arg("--every", 10));
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(&dir.path().join("server"));
    let template = siteproof_tests::template(3);
    server.publish_template(&template);
    server.office_user("chief", Role::Admin);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    println!(
        "soak: {devices} devices for {seconds} s against {}",
        server.url()
    );

    let groups: Vec<_> = (0..devices.div_ceil(5))
        .map(|g| server.create_group(&format!("组{g}")))
        .collect();
    let mut workers = Vec::new();
    for d in 0..devices {
        let group = groups[d / 5].clone();
        let path = dir.path().join(format!("device{d}.db"));
        let mut store = server.enroll_store(&group, &path, &format!("检查员{d}"));
        let media = store
            .media_store(dir.path().join(format!("media{d}")))
            .expect("media");
        let (counts, template) = (Arc::clone(&counts), template.clone());
        let clip = dir.path().join(format!("clip{d}.mp4"));
        workers.push(std::thread::spawn(move || {
            let mut round = 0u32;
            while Instant::now() < deadline {
                round += 1;
                let visit = match store.create_visit(siteproof_tests::new_visit(&template, "工地"))
                {
                    Ok(v) => v,
                    Err(e) => return counts.error(format!("capture: {e}")),
                };
                siteproof_tests::finding(&mut store, &visit, "消防通道堵塞");
                // A clip of a size no other device or round uses: a new file each time.
                let len = 200_000 + round * 1_000 + d as u32;
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
        let (counts, stop, url) = (Arc::clone(&counts), Arc::clone(&stop), server.url());
        std::thread::spawn(move || login_flood(&url, &counts, &stop))
    };
    let slow = {
        let (counts, stop, addr) = (Arc::clone(&counts), Arc::clone(&stop), server.addr());
        std::thread::spawn(move || slow_flood(addr, counts, stop))
    };

    let started = Instant::now();
    println!("t_s\trss_mib\tsyncs\tuploads\tdevice_errors\tslow_closed\tlogin_answers");
    while Instant::now() < deadline {
        std::thread::sleep(every.min(deadline.saturating_duration_since(Instant::now())));
        report(&counts, started);
    }
    for w in workers {
        let _ = w.join();
    }
    stop.store(true, Ordering::Relaxed);
    let _ = login.join();
    let _ = slow.join();
    report(&counts, started);
    let errors = counts.errors.lock().expect("errors");
    println!(
        "device errors: {}",
        if errors.is_empty() { "none" } else { "" }
    );
    for (what, n) in errors.iter() {
        println!("  {n} x {what}");
    }
    server.stop();
}

fn report(counts: &Counts, started: Instant) {
    println!(
        "{}\t{:.1}\t{}\t{}\t{}\t{}\t{:?}",
        started.elapsed().as_secs(),
        rss_kib(std::process::id()) as f64 / 1024.0,
        counts.syncs.load(Ordering::Relaxed),
        counts.uploads.load(Ordering::Relaxed),
        counts.device_errors.load(Ordering::Relaxed),
        counts.slow_closed.load(Ordering::Relaxed),
        counts.logins.lock().expect("logins"),
    );
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
