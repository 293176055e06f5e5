//! A month of covert inspection offline, then the network returning (release build).
//!
//! One phone store, encrypted at rest, is filled offline with 500 visits of 60 answers and 3
//! findings each and 20 GB of footage in recordings of 0.5 to 4 GB, streamed from a seeded
//! pseudo-random generator into the media import (nothing kept beside the store). Then it
//! prints the store's size on disk beside the raw captures, the time to list the visits and
//! to load one, and, once a server process on a loopback port is in reach: the first sync of
//! every visit, the upload queue sending every recording (cut once after a third of the bytes
//! and resumed), each with the phone's peak RSS, while a capture thread keeps answering items
//! on the same store and the longest capture is recorded (with the first sync's steps that
//! held the store 40 ms or more, on its timeline); the server's peak RSS; the space the
//! eviction of verified originals gives back. Every figure is printed beside its target.
//!
//! Run: `cargo build --release -p siteproof-tests --bin covert-month && target/release/covert-month`.
//! `COVERT_MONTH_SCALE` (default 1) scales visits and footage, `COVERT_MONTH_VISITS` sets the
//! visits alone, `COVERT_MONTH_DIR` is where the work folder goes (default `target/`; it is
//! deleted at the end), `COVERT_MONTH_SERVER_DIR` puts the server's data elsewhere (another
//! disk or a tmpfs, to see what the phone's captures pay for sharing a disk with the server),
//! `COVERT_MONTH_SYNC=rounds` takes the first sync one round at a time, the store held per
//! round only (`rounds.rs`), `SITEPROOF_SEED` replays a run. The phone side is this process; the server is a child
//! process, so this process's VmHWM is the phone's own peak.
//!
//! To stay within about 25 GB of disk, originals are evicted as soon as the server has
//! verified them (as a phone short of space does), and the server's copy of each is deleted
//! once the phone has evicted it, after its size was checked.
//!
//! Exits 1 if an outcome is wrong (a visit or a recording missing, an upload not verified);
//! a missed time or memory target is printed as MISSED and does not change the exit code.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use rand::rngs::StdRng;
use siteproof_core::{MediaHash, Store, StoreKey, SyncClient};
use siteproof_tests::footage::{disk_usage, recording_sizes};
use siteproof_tests::procstat::{peak_rss_kib, reset_peak};
use siteproof_tests::server::TestServer;

const VISITS: usize = 500;
const ANSWERS: usize = 60;
const FINDINGS: usize = 3;
const FOOTAGE_BYTES: f64 = 20e9;
const RECORDING_MIN: f64 = 0.5e9;
const RECORDING_MAX: f64 = 4e9;
/// Time between two captures of the capture thread.
const CAPTURE_PACE: Duration = Duration::from_millis(50);
const SAMPLES: usize = 21;

const LIST_TARGET_MS: f64 = 50.0;
const LOAD_TARGET_MS: f64 = 10.0;
const RSS_TARGET_MIB: f64 = 150.0;
const CAPTURE_TARGET_MS: f64 = 100.0;
const OVERHEAD_TARGET_PCT: f64 = 10.0;

mod capture;
mod month;
mod network;
mod rounds;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let dir = args.get(1).expect("--serve DIR");
        return serve(Path::new(dir));
    }
    let scale: f64 = env_or("COVERT_MONTH_SCALE", 1.0);
    let visits = env_or(
        "COVERT_MONTH_VISITS",
        ((VISITS as f64 * scale).round() as usize).max(1),
    );
    let (seed, rng) = siteproof_tests::seeded_rng("covert-month");
    let base = std::env::var_os("COVERT_MONTH_DIR").map_or_else(
        || {
            let target = std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into());
            PathBuf::from(target)
        },
        PathBuf::from,
    );
    let plan = Plan {
        seed,
        visits,
        footage: (FOOTAGE_BYTES * scale) as u64,
        recording_min: (RECORDING_MIN * scale) as u64,
        recording_max: (RECORDING_MAX * scale) as u64,
    };
    std::fs::create_dir_all(&base).expect("create the work folder's parent");
    let work = tempfile::Builder::new()
        .prefix("covert-month-")
        .tempdir_in(&base)
        .expect("work folder");
    println!(
        "covert-month: scale {scale}, {visits} visits, {:.2} GB of footage, work folder {}",
        plan.footage as f64 / 1e9,
        work.path().display()
    );
    let server_tmp = std::env::var_os("COVERT_MONTH_SERVER_DIR").map(|dir| {
        tempfile::Builder::new()
            .prefix("covert-month-server-")
            .tempdir_in(dir)
            .expect("server folder")
    });
    let server_dir = server_tmp
        .as_ref()
        .map_or_else(|| work.path().join("server"), |d| d.path().join("server"));
    println!("server data in {}", server_dir.display());
    let ok = run(&plan, rng, work.path(), &server_dir);
    // `exit` runs no destructors: the folders go first.
    drop(server_tmp);
    drop(work);
    std::process::exit(if ok { 0 } else { 1 });
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the month holds.
struct Plan {
    seed: u64,
    visits: usize,
    footage: u64,
    recording_min: u64,
    recording_max: u64,
}

/// The whole run; `false` if an outcome was wrong.
fn run(plan: &Plan, mut rng: StdRng, work: &Path, server_dir: &Path) -> bool {
    let server = ServerChild::start(server_dir);
    let phone = work.join("phone");
    std::fs::create_dir_all(&phone).expect("phone folder");
    let db = phone.join("siteproof.db");
    let key = StoreKey::random();
    let mut store = Store::open_encrypted(&db, &key).expect("open the encrypted store");
    store
        .set_profile(&siteproof_tests::profile("暗访员"))
        .expect("profile");
    // Enrolled and holding the checklist before the month, as a phone going out is.
    SyncClient::new(&server.url)
        .expect("client")
        .enroll(&mut store, &server.code, "暗访手机")
        .expect("enroll");
    store.sync().expect("the template arrives");
    let media = store.media_store(phone.join("media")).expect("media store");
    let template = siteproof_tests::template(ANSWERS);
    let sizes = recording_sizes(
        &mut rng,
        plan.footage,
        plan.recording_min,
        plan.recording_max,
    );
    println!(
        "seed {} ({} recordings: {})",
        plan.seed,
        sizes.len(),
        sizes
            .iter()
            .map(|s| format!("{:.1} MB", *s as f64 / 1e6))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut report = Report::default();
    reset_peak(std::process::id());
    let month = month::offline(&mut store, &media, &template, plan.visits, &sizes, &mut rng);
    report.rss("phone peak RSS, the month offline, MiB", phone_peak_mib());
    println!(
        "the month: {} captures in {:.1} s, {:.2} GB imported in {:.1} s ({:.0} MB/s)",
        month.captures,
        month.capture_time.as_secs_f64(),
        month.footage_bytes() as f64 / 1e9,
        month.import_time.as_secs_f64(),
        month.footage_bytes() as f64 / 1e6 / month.import_time.as_secs_f64()
    );
    month::report_size(&mut report, &phone, &db, &month);
    month::report_reads(&mut report, &mut store, &month, &mut rng);

    network::returns(&mut report, store, &media, &db, &key, &server, &month);
    report.value(
        "server peak RSS, MiB",
        peak_rss_kib(server.pid()) as f64 / 1024.0,
    );
    drop(server);
    let (disk_after, _) = disk_usage(&phone).expect("phone folder size");
    report.value(
        "phone store on disk after eviction, MB",
        disk_after as f64 / 1e6,
    );
    let peak = report.rss_max;
    report.rss("phone peak RSS, whole run, MiB", peak);
    report.print();
    report.failed_outcomes == 0
}

/// The server process: this binary with `--serve`.
struct ServerChild {
    child: Child,
    stdin: Option<ChildStdin>,
    url: String,
    code: String,
    dir: PathBuf,
}

impl ServerChild {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("this binary"))
            .arg("--serve")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let stdin = child.stdin.take();
        let mut code = String::new();
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        for line in lines.map_while(Result::ok) {
            if let Some(c) = line.strip_prefix("code ") {
                code = c.to_owned();
            } else if let Some(addr) = line.strip_prefix("listening ") {
                return Self {
                    child,
                    stdin,
                    url: format!("http://{addr}"),
                    code,
                    dir: dir.to_path_buf(),
                };
            }
        }
        let _ = child.wait();
        panic!("the server process ended before listening");
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where the server keeps a finished upload (the embedded file blob store).
    fn blob_path(&self, hash: &MediaHash) -> PathBuf {
        self.dir
            .join(siteproof_server::blob::BLOBS_DIR)
            .join(siteproof_server::blob::FINISHED_DIR)
            .join(hash.as_str())
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        // Closing its stdin stops it gracefully.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// The child: a server with the checklist and one enrollment code, which prints
/// `code <code>` and `listening <addr>` and stops when its stdin closes.
fn serve(dir: &Path) {
    siteproof_server::allocator::limit_retention();
    let server = TestServer::start(dir);
    server.publish_template(&siteproof_tests::template(ANSWERS));
    let group = server.create_group("暗访组");
    println!("code {}", server.enrollment_code(&group));
    println!("listening {}", server.addr());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.stop();
}

fn phone_peak_mib() -> f64 {
    peak_rss_kib(std::process::id()) as f64 / 1024.0
}

/// Every figure, printed at the end beside its target.
#[derive(Default)]
struct Report {
    rows: Vec<(String, String, String)>,
    figures: Vec<(String, f64)>,
    failed_outcomes: usize,
    /// The highest phone peak reported so far.
    rss_max: f64,
}

impl Report {
    fn value(&mut self, name: &str, value: f64) {
        self.rows
            .push((name.into(), format!("{value:.2}"), String::new()));
        self.figures.push((name.into(), value));
    }

    fn target(&mut self, name: &str, value: f64, limit: f64) {
        let verdict = if value < limit {
            "ok".to_owned()
        } else {
            format!("MISSED by {:.0} %", (value / limit - 1.0) * 100.0)
        };
        self.rows.push((
            name.into(),
            format!("{value:.2}"),
            format!("< {limit} {verdict}"),
        ));
        self.figures.push((name.into(), value));
    }

    fn rss(&mut self, name: &str, mib: f64) {
        self.rss_max = self.rss_max.max(mib);
        self.target(name, mib, RSS_TARGET_MIB);
    }

    /// An outcome that must hold; a false one fails the run.
    fn outcome(&mut self, what: &str, holds: bool) {
        if !holds {
            self.failed_outcomes += 1;
        }
        println!("outcome: {what}: {}", if holds { "yes" } else { "NO" });
    }

    fn print(&self) {
        let width = self
            .rows
            .iter()
            .map(|r| r.0.chars().count())
            .max()
            .unwrap_or(0);
        println!("\n| measure | value | target |\n| --- | --- | --- |");
        for (name, value, target) in &self.rows {
            let pad = width - name.chars().count();
            println!("| {name}{} | {value} | {target} |", " ".repeat(pad));
        }
        println!();
        for (name, value) in &self.figures {
            println!("figure {} {value}", slug(name));
        }
    }
}

/// A figure's name as one word: `list all visits, ms p50` is `list_all_visits_ms_p50`.
fn slug(name: &str) -> String {
    name.replace('%', "pct")
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
        .to_lowercase()
}

/// p50 and max of `samples`, in milliseconds.
fn p50_max_ms(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (
        ms(samples[samples.len() / 2]),
        ms(*samples.last().expect("samples")),
    )
}
