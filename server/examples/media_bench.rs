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

use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use siteproof_core::media::MediaStore;
use siteproof_core::sync::wire::{PushRecord, SyncRequest};
use siteproof_core::*;
use siteproof_server::{AppState, EnrollRequest, ServerConfig};

type Res<T> = Result<T, Box<dyn Error>>;

const MIB: f64 = 1024.0 * 1024.0;
const CHUNK: usize = 8 << 20;

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
    let examples = std::env::current_exe()?
        .parent()
        .ok_or("no exe dir")?
        .to_path_buf();
    let mut server = Command::new(examples.join("tus_server"))
        .arg(&data_dir)
        .stdout(Stdio::piped())
        .spawn()?;
    let addr = listening_addr(&mut server)?;
    let started = Instant::now();
    let client = Command::new(examples.join("tus_upload"))
        .arg(phone_dir.join("phone.db"))
        .arg(phone_dir.join("media"))
        .arg(format!("http://{addr}/v1/uploads"))
        .arg(&token)
        .arg(CHUNK.to_string())
        .stdout(Stdio::piped())
        .spawn()?;
    let out = client.wait_with_output()?;
    let upload_secs = started.elapsed().as_secs_f64();
    let done = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("done "))
        .unwrap_or("")
        .to_string();
    if !out.status.success() {
        return Err(format!("upload failed: {done}").into());
    }
    let client_rss = field(&done, "peak_rss_kib")?;
    let server_rss = vm_hwm_kib(server.id())?;
    let _ = server.kill();
    let _ = server.wait();
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

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

fn write_pseudo_random(path: &Path, len: u64) -> Res<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.flush()?;
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

const TEMPLATE: &str = r#"{"id": "bench", "version": 1, "sector": "gas",
  "title": {"zh": "基准", "en": "Bench"}, "source": {"document": "bench", "reference": "bench"},
  "items": [{"id": "i1", "text": {"zh": "项", "en": "Item"}, "criterion": {"document": "bench", "clause": "1"},
             "severity": "general", "answer": {"kind": "pass_fail"}, "evidence_required": true}]}"#;

/// Sets up a group and a device on the server, captures a visit with the footage on the
/// phone and pushes it. Returns the device token.
async fn capture_and_sync(data_dir: &Path, phone_dir: &Path, file: &Path) -> Res<String> {
    let state = AppState::open(data_dir, ServerConfig::default())?;
    let group = state
        .admin
        .create_group("bench".parse()?, "bench", Some("g1".parse()?))
        .await?;
    let code = state
        .admin
        .issue_enrollment_code(&group.id, Duration::from_secs(3600))
        .await?;
    let enrolled = state
        .devices
        .enroll(&EnrollRequest {
            code: code.code,
            device_name: "bench".into(),
            public_key: None,
        })
        .await?;
    let mut store = Store::open(phone_dir.join("phone.db"))?;
    store.set_profile(&Profile {
        inspector: "bench".into(),
        scope: Scope::group(enrolled.region, enrolled.group),
    })?;
    let template: Template = serde_json::from_str(TEMPLATE)?;
    store.put_template(&template)?;
    let site = Site {
        name: "bench".into(),
        credit_code: None,
        address: "bench".into(),
        sector: Sector::Gas,
    };
    let visit = store.create_visit(NewVisit {
        site,
        mode: VisitMode::Covert,
        team: vec![],
        template: TemplateRef {
            id: template.id.clone(),
            version: 1,
        },
        assignment: None,
        location: None,
    })?;
    let media = MediaStore::open(phone_dir.join("media"))?;
    let capture = MediaCapture {
        kind: MediaKind::Video,
        mime: "video/mp4".into(),
        captured_at: None,
        location: None,
        poster: None,
    };
    store.add_evidence(&visit, &media, file, capture)?;
    let push = store
        .pending_changes(100)?
        .into_iter()
        .map(|p| PushRecord {
            id: p.id,
            changes: p
                .changes
                .into_iter()
                .map(serde_bytes::ByteBuf::from)
                .collect(),
        })
        .collect();
    let principal = state.devices.authenticate(&enrolled.token).await?;
    state
        .sync
        .sync(
            principal.device()?,
            SyncRequest {
                cursor: None,
                push,
                need_full: vec![],
                max_bytes: 1 << 20,
            },
        )
        .await?;
    Ok(enrolled.token)
}

fn listening_addr(child: &mut Child) -> Res<String> {
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    Ok(line
        .trim()
        .strip_prefix("listening http://")
        .ok_or("no listening line")?
        .to_string())
}

fn field(line: &str, name: &str) -> Res<u64> {
    let prefix = format!("{name}=");
    Ok(line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&prefix))
        .ok_or("missing field")?
        .parse()?)
}

/// A live process's peak RSS (`VmHWM`), in KiB.
fn vm_hwm_kib(pid: u32) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .ok_or("no VmHWM")?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
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
