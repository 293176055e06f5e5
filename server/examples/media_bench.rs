//! The media benchmark: one run prints every figure issue 4 asks for.
//!
//! ```text
//! cargo build --release -p siteproof-server --examples
//! target/release/examples/media_bench            # 2 GiB; MEDIA_BENCH_BYTES to change
//! ```
//!
//! - peak RSS of the upload client (`tus_upload`) and the server (`tus_server`), each its
//!   own process, while a 2 GiB file goes up in 8 MiB chunks;
//! - tus upload throughput on loopback (whole-file SHA-256 verified by the server) against
//!   a plain `curl -T` PUT of the same file to nginx's WebDAV module;
//! - the core's SHA-256 rate against `openssl speed -evp sha256`;
//! - the time to make the thumbnail of a 12-megapixel JPEG.
//!
//! Needs Debian's `nginx` (with its dav module), `curl` and `openssl` on the PATH. The work
//! folder is `MEDIA_BENCH_DIR` or `target/`; it is removed at the end.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use siteproof_core::media::MediaStore;

mod bench_common;

use bench_common::*;

const CHUNK: u64 = 8 << 20;

fn main() -> Res<()> {
    let size: u64 = std::env::var("MEDIA_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2 << 30);
    let base = std::env::var("MEDIA_BENCH_DIR").unwrap_or_else(|_| "target".into());
    let work = tempfile::tempdir_in(base)?;
    println!(
        "media bench: {:.0} MiB in {}",
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
    let token = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(capture_and_sync(&data_dir, &phone_dir, &file))?;
    let import_secs = started.elapsed().as_secs_f64();
    std::fs::remove_file(&file)?;

    // The upload: both sides in their own processes, so each one's RSS is its own.
    let run = tus_run(&data_dir, &phone_dir, &token, CHUNK, &[])?;
    let (upload_secs, client_rss, server_rss) = (run.secs, run.client_rss_kib, run.server_rss_kib);
    let blob = data_dir.join("blobs").join("blobs").join(hash.as_str());
    let (stored, stored_len) = MediaStore::hash_file(&blob)?;
    if stored != hash || stored_len != size {
        return Err("the stored blob does not match".into());
    }
    let tus_rate = size as f64 / upload_secs;

    // The sink to beat: nginx WebDAV PUT of the same bytes.
    let put_rate = nginx_put_rate(work.path(), &blob, size)?;
    let thumb = thumbnail_secs(work.path())?;

    println!();
    println!(
        "peak RSS, upload client      {:>8.1} MiB   (target < 64)  {}",
        client_rss as f64 / 1024.0,
        verdict(client_rss < 64 * 1024)
    );
    println!(
        "peak RSS, server             {:>8.1} MiB   (target < 64)  {}",
        server_rss as f64 / 1024.0,
        verdict(server_rss < 64 * 1024)
    );
    println!("tus upload, hash verified    {:>8.1} MiB/s", tus_rate / MIB);
    println!("nginx WebDAV PUT (curl -T)   {:>8.1} MiB/s", put_rate / MIB);
    println!(
        "  tus / PUT                  {:>8.1} %      (target >= 80) {}",
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

/// Starts nginx with WebDAV PUT on a free loopback port, PUTs `file` with curl, stops nginx.
fn nginx_put_rate(work: &Path, file: &Path, size: u64) -> Res<f64> {
    let prefix = work.join("nginx");
    for sub in ["www", "body", "logs"] {
        std::fs::create_dir_all(prefix.join(sub))?;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let p = prefix.display();
    let conf = format!(
        "daemon off; master_process off; worker_processes 1; error_log {p}/logs/error.log; pid {p}/nginx.pid;
events {{ worker_connections 64; }}
http {{ access_log off; client_max_body_size 0; client_body_temp_path {p}/body; client_body_buffer_size 1m;
  server {{ listen 127.0.0.1:{port}; root {p}/www;
    location / {{ dav_methods PUT; create_full_put_path on; }} }} }}\n"
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let mut nginx = NginxGuard(
        Command::new("nginx")
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&conf_path)
            .spawn()?,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("nginx did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-T"])
        .arg(file)
        .arg(format!("http://127.0.0.1:{port}/footage.mp4"))
        .output()?;
    let secs = started.elapsed().as_secs_f64();
    let code = String::from_utf8_lossy(&out.stdout).to_string();
    let _ = nginx.0.kill();
    let _ = nginx.0.wait();
    let put_len = std::fs::metadata(prefix.join("www/footage.mp4"))
        .map(|m| m.len())
        .unwrap_or(0);
    if !code.starts_with('2') || put_len != size {
        return Err(format!("nginx PUT failed: HTTP {code}, {put_len} bytes").into());
    }
    Ok(size as f64 / secs)
}

struct NginxGuard(Child);

impl Drop for NginxGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
