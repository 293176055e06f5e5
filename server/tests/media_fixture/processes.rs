//! Real processes and sockets for the resume tests: the `tus_server` and `tus_upload`
//! examples as children (so they can be SIGKILLed), a phone store on disk, and a TCP proxy
//! that counts (and can damage) the bytes a client sends.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_bytes::ByteBuf;
use siteproof_core::media::MediaStore;
use siteproof_core::sync::wire::{PushRecord, SyncRequest};
use siteproof_core::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::{TestServer, new_visit, template};

/// A server's data folder, and its PostgreSQL database when the suite runs there: what
/// server processes started on it share.
pub struct Data {
    pub dir: tempfile::TempDir,
    pub database: Option<crate::common::pg_fixture::TestDatabase>,
}

impl Data {
    /// The folder (and database) of `server`, closed.
    pub async fn closing(server: TestServer) -> Self {
        let (dir, database) = server.close_keeping_database().await;
        Self { dir, database }
    }

    /// A server process on this folder (and database), with `env` besides.
    pub fn start(&self, env: &[(String, String)]) -> ServerProcess {
        let mut env = env.to_vec();
        if let Some(db) = &self.database {
            env.push(("SITEPROOF_DATABASE_URL".into(), db.url()));
        }
        ServerProcess::start_with_env(self.dir.path(), &env)
    }

    /// The storage the processes share, opened as one more of them would.
    pub async fn storage(&self) -> std::sync::Arc<dyn siteproof_server::SyncStorage> {
        let database = match &self.database {
            Some(db) => siteproof_server::storage::Database::Postgres(db.url()),
            None => siteproof_server::storage::Database::Embedded,
        };
        database
            .open(self.dir.path())
            .await
            .expect("the processes' database")
    }

    /// Where a stored blob's bytes are on a folder blob store.
    pub fn blob(&self, hash: &str) -> PathBuf {
        self.dir.path().join("blobs").join("blobs").join(hash)
    }
}

/// A built example of this crate (cargo test builds them beside the test binaries).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join("examples").join(name);
    if !path.is_file() {
        build_examples();
    }
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// `cargo test --test x` builds no examples: build them (once per test binary).
fn build_examples() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "-p",
                "siteproof-server",
                "--example",
                "tus_server",
                "--example",
                "tus_upload",
            ])
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the examples failed");
    });
}

/// The `tus_server` example serving `data_dir`.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with_env(data_dir, &[])
    }

    /// With extra environment variables (`SITEPROOF_BLOBS`, `AWS_*`).
    pub fn start_with_env(data_dir: &Path, env: &[(String, String)]) -> Self {
        let mut child = Command::new(example("tus_server"))
            .arg(data_dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tus_server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("listening line");
        let addr = line
            .trim()
            .strip_prefix("listening http://")
            .expect("listening line")
            .parse()
            .expect("addr");
        Self { child, addr }
    }

    /// SIGKILL: no shutdown, no flush, like a crash.
    pub fn kill(mut self) {
        self.child.kill().expect("kill server");
        self.child.wait().expect("reap server");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A phone whose store and media live in a folder a child process can open.
pub struct DiskPhone {
    pub store: Store,
    pub media: MediaStore,
    pub token: String,
    pub dir: tempfile::TempDir,
}

impl DiskPhone {
    pub async fn enroll(server: &TestServer, group: &str) -> Self {
        Self::enroll_keyed(server, group, None).await
    }

    /// A phone whose store (and media) are encrypted at rest under `key`, when given.
    pub async fn enroll_keyed(
        server: &TestServer,
        group: &str,
        key: Option<&siteproof_core::StoreKey>,
    ) -> Self {
        let enrolled = server.enroll(group).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("phone.db");
        let mut store = match key {
            Some(key) => Store::open_encrypted(path, key).expect("encrypted store"),
            None => Store::open(path).expect("store"),
        };
        store
            .set_profile(&Profile {
                inspector: "李四".into(),
                scope: Scope::group(enrolled.region, enrolled.group),
            })
            .expect("profile");
        store.put_template(&template()).expect("template");
        let media = store.media_store(dir.path().join("media")).expect("media");
        Self {
            store,
            media,
            token: enrolled.token,
            dir,
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("phone.db")
    }

    /// Captures a visit with `file` as video evidence and pushes it to the server.
    pub async fn capture_and_sync(
        &mut self,
        server: &TestServer,
        file: &Path,
    ) -> (RecordId, MediaRef) {
        let visit = self
            .store
            .create_visit(new_visit(&template(), "某隧道工地"))
            .expect("visit");
        let capture = MediaCapture {
            kind: MediaKind::Video,
            mime: "video/mp4".into(),
            captured_at: None,
            location: None,
            poster: None,
        };
        let media_ref = self
            .store
            .add_evidence(&visit, &self.media, file, capture)
            .expect("evidence");
        let push = self
            .store
            .pending_changes(1000)
            .expect("pending")
            .into_iter()
            .map(|p| PushRecord {
                id: p.id,
                changes: p.changes.into_iter().map(ByteBuf::from).collect(),
            })
            .collect();
        let req = SyncRequest {
            cursor: None,
            push,
            need_full: vec![],
            max_bytes: 1 << 20,
            reads: Vec::new(),
        };
        let resp = server.sync(&self.token, &req).await;
        assert!(!resp.acked.is_empty(), "the visit reached the server");
        (visit, media_ref)
    }

    /// Drains this phone's upload queue with the core's uploader (blocking), on an
    /// unmetered network, never cancelled.
    pub fn upload_queue(
        &mut self,
        config: siteproof_core::media::UploaderConfig,
        progress: &mut dyn FnMut(&siteproof_core::media::UploadProgress),
    ) -> siteproof_core::media::UploadRun {
        let uploader = siteproof_core::media::Uploader::new(config).expect("uploader");
        uploader
            .run(
                &mut self.store,
                &self.media,
                siteproof_core::media::Network::Unmetered,
                &std::sync::atomic::AtomicBool::new(false),
                progress,
            )
            .expect("upload run")
    }

    /// Starts the `tus_upload` example on this phone's queue.
    pub fn upload_child(&self, endpoint: &str, chunk: usize) -> Child {
        Command::new(example("tus_upload"))
            .arg(self.db_path())
            .arg(self.dir.path().join("media"))
            .arg(endpoint)
            .arg(&self.token)
            .arg(chunk.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tus_upload")
    }
}

/// What the closing line of a `tus_upload` run said.
#[derive(Debug, Default)]
pub struct ChildRun {
    pub exit: Option<i32>,
    pub last_progress: u64,
    pub done_line: String,
}

impl ChildRun {
    pub fn field(&self, name: &str) -> u64 {
        self.done_line
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {:?}", self.done_line))
    }
}

/// Reads the child's lines; calls `on_progress(done)` after each, stopping early when it
/// returns true (the child is then still running). Returns what was seen.
pub fn follow(child: &mut Child, mut on_progress: impl FnMut(u64) -> bool) -> ChildRun {
    let stdout = child.stdout.take().expect("stdout");
    let mut run = ChildRun::default();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(rest) = line.strip_prefix("progress ") {
            run.last_progress = rest
                .split(' ')
                .next()
                .and_then(|d| d.parse().ok())
                .expect("done");
            if on_progress(run.last_progress) {
                return run;
            }
        } else if line.starts_with("done ") {
            run.done_line = line;
        }
    }
    run.exit = child.wait().expect("wait").code();
    run
}

/// A TCP proxy in front of the server: counts the bytes clients send and can flip one of
/// them (the `flip_at`-th byte of all client traffic), to damage a chunk in transit.
pub struct Proxy {
    pub addr: SocketAddr,
    pub upstream: Arc<Mutex<SocketAddr>>,
    pub sent: Arc<AtomicU64>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr, flip_at: Option<u64>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let upstream = Arc::new(Mutex::new(upstream));
        let sent = Arc::new(AtomicU64::new(0));
        let (up, counter) = (Arc::clone(&upstream), Arc::clone(&sent));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let target = *up.lock().expect("upstream");
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let to_server = async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            let start = counter.fetch_add(n as u64, Ordering::SeqCst);
                            if let Some(at) = flip_at
                                && (start..start + n as u64).contains(&at)
                            {
                                buf[(at - start) as usize] ^= 0x01;
                            }
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = sw.shutdown().await;
                    };
                    let to_client = async move {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                        let _ = cw.shutdown().await;
                    };
                    tokio::join!(to_server, to_client);
                });
            }
        });
        Self {
            addr,
            upstream,
            sent,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}/v1/uploads", self.addr)
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> String {
    let (hash, _) = MediaStore::hash_file(path).expect("hash");
    hash.to_string()
}

/// tuspy, a standard tus client from PyPI (`tests/tuspy_upload.py`), set to upload `file`
/// claimed as `sha256` for `record` in `chunk`-byte PATCHes. Asserts it is installed.
pub fn tuspy(
    endpoint: &str,
    token: &str,
    record: &str,
    sha256: &str,
    file: &Path,
    chunk: usize,
) -> Command {
    let probe = Command::new("python3")
        .args(["-c", "import tusclient"])
        .status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "this test needs python3 with tuspy: pip install tuspy (scripts/test-all.sh does)"
    );
    let mut command = Command::new("python3");
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/tuspy_upload.py"
        ))
        .args([endpoint, token, record, sha256])
        .arg(file)
        .arg(chunk.to_string());
    command
}

/// A tus request over real HTTP with the device's token and `Tus-Resumable`.
pub fn tus_over_http(
    client: &reqwest::Client,
    token: &str,
    method: reqwest::Method,
    url: String,
) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .header("authorization", format!("Bearer {token}"))
        .header("tus-resumable", "1.0.0")
}
