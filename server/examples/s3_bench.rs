//! The object-storage benchmark (issue 13): a 2 GiB upload through siteproof into Garage
//! beside a direct multipart upload of the same file to the same Garage by boto3, the
//! standard AWS client for Python, in one run: two rounds, interleaved (siteproof first in
//! the first round, boto3 first in the second), so both see the same machine, after one
//! untimed boto3 upload that warms Garage up (a fresh Garage spends half as much CPU again on
//! its first 2 GiB). Each upload prints the CPU seconds of its client, of siteproof's server
//! and of Garage.
//!
//! ```text
//! scripts/garage.sh install
//! cargo build --release -p siteproof-server --examples
//! S3_BENCH_DIR=/tmp/s3b target/release/examples/s3_bench     # S3_BENCH_BYTES (2 GiB), S3_BENCH_CHUNK (128 MiB), S3_BENCH_DIR
//! ```
//!
//! The server runs with `MALLOC_MMAP_THRESHOLD_=131072`, the mmap threshold `siteproof serve` sets for itself
//! (`S3_BENCH_MMAP_THRESHOLD=default` leaves glibc's dynamic threshold).
//!
//! - siteproof: the `tus_server` example (`SITEPROOF_BLOBS=s3://siteproof/tus-<round>`) and
//!   the core's uploader (the `tus_upload` example, S3_BENCH_CHUNK-byte PATCHes streamed from
//!   the file: sixteen 8 MiB parts each, which the server sends three at a time), each its
//!   own process, so each peak RSS (`VmHWM`) is its own; the server checks every chunk's
//!   CRC-32C and the whole file's SHA-256 and completes the multipart upload at the content
//!   address;
//! - boto3: `upload_file` with its default transfer settings (8 MiB parts, 10 threads), into
//!   a venv in ~/.cache/siteproof-tools/boto3-venv made on the first run (`pip install boto3`).
//!
//! Before each timed upload the dirty pages are written out (`sync`), so neither side pays
//! for the writes before it, and the file the client reads is read once, so both read it
//! from the page cache (as in `media_bench`).
//!
//! Garage is started by `scripts/garage.sh` (as for the tests) and stopped at the end; the
//! work folder (S3_BENCH_DIR or `target/`) holds the file and is removed at the end.

mod bench_common;
#[allow(dead_code)]
#[path = "../tests/s3_fixture/garage.rs"]
mod garage;

use std::path::{Path, PathBuf};
use std::process::Command;

use bench_common::*;
use siteproof_server::blob::BlobStore;

/// What one upload took.
struct Upload {
    secs: f64,
    client_rss_kib: u64,
    /// Our server's, for the siteproof upload.
    server_rss_kib: Option<u64>,
    /// CPU seconds of the client, our server (none for boto3) and Garage during the upload.
    client_cpu: f64,
    server_cpu: f64,
    garage_cpu: f64,
}

impl Upload {
    fn cpu(&self) -> String {
        format!(
            "CPU s: client {:.1} server {:.1} Garage {:.1} = {:.1}",
            self.client_cpu,
            self.server_cpu,
            self.garage_cpu,
            self.client_cpu + self.server_cpu + self.garage_cpu
        )
    }
}

const BOTO3: &str = r#"
import resource, sys, time
import boto3
from boto3.s3.transfer import TransferConfig
endpoint, region, key_id, secret, path, key = sys.argv[1:7]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                  aws_access_key_id=key_id, aws_secret_access_key=secret)
started = time.perf_counter()
s3.upload_file(path, "siteproof", key, Config=TransferConfig())
secs = time.perf_counter() - started
size = s3.head_object(Bucket="siteproof", Key=key)["ContentLength"]
print(f"secs={secs} size={size} peak_rss_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
"#;

fn main() -> Res<()> {
    let env_or = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let size = env_or("S3_BENCH_BYTES", 2 << 30);
    // Each PATCH ends with its last parts landing before it is answered: the longer the
    // PATCH, the fewer such waits. The uploader holds none of it in memory.
    let chunk = env_or("S3_BENCH_CHUNK", 128 << 20);
    let base = std::env::var("S3_BENCH_DIR").unwrap_or_else(|_| "target".into());
    let work = tempfile::tempdir_in(base)?;
    let python = boto3_python()?;
    let garage = garage::Garage::start();
    println!(
        "s3 bench: {:.0} MiB, siteproof in {:.0} MiB PATCHes, in {}",
        size as f64 / MIB,
        chunk as f64 / MIB,
        work.path().display()
    );
    let file = work.path().join("footage.mp4");
    write_pseudo_random(&file, size)?;
    // A fresh Garage spends half as much CPU again on its first 2 GiB (it makes its block
    // folders as the first blocks land): one untimed upload first, so neither side pays it.
    let warm = boto3_upload(&garage, &python, &file, size, 0)?;
    println!(
        "warm-up  boto3 upload_file (untimed)       {:>7.1} MiB/s  {}",
        size as f64 / MIB / warm.secs,
        warm.cpu()
    );

    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 1..=2 {
        let ours_first = round == 1;
        for turn in 0..2 {
            if (turn == 0) == ours_first {
                let up = siteproof_upload(&garage, work.path(), &file, size, chunk, round)?;
                println!(
                    "round {round}  siteproof (tus, core uploader)  {:>7.1} MiB/s  \
                     client peak RSS {:>5.1} MiB  server peak RSS {:>5.1} MiB  {}",
                    size as f64 / MIB / up.secs,
                    up.client_rss_kib as f64 / 1024.0,
                    up.server_rss_kib.unwrap_or(0) as f64 / 1024.0,
                    up.cpu()
                );
                ours.push(up);
            } else {
                let up = boto3_upload(&garage, &python, &file, size, round)?;
                println!(
                    "round {round}  boto3 upload_file               {:>7.1} MiB/s  \
                     client peak RSS {:>5.1} MiB  {}",
                    size as f64 / MIB / up.secs,
                    up.client_rss_kib as f64 / 1024.0,
                    up.cpu()
                );
                theirs.push(up);
            }
        }
        let (a, b) = (&ours[round - 1], &theirs[round - 1]);
        println!(
            "round {round}  siteproof / boto3                {:>7.1} %",
            100.0 * b.secs / a.secs
        );
    }

    let rate =
        |ups: &[Upload]| ups.len() as f64 * size as f64 / ups.iter().map(|u| u.secs).sum::<f64>();
    let (ours_rate, theirs_rate) = (rate(&ours), rate(&theirs));
    let client_rss = ours.iter().map(|u| u.client_rss_kib).max().unwrap_or(0);
    let server_rss = ours
        .iter()
        .filter_map(|u| u.server_rss_kib)
        .max()
        .unwrap_or(0);
    println!();
    println!(
        "both rounds: siteproof {:.1} MiB/s, boto3 {:.1} MiB/s",
        ours_rate / MIB,
        theirs_rate / MIB
    );
    println!(
        "  siteproof / boto3          {:>6.1} %     (target >= 80) {}",
        100.0 * ours_rate / theirs_rate,
        verdict(ours_rate >= 0.8 * theirs_rate)
    );
    println!(
        "  peak RSS, upload client    {:>6.1} MiB   (target < 64)  {}",
        client_rss as f64 / 1024.0,
        verdict(client_rss < 64 * 1024)
    );
    println!(
        "  peak RSS, server           {:>6.1} MiB   (target < 64)  {}",
        server_rss as f64 / 1024.0,
        verdict(server_rss < 64 * 1024)
    );
    drop(garage);
    Ok(())
}

/// A fresh server folder and phone for this round (the phone imports the file, untimed),
/// then the upload, timed, server and client in their own processes.
fn siteproof_upload(
    garage: &garage::Garage,
    work: &Path,
    file: &Path,
    size: u64,
    chunk: u64,
    round: usize,
) -> Res<Upload> {
    let dir = work.join(format!("round-{round}"));
    let (data_dir, phone_dir) = (dir.join("server"), dir.join("phone"));
    std::fs::create_dir_all(&phone_dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (token, _) = runtime.block_on(capture_and_sync(&data_dir, &phone_dir, file))?;
    let prefix = format!("tus-{round}");
    let mut env = garage.env.clone();
    env.push(("SITEPROOF_BLOBS".into(), format!("s3://siteproof/{prefix}")));
    // The mmap threshold `siteproof serve` sets for itself (docs/deploy.md "Memory"): glibc's
    // malloc with a fixed threshold (S3_BENCH_MMAP_THRESHOLD, `default` for glibc's own).
    let threshold = std::env::var("S3_BENCH_MMAP_THRESHOLD").unwrap_or("131072".into());
    if threshold != "default" {
        env.push(("MALLOC_MMAP_THRESHOLD_".into(), threshold));
    }
    settle(&phone_dir)?;
    let garage_before = cpu_secs(garage.pid())?;
    let run = tus_run(&data_dir, &phone_dir, &token, Some(chunk), &env)?;
    let garage_cpu = cpu_secs(garage.pid())? - garage_before;
    if field(&run.done, "completed")? != 1 {
        return Err(format!("the siteproof upload failed: {}", run.done).into());
    }
    // The server wrote the metadata only after the whole-file hash matched.
    let store = garage.store(&prefix);
    let stored = runtime.block_on(async {
        let hashes = store.list_blobs().await?;
        let mut sizes = Vec::new();
        for hash in &hashes {
            sizes.push(store.blob_meta(hash).await?.map(|m| m.size));
        }
        Ok::<_, siteproof_server::blob::BlobError>(sizes)
    })?;
    if stored != vec![Some(size)] {
        return Err(format!("the bucket holds {stored:?}, not one blob of {size} bytes").into());
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(Upload {
        secs: run.secs,
        client_rss_kib: run.client_rss_kib,
        server_rss_kib: Some(run.server_rss_kib),
        client_cpu: run.client_cpu_secs,
        server_cpu: run.server_cpu_secs,
        garage_cpu,
    })
}

/// boto3's `upload_file` of the same file to the same Garage (timed inside the script).
fn boto3_upload(
    garage: &garage::Garage,
    python: &Path,
    file: &Path,
    size: u64,
    round: usize,
) -> Res<Upload> {
    let var = |name: &str| {
        garage
            .env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or(format!("{name} missing"))
    };
    settle(file)?;
    let (garage_before, children_before) = (cpu_secs(garage.pid())?, children_cpu_secs()?);
    let out = Command::new(python)
        .args(["-c", BOTO3])
        .args([
            var("AWS_ENDPOINT_URL")?,
            var("AWS_REGION")?,
            var("AWS_ACCESS_KEY_ID")?,
            var("AWS_SECRET_ACCESS_KEY")?,
        ])
        .arg(file)
        .arg(format!("boto3-{round}/footage.mp4"))
        .output()?;
    let garage_cpu = cpu_secs(garage.pid())? - garage_before;
    let client_cpu = children_cpu_secs()? - children_before;
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || field(&line, "size")? != size {
        return Err(format!(
            "boto3 failed: {line} {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let secs: f64 = line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("secs="))
        .ok_or("no secs")?
        .parse()?;
    Ok(Upload {
        secs,
        client_rss_kib: field(&line, "peak_rss_kib")?,
        server_rss_kib: None,
        client_cpu,
        server_cpu: 0.0,
        garage_cpu,
    })
}

/// Before a timed upload: every dirty page written out, so that neither upload pays for the
/// writes before it (the 2 GiB the phone's untimed import just copied, the file itself, the
/// other upload's objects; the kernel would flush them during the upload, beside Garage's
/// own writes), then the file the client reads (under `read`) read once, so both clients
/// read from the page cache as `media_bench` has them (the phone's import drops the pages
/// it wrote, so its copy would otherwise come from the disk while boto3's came from memory).
fn settle(read: &Path) -> Res<()> {
    if !Command::new("sync").status()?.success() {
        return Err("sync failed".into());
    }
    warm(read)
}

/// Reads `path` (every file under it, for a folder) once.
fn warm(path: &Path) -> Res<()> {
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            warm(&entry?.path())?;
        }
    } else if path.is_file() {
        std::io::copy(&mut std::fs::File::open(path)?, &mut std::io::sink())?;
    }
    Ok(())
}

/// The venv's python with boto3, made on the first run.
fn boto3_python() -> Res<PathBuf> {
    let home = std::env::var("HOME")?;
    let tools =
        std::env::var("SITEPROOF_TOOLS").unwrap_or(format!("{home}/.cache/siteproof-tools"));
    let venv = Path::new(&tools).join("boto3-venv");
    let python = venv.join("bin").join("python");
    let has_boto3 = |python: &Path| {
        Command::new(python)
            .args(["-c", "import boto3"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has_boto3(&python) {
        println!("installing boto3 into {}", venv.display());
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()?;
        let installed = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "boto3"])
            .status()?;
        if !made.success() || !installed.success() || !has_boto3(&python) {
            return Err("could not install boto3 into a venv".into());
        }
    }
    Ok(python)
}
