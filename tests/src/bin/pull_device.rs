//! The device of `sync-bench --pull N` (`sync_bench/big_pull.rs`), in a process of its own so
//! that its peak RSS and CPU are its own: `pull-device URL CODE DB` enrolls with `CODE`, takes
//! the template, starts a visit and says `ready`; on a `go` line it pulls everything while a
//! thread of it answers an item every 20 ms, then prints one line of figures.
//!
//! Built with the allocator the phone library uses (`ffi/src/lib.rs`), so that what it
//! measures is what the app would do.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use siteproof_core::SyncClient;
use siteproof_tests::procstat::{cpu_seconds, peak_rss_kib};

#[path = "sync_bench/answers.rs"]
mod answers;
use answers::{ANSWERS, answer};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How often the device captures while it pulls.
const CAPTURE_EVERY: Duration = Duration::from_millis(20);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, code, db] = &args[..] else {
        eprintln!("pull-device URL CODE DB: the device of `sync-bench --pull`");
        std::process::exit(2);
    };
    client(url, code, Path::new(db));
}

/// Enrolls, takes the template, starts a visit, says `ready`; on `go` pulls while capturing
/// and prints one line of figures.
fn client(url: &str, code: &str, db: &Path) {
    let mut store = siteproof_tests::open_store(db, "fresh");
    SyncClient::new(url)
        .expect("client")
        .enroll(&mut store, code, "fresh")
        .expect("enroll");
    store.sync().expect("the template");
    let template = siteproof_tests::template(ANSWERS);
    let visit = store
        .create_visit(siteproof_tests::new_visit(&template, "现场"))
        .expect("visit");
    store.sync().expect("push the visit");
    println!("ready");
    std::io::stdout().flush().expect("flush");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).expect("wait for go");

    // Shared as the app shares it (`SiteproofStore`): handed over fairly.
    let store = parking_lot::Mutex::new(store);
    let done = AtomicBool::new(false);
    let (summary, took, cpu, mut waits) = std::thread::scope(|scope| {
        let capturing = scope.spawn(|| {
            let mut waits = Vec::new();
            let mut k = 0;
            while !done.load(Ordering::Acquire) {
                let t = Instant::now();
                let mut store = store.lock();
                waits.push(t.elapsed());
                store
                    .answer_item(
                        &visit,
                        &format!("i{}", k % ANSWERS).parse().expect("item"),
                        answer(k, &format!("capture {k}")),
                    )
                    .expect("capture");
                drop(store);
                k += 1;
                std::thread::sleep(CAPTURE_EVERY);
            }
            waits
        });
        let t = Instant::now();
        let cpu0 = cpu_seconds(None);
        // As the app's `SiteproofStore::sync`: the store taken for one step at a time.
        let base = store.lock().server_url().expect("url");
        let client = SyncClient::new(&base.expect("enrolled")).expect("client");
        let summary = client.sync_with(&store).expect("pull");
        let cpu = cpu_seconds(None) - cpu0;
        let took = t.elapsed();
        done.store(true, Ordering::Release);
        (
            summary,
            took,
            cpu,
            capturing.join().expect("capture thread"),
        )
    });
    let store = store.into_inner();
    let held = store.list_visits().expect("list").len() - 1;
    waits.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let max = waits.last().copied().unwrap_or_default();
    let p99 = waits
        .get((waits.len() * 99 / 100).min(waits.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default();
    println!(
        "{} {held} {:.1} {} {:.1} {:.1} {} {cpu:.2}",
        summary.pulled,
        ms(took),
        peak_rss_kib(std::process::id()),
        ms(max),
        ms(p99),
        waits.len()
    );
}
