//! What the benchmarks share: the footage file, a server with a device and a phone whose
//! visit (with the footage as evidence) it has, and the processes' figures.
// Each benchmark uses a subset.
#![allow(dead_code)]

pub mod uploads;

use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use siteproof_core::media::MediaStore;
use siteproof_core::sync::wire::{PushRecord, SyncRequest};
use siteproof_core::*;
use siteproof_server::{AppState, EnrollRequest, ServerConfig};

/// A benchmark's result.
pub type Res<T> = Result<T, Box<dyn Error>>;

/// Bytes in a MiB.
pub const MIB: f64 = 1024.0 * 1024.0;

/// "ok" or "MISSED".
pub fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

/// Writes `len` pseudo-random bytes (xorshift) to `path`.
pub fn write_pseudo_random(path: &Path, len: u64) -> Res<()> {
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

const TEMPLATE: &str = r#"{"id": "bench", "version": 1, "sector": "gas",
  "title": {"zh": "基准", "en": "Bench"}, "source": {"document": "bench", "reference": "bench"},
  "items": [{"id": "i1", "text": {"zh": "项", "en": "Item"}, "criterion": {"document": "bench", "clause": "1"},
             "severity": "general", "answer": {"kind": "pass_fail"}, "evidence_required": true}]}"#;

/// Sets up a group and a device on the server, captures a visit with the footage on the
/// phone and pushes it. Returns the device token and the visit's id.
pub async fn capture_and_sync(
    data_dir: &Path,
    phone_dir: &Path,
    file: &Path,
) -> Res<(String, RecordId)> {
    let state = AppState::open(data_dir, ServerConfig::default()).await?;
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
    let session = state.devices.session(&enrolled.token).await?;
    state
        .sync
        .sync(
            &session,
            SyncRequest {
                cursor: None,
                push,
                need_full: vec![],
                max_bytes: 1 << 20,
                reads: Vec::new(),
            },
        )
        .await?;
    // Closed before a server process opens the same folder.
    state.shutdown().await?;
    Ok((enrolled.token, visit))
}

/// The address in a `tus_server` child's first line.
pub fn listening_addr(child: &mut Child) -> Res<String> {
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    Ok(line
        .trim()
        .strip_prefix("listening http://")
        .ok_or("no listening line")?
        .to_string())
}

/// The number after `name=` in a `key=value` line.
pub fn field(line: &str, name: &str) -> Res<u64> {
    let prefix = format!("{name}=");
    Ok(line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&prefix))
        .ok_or("missing field")?
        .parse()?)
}

/// A live process's peak RSS (`VmHWM`), in KiB.
pub fn vm_hwm_kib(pid: u32) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .ok_or("no VmHWM")?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}

/// CPU seconds (user + system) process `pid` has used so far.
pub fn cpu_secs(pid: u32) -> Res<f64> {
    stat_ticks(&format!("/proc/{pid}/stat"), 13)
}

/// CPU seconds (user + system) this process's waited-for children have used so far.
pub fn children_cpu_secs() -> Res<f64> {
    stat_ticks("/proc/self/stat", 15)
}

/// The sum of the two clock-tick fields of `/proc/.../stat` from field `first` (0-based, the
/// command's name counted as one field), in seconds (Linux reports 100 ticks a second).
fn stat_ticks(path: &str, first: usize) -> Res<f64> {
    let stat = std::fs::read_to_string(path)?;
    // The name is in parentheses and may hold spaces: count fields after its closing one.
    let after = &stat[stat.rfind(')').ok_or("no command name")? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let at = |i: usize| -> Res<f64> { Ok(fields.get(i - 2).ok_or("short stat")?.parse()?) };
    Ok((at(first)? + at(first + 1)?) / 100.0)
}

/// One timed upload of a phone's queue.
pub struct TusRun {
    /// From the client's start to its exit.
    pub secs: f64,
    /// The client's closing `done ...` line.
    pub done: String,
    /// The client's peak RSS.
    pub client_rss_kib: u64,
    /// The server's peak RSS.
    pub server_rss_kib: u64,
    /// CPU seconds the client used, and the server.
    pub client_cpu_secs: f64,
    pub server_cpu_secs: f64,
}

/// Uploads the queue of the phone in `phone_dir` to a server on `data_dir`: the `tus_server`
/// example (with `env`) and the `tus_upload` example in `chunk`-byte PATCHes (`None`: the
/// uploader's own sizes, growing while the link is fast), each its own process, so each one's
/// peak RSS is its own. The server is stopped at the end.
pub fn tus_run(
    data_dir: &Path,
    phone_dir: &Path,
    token: &str,
    chunk: Option<u64>,
    env: &[(String, String)],
) -> Res<TusRun> {
    let examples = std::env::current_exe()?
        .parent()
        .ok_or("no exe dir")?
        .to_path_buf();
    let mut server = Command::new(examples.join("tus_server"))
        .arg(data_dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .spawn()?;
    let addr = listening_addr(&mut server)?;
    let (started, children_before) = (Instant::now(), children_cpu_secs()?);
    let out = Command::new(examples.join("tus_upload"))
        .arg(phone_dir.join("phone.db"))
        .arg(phone_dir.join("media"))
        .arg(format!("http://{addr}/v1/uploads"))
        .arg(token)
        .args(chunk.map(|c| c.to_string()))
        .stdout(Stdio::piped())
        .output()?;
    let secs = started.elapsed().as_secs_f64();
    let client_cpu_secs = children_cpu_secs()? - children_before;
    let server_rss_kib = vm_hwm_kib(server.id())?;
    let server_cpu_secs = cpu_secs(server.id())?;
    let _ = server.kill();
    let _ = server.wait();
    let done = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("done "))
        .unwrap_or("")
        .to_string();
    if !out.status.success() {
        return Err(format!("upload failed: {done}").into());
    }
    Ok(TusRun {
        secs,
        client_rss_kib: field(&done, "peak_rss_kib")?,
        server_rss_kib,
        done,
        client_cpu_secs,
        server_cpu_secs,
    })
}
