//! The uploads `media_bench` sets beside its own, each timed from its client's start to its
//! exit: tus-js-client into this server, into @tus/server (the tus peer) and into an endpoint
//! that keeps nothing (the client's own ceiling), nginx's WebDAV PUT followed by an fsync of
//! the stored file, and `dd conv=fsync` (the durable limit).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use siteproof_core::MediaHash;
use siteproof_core::media::MediaStore;

use super::{Res, listening_addr, vm_hwm_kib};

/// One timed upload: seconds and the server's peak RSS (0 where there is no server).
pub struct Timed {
    /// From the client's start to its exit (for nginx: curl's exit plus the fsync).
    pub secs: f64,
    /// The server's peak RSS.
    pub server_rss_kib: u64,
}

impl Timed {
    /// `self` once `copy` is checked to hold the uploaded bytes; `remove` (a file or a folder
    /// holding the copy) is deleted either way, so the next run finds the disk as before.
    fn checked(self, copy: &Path, hash: &MediaHash, size: u64, remove: &Path) -> Res<Self> {
        let checked = check_copy(copy, hash, size);
        if remove.is_dir() {
            std::fs::remove_dir_all(remove)?;
        } else {
            std::fs::remove_file(remove)?;
        }
        checked.map(|()| self)
    }
}

/// A child process killed and reaped when dropped, so an error leaves nothing running.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The server's data folder and the phone's database as they were before any upload, put back
/// before each round so every upload starts from the same state (the server would otherwise
/// answer that it holds the file already).
pub struct Pristine {
    data_dir: PathBuf,
    phone_db: PathBuf,
    saved: PathBuf,
}

impl Pristine {
    /// Copies `data_dir` and `phone_db` (with its WAL files) into `saved`.
    pub fn keep(data_dir: &Path, phone_db: &Path, saved: &Path) -> Res<Self> {
        std::fs::create_dir_all(saved)?;
        let pristine = Self {
            data_dir: data_dir.to_path_buf(),
            phone_db: phone_db.to_path_buf(),
            saved: saved.to_path_buf(),
        };
        copy_tree(data_dir, &saved.join("server"))?;
        for (from, to) in pristine.phone_files() {
            if from.exists() {
                std::fs::copy(&from, &to)?;
            }
        }
        Ok(pristine)
    }

    /// Puts the saved state back.
    pub fn restore(&self) -> Res<()> {
        std::fs::remove_dir_all(&self.data_dir)?;
        copy_tree(&self.saved.join("server"), &self.data_dir)?;
        for (live, saved) in self.phone_files() {
            let _ = std::fs::remove_file(&live);
            if saved.exists() {
                std::fs::copy(&saved, &live)?;
            }
        }
        Ok(())
    }

    fn phone_files(&self) -> Vec<(PathBuf, PathBuf)> {
        ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| {
                let mut live = self.phone_db.clone().into_os_string();
                live.push(suffix);
                (
                    PathBuf::from(live),
                    self.saved.join(format!("phone.db{suffix}")),
                )
            })
            .collect()
    }
}

fn copy_tree(from: &Path, to: &Path) -> Res<()> {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status()?;
    if !status.success() {
        return Err(format!("cp -a {} failed", from.display()).into());
    }
    Ok(())
}

/// Before a timed write: dirty pages from the previous run written out (`sync`), `settle`
/// of quiet, then `source` read once so it comes from the page cache (this VM pages out
/// file pages left untouched for about a minute).
pub fn prepare(source: &Path, settle: Duration) -> Res<()> {
    Command::new("sync").status()?;
    std::thread::sleep(settle);
    std::io::copy(&mut std::fs::File::open(source)?, &mut std::io::sink())?;
    Ok(())
}

/// tus-js-client (one PATCH, its default) uploads `file` to this server's `tus_server`
/// example on `data_dir`, as the evidence of `record`, through `upload.mjs` in `client_dir`
/// (`tests/tus-js/upload.mjs` beside an installed tus-js-client).
pub fn tus_js_to_siteproof(
    client_dir: &Path,
    data_dir: &Path,
    token: &str,
    record: &str,
    hash: &str,
    file: &Path,
) -> Res<Timed> {
    let examples = std::env::current_exe()?
        .parent()
        .ok_or("no exe dir")?
        .to_path_buf();
    let mut server = Reaped(
        Command::new(examples.join("tus_server"))
            .arg(data_dir)
            .stdout(Stdio::piped())
            .spawn()?,
    );
    let addr = listening_addr(&mut server.0)?;
    let started = Instant::now();
    let out = Command::new("node")
        .arg(client_dir.join("siteproof-upload.mjs"))
        .arg(format!("http://{addr}/v1/uploads"))
        .args([token, record, hash])
        .arg(file)
        .output()?;
    let secs = started.elapsed().as_secs_f64();
    let server_rss_kib = vm_hwm_kib(server.0.id())?;
    if !out.status.success() {
        return Err(format!(
            "tus-js-client -> siteproof failed: {}",
            String::from_utf8_lossy(&out.stdout)
        )
        .into());
    }
    Ok(Timed {
        secs,
        server_rss_kib,
    })
}

/// tus-js-client (one PATCH) uploads `file` to @tus/server with its file store, both from
/// the peer folder `peer_dir` (`server.mjs`, `upload.mjs`); checks and removes the stored copy.
pub fn tus_js_to_tus_server(
    peer_dir: &Path,
    work: &Path,
    file: &Path,
    hash: &MediaHash,
    size: u64,
) -> Res<Timed> {
    let store = work.join("tus-files");
    let timed = tus_js_into_node(peer_dir, "server.mjs", &[("TUS_DIR", &store)], file)
        .map_err(|e| format!("tus-js-client -> @tus/server: {e}"))?;
    let stored = std::fs::read_dir(&store)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_none())
        .ok_or("@tus/server stored nothing")?;
    timed.checked(&stored, hash, size, &store)
}

/// tus-js-client (one PATCH) uploads `file` to `sink.mjs` in `peer_dir`
/// (`tests/tus-js/sink.mjs`), an endpoint that reads the body and keeps nothing: the most this
/// client sends on this machine, whatever the server. tus-js-client reports done only once the
/// answered offset is the file's length, and the endpoint answers the bytes it read.
pub fn tus_js_to_sink(peer_dir: &Path, file: &Path) -> Res<Timed> {
    tus_js_into_node(peer_dir, "sink.mjs", &[], file)
        .map_err(|e| format!("tus-js-client -> an endpoint that keeps nothing: {e}").into())
}

/// Starts the Node tus endpoint `script` of `peer_dir` on a free loopback port (with `env`),
/// then times the peer's `upload.mjs` sending `file` to it in one PATCH; fails unless the
/// client reports the upload done.
fn tus_js_into_node(
    peer_dir: &Path,
    script: &str,
    env: &[(&str, &Path)],
    file: &Path,
) -> Res<Timed> {
    let port = free_port()?;
    let mut command = Command::new("node");
    command
        .arg(peer_dir.join(script))
        .env("TUS_PORT", port.to_string())
        .current_dir(peer_dir)
        .stdout(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut server = Reaped(command.spawn()?);
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    if !line.contains("listening") {
        return Err(format!("{script} did not start: {line}").into());
    }
    let started = Instant::now();
    let out = Command::new("node")
        .arg(peer_dir.join("upload.mjs"))
        .arg(file)
        .arg("inf")
        .env("TUS_ENDPOINT", format!("http://127.0.0.1:{port}/files/"))
        .current_dir(peer_dir)
        .output()?;
    let secs = started.elapsed().as_secs_f64();
    let server_rss_kib = vm_hwm_kib(server.0.id())?;
    drop(server);
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !text.contains("\"ev\":\"done\"") {
        return Err(format!("the upload failed: {text}").into());
    }
    Ok(Timed {
        secs,
        server_rss_kib,
    })
}

/// nginx's WebDAV PUT of `file` (curl -T) on a free loopback port, then an fsync of the stored
/// file: the same bytes on disk and durable, over HTTP. Checks and removes the copy.
pub fn nginx_put_fsync(work: &Path, file: &Path, hash: &MediaHash, size: u64) -> Res<Timed> {
    let prefix = work.join("nginx");
    for sub in ["www", "body", "logs"] {
        std::fs::create_dir_all(prefix.join(sub))?;
    }
    let port = free_port()?;
    let p = prefix.display();
    // The default client_body_buffer_size (16k): the body goes to the temp file in pwrites
    // of that size, faster on this kind of VM than 1 MiB ones.
    let conf = format!(
        "daemon off; master_process off; worker_processes 1; error_log {p}/logs/error.log; pid {p}/nginx.pid;
events {{ worker_connections 64; }}
http {{ access_log off; client_max_body_size 0; client_body_temp_path {p}/body;
  proxy_temp_path {p}/body; fastcgi_temp_path {p}/body; uwsgi_temp_path {p}/body; scgi_temp_path {p}/body;
  server {{ listen 127.0.0.1:{port}; root {p}/www;
    location / {{ dav_methods PUT; create_full_put_path on; }} }} }}\n"
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let nginx = Reaped(
        Command::new("nginx")
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(prefix.join("logs/error.log"))
            .spawn()?,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("nginx did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let stored = prefix.join("www/footage.mp4");
    let started = Instant::now();
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-T"])
        .arg(file)
        .arg(format!("http://127.0.0.1:{port}/footage.mp4"))
        .output()?;
    std::fs::File::open(&stored)?.sync_all()?;
    let secs = started.elapsed().as_secs_f64();
    let server_rss_kib = vm_hwm_kib(nginx.0.id())?;
    drop(nginx);
    let code = String::from_utf8_lossy(&out.stdout).to_string();
    if !code.starts_with('2') {
        return Err(format!("nginx PUT failed: HTTP {code}").into());
    }
    let timed = Timed {
        secs,
        server_rss_kib,
    };
    timed.checked(&stored, hash, size, &prefix)
}

/// `dd bs=128K conv=fsync` of `file` into `work`: the same bytes written and made durable,
/// without HTTP (128 KiB writes are the fastest into this VM's page cache).
pub fn dd_fsync(work: &Path, file: &Path, hash: &MediaHash, size: u64) -> Res<Timed> {
    let copy = work.join("dd.out");
    let started = Instant::now();
    let status = Command::new("dd")
        .arg(format!("if={}", file.display()))
        .arg(format!("of={}", copy.display()))
        .args(["bs=128K", "conv=fsync", "status=none"])
        .status()?;
    let secs = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err("dd failed".into());
    }
    let timed = Timed {
        secs,
        server_rss_kib: 0,
    };
    timed.checked(&copy, hash, size, &copy)
}

/// `copy` holds exactly the bytes hashed to `hash`.
pub fn check_copy(copy: &Path, hash: &MediaHash, size: u64) -> Res<()> {
    let (copied, len) = MediaStore::hash_file(copy)?;
    if &copied != hash || len != size {
        return Err(format!("{} does not match its source", copy.display()).into());
    }
    Ok(())
}

fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
