//! The media benchmark: one run prints every figure issue 4 asks for, and the tus peer beside
//! them.
//!
//! ```text
//! cargo build --release -p siteproof-server --examples
//! target/release/examples/media_bench            # 2 GiB; MEDIA_BENCH_BYTES to change
//! ```
//!
//! - peak RSS of the upload client (`tus_upload`) and the server (`tus_server`), each its
//!   own process, while a 2 GiB file goes up in the uploader's own PATCH sizes (8 MiB growing to 128 MiB);
//! - tus upload throughput on loopback (whole-file SHA-256 verified, stored and fsynced by the
//!   server) against the durable limit: a plain `curl -T` PUT of the same file to nginx's
//!   WebDAV module followed by an fsync of the stored file, and `dd conv=fsync`;
//! - with `MEDIA_BENCH_TUS_PEER` (a folder holding the tus peer's `server.mjs` and
//!   `upload.mjs` with their `npm ci` done, and `tests/tus-js/upload.mjs` copied in as
//!   `siteproof-upload.mjs`; `scripts/bench-peers.sh media` prepares it): tus-js-client into
//!   this server and into @tus/server (the peer), so the table compares one client on both,
//!   and into `sink.mjs` (copied in from `tests/tus-js/`), which reads each body and keeps
//!   nothing: the client's own ceiling, beside the durable limit;
//! - the core's SHA-256 rate against `openssl speed -evp sha256`;
//! - the time to make the thumbnail of a 12-megapixel JPEG.
//!
//! The uploads run in `MEDIA_BENCH_ROUNDS` interleaved rounds (default 3; medians printed),
//! each after a `sync` and `MEDIA_BENCH_SETTLE` seconds of quiet (default 10), every one
//! from the same server state. Needs Debian's `nginx` (with its dav module), `curl`, `dd`
//! and `openssl` on the PATH (and Node.js for the peer). The work folder is
//! `MEDIA_BENCH_DIR` or `target/`; it is removed at the end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use siteproof_core::media::MediaStore;

mod bench_common;

use bench_common::uploads::{self, Pristine};
use bench_common::*;

/// Every round's throughput of one kind of upload, in bytes per second, and the largest peak
/// RSS of its server.
struct Rates {
    what: &'static str,
    rates: Vec<f64>,
    server_rss_kib: u64,
}

impl Rates {
    fn new(what: &'static str) -> Self {
        Self {
            what,
            rates: Vec::new(),
            server_rss_kib: 0,
        }
    }

    /// Records one round's upload of `size` bytes and prints it at once (a long run shows
    /// its progress).
    fn add(&mut self, round: usize, size: u64, run: &uploads::Timed) {
        let rate = size as f64 / run.secs;
        self.rates.push(rate);
        self.server_rss_kib = self.server_rss_kib.max(run.server_rss_kib);
        println!("round {round}: {:<32} {:>8.1} MiB/s", self.what, rate / MIB);
    }

    fn median(&self) -> f64 {
        let mut v = self.rates.clone();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }

    fn spread(&self) -> String {
        let min = self.rates.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.rates.iter().copied().fold(0.0, f64::max);
        format!("{:.0}-{:.0}", min / MIB, max / MIB)
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Res<()> {
    let size: u64 = env_or("MEDIA_BENCH_BYTES", 2 << 30);
    let rounds: usize = env_or("MEDIA_BENCH_ROUNDS", 3);
    let settle = Duration::from_secs_f64(env_or("MEDIA_BENCH_SETTLE", 10.0));
    let peer: Option<PathBuf> = std::env::var_os("MEDIA_BENCH_TUS_PEER").map(PathBuf::from);
    let base = std::env::var("MEDIA_BENCH_DIR").unwrap_or_else(|_| "target".into());
    let work = tempfile::tempdir_in(base)?;
    println!(
        "media bench: {:.0} MiB in {}, {rounds} rounds",
        size as f64 / MIB,
        work.path().display()
    );

    let file = work.path().join("footage.mp4");
    write_pseudo_random(&file, size)?;

    // SHA-256: the core's streaming hash over bytes in memory, against OpenSSL's (also in
    // memory); then the same over the file, as an import reads it.
    // Three alternating rounds, best of each: the machine is shared, so both see the same noise.
    let (mut core_sha, mut openssl_sha) = (0f64, 0f64);
    for _ in 0..3 {
        core_sha = core_sha.max(core_sha256_rate()?);
        openssl_sha = openssl_sha.max(openssl_sha256_rate()?);
    }
    let started = Instant::now();
    let (hash, _) = MediaStore::hash_file(&file)?;
    let file_sha = size as f64 / started.elapsed().as_secs_f64();

    // The phone captures the footage; its visit reaches the server by sync.
    let data_dir = work.path().join("server");
    let phone_dir = work.path().join("phone");
    std::fs::create_dir_all(&phone_dir)?;
    let started = Instant::now();
    let (token, visit) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(capture_and_sync(&data_dir, &phone_dir, &file))?;
    let import_secs = started.elapsed().as_secs_f64();
    std::fs::remove_file(&file)?;
    // Every upload sends the phone's copy of the footage.
    let source = MediaStore::open(phone_dir.join("media"))?
        .original_path(&hash)
        .ok_or("the phone holds no original")?;
    let pristine = Pristine::keep(
        &data_dir,
        &phone_dir.join("phone.db"),
        &work.path().join("pristine"),
    )?;
    let blob = data_dir.join("blobs").join("blobs").join(hash.as_str());

    let mut ours = Rates::new("siteproof client -> siteproof");
    let mut js_ours = Rates::new("tus-js-client -> siteproof");
    let mut js_peer = Rates::new("tus-js-client -> @tus/server");
    let mut js_sink = Rates::new("tus-js-client -> an endpoint that keeps nothing");
    let mut put = Rates::new("nginx PUT + fsync");
    let mut dd = Rates::new("dd conv=fsync");
    let mut client_rss = 0;
    for round in 1..=rounds {
        // The upload: both sides in their own processes, so each one's RSS is its own.
        pristine.restore()?;
        uploads::prepare(&source, settle)?;
        // The uploader's own PATCH sizes, as on a phone.
        let run = tus_run(&data_dir, &phone_dir, &token, None, &[])?;
        uploads::check_copy(&blob, &hash, size)?;
        client_rss = client_rss.max(run.client_rss_kib);
        let run = uploads::Timed {
            secs: run.secs,
            server_rss_kib: run.server_rss_kib,
        };
        ours.add(round, size, &run);
        if let Some(peer) = &peer {
            pristine.restore()?;
            uploads::prepare(&source, settle)?;
            let (record, sha256) = (visit.as_str(), hash.as_str());
            let run =
                uploads::tus_js_to_siteproof(peer, &data_dir, &token, record, sha256, &source)?;
            uploads::check_copy(&blob, &hash, size)?;
            js_ours.add(round, size, &run);
            uploads::prepare(&source, settle)?;
            let run = uploads::tus_js_to_tus_server(peer, work.path(), &source, &hash, size)?;
            js_peer.add(round, size, &run);
            uploads::prepare(&source, settle)?;
            js_sink.add(round, size, &uploads::tus_js_to_sink(peer, &source)?);
        }
        uploads::prepare(&source, settle)?;
        put.add(
            round,
            size,
            &uploads::nginx_put_fsync(work.path(), &source, &hash, size)?,
        );
        uploads::prepare(&source, settle)?;
        dd.add(
            round,
            size,
            &uploads::dd_fsync(work.path(), &source, &hash, size)?,
        );
    }
    let thumb = thumbnail_secs(work.path())?;

    let tus_rate = ours.median();
    let put_rate = put.median();
    println!();
    println!(
        "peak RSS, upload client      {:>8.1} MiB   (target < 64)  {}",
        client_rss as f64 / 1024.0,
        verdict(client_rss < 64 * 1024)
    );
    println!(
        "peak RSS, server             {:>8.1} MiB   (target < 64)  {}",
        ours.server_rss_kib as f64 / 1024.0,
        verdict(ours.server_rss_kib < 64 * 1024)
    );
    println!("tus upload, hash verified    {:>8.1} MiB/s", tus_rate / MIB);
    println!("nginx PUT + fsync            {:>8.1} MiB/s", put_rate / MIB);
    println!(
        "  tus / (PUT + fsync)        {:>8.1} %      (target >= 80) {}",
        100.0 * tus_rate / put_rate,
        verdict(tus_rate >= 0.8 * put_rate)
    );
    println!("core SHA-256                 {:>8.1} MiB/s", core_sha / MIB);
    println!(
        "openssl speed -evp sha256    {:>8.1} MiB/s",
        openssl_sha / MIB
    );
    println!(
        "  core / openssl             {:>8.1} %      (target >= 80) {}",
        100.0 * core_sha / openssl_sha,
        verdict(core_sha >= 0.8 * openssl_sha)
    );
    println!("core SHA-256, cached file    {:>8.1} MiB/s", file_sha / MIB);
    println!(
        "capture: import + sync       {:>8.1} MiB/s",
        size as f64 / MIB / import_secs
    );
    println!("thumbnail, 12 MP JPEG        {:>8.0} ms", thumb * 1000.0);

    println!();
    println!(
        "{:.0} MiB uploads, MiB/s: median of {rounds} interleaved rounds (min-max); ratio = siteproof / peer",
        size as f64 / MIB
    );
    println!("| measure | siteproof | peer | ratio |");
    println!("| --- | --- | --- | --- |");
    let row = |name: &str, a: &Rates, b: &Rates, target: &str| {
        let ratio = a.median() / b.median();
        let mark = if target.is_empty() {
            String::new()
        } else {
            let floor: f64 = target.parse().unwrap_or(1.0);
            format!(" (target >= {target}: {})", verdict(ratio >= floor))
        };
        println!(
            "| {name} | {:.0} ({}) | {:.0} ({}) | {ratio:.2}{mark} |",
            a.median() / MIB,
            a.spread(),
            b.median() / MIB,
            b.spread()
        );
    };
    if peer.is_some() {
        row(
            "tus-js-client -> server (peer: @tus/server, no fsync)",
            &js_ours,
            &js_peer,
            "1",
        );
        row(
            "siteproof's client -> siteproof (peer: tus-js-client -> siteproof)",
            &ours,
            &js_ours,
            "1",
        );
        row(
            "tus-js-client -> siteproof (peer: durable limit, nginx PUT + fsync)",
            &js_ours,
            &put,
            "0.8",
        );
        row(
            "tus-js-client -> siteproof (peer: dd conv=fsync)",
            &js_ours,
            &dd,
            "",
        );
        // The client's own ceiling: what it sends into an endpoint that keeps nothing. Where
        // it is below 0.8 of the durable limit, no server meets that target with this client.
        row(
            "tus-js-client -> siteproof (peer: tus-js-client -> an endpoint that keeps nothing)",
            &js_ours,
            &js_sink,
            "",
        );
        row(
            "tus-js-client -> an endpoint that keeps nothing (peer: durable limit, nginx PUT + fsync)",
            &js_sink,
            &put,
            "",
        );
    }
    row(
        "siteproof's client -> siteproof (peer: nginx PUT + fsync)",
        &ours,
        &put,
        "",
    );
    row(
        "siteproof's client -> siteproof (peer: dd conv=fsync)",
        &ours,
        &dd,
        "",
    );
    if peer.is_some() {
        println!(
            "| server peak RSS (MiB), tus-js-client -> server | {:.0} | {:.0} | {:.2} |",
            js_ours.server_rss_kib as f64 / 1024.0,
            js_peer.server_rss_kib as f64 / 1024.0,
            js_ours.server_rss_kib as f64 / js_peer.server_rss_kib as f64
        );
    }
    Ok(())
}

/// Bytes per second of the core's streaming SHA-256 over 1 GiB held in memory.
fn core_sha256_rate() -> Res<f64> {
    let block: Vec<u8> = (0..256u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let started = Instant::now();
    for _ in 0..4 {
        MediaStore::hash_reader(std::io::Cursor::new(&block))?;
    }
    Ok(4.0 * block.len() as f64 / started.elapsed().as_secs_f64())
}

/// Bytes per second of `openssl speed -evp sha256` on 1 MiB blocks.
fn openssl_sha256_rate() -> Res<f64> {
    let out = Command::new("openssl")
        .args([
            "speed", "-evp", "sha256", "-bytes", "1048576", "-seconds", "3",
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with("sha256"))
        .ok_or("no openssl figure")?;
    let k: f64 = line
        .split_whitespace()
        .nth(1)
        .ok_or("no figure")?
        .trim_end_matches('k')
        .parse()?;
    Ok(k * 1000.0)
}

/// Seconds to thumbnail a 4000 × 3000 JPEG (best of three).
fn thumbnail_secs(work: &Path) -> Res<f64> {
    let photo: PathBuf = work.join("12mp.jpg");
    let mut x: u32 = 12345;
    let img = image::RgbImage::from_fn(4000, 3000, |px, py| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let noise = (x & 31) as u8;
        image::Rgb([
            (px / 16) as u8 ^ noise,
            (py / 12) as u8,
            ((px + py) / 28) as u8 ^ noise,
        ])
    });
    img.save_with_format(&photo, image::ImageFormat::Jpeg)?;
    let media = MediaStore::open(work.join("thumbs"))?;
    let imported = media.import_file(&photo)?;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        media.make_thumbnail(&imported.hash, &photo)?;
        best = best.min(started.elapsed().as_secs_f64());
    }
    Ok(best)
}
