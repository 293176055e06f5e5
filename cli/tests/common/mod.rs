//! Helpers shared by the end-to-end tests of the `siteproof` binary: run it, and run
//! `siteproof serve` on a free loopback port for the length of a test.
#![allow(dead_code)] // each test binary uses its own subset

pub mod office;

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Runs the binary.
pub fn siteproof(args: &[&str]) -> Output {
    siteproof_with_env(args, &[])
}

/// Runs the binary with extra environment variables (`AWS_*` for a bucket).
pub fn siteproof_with_env(args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siteproof"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run siteproof")
}

/// Standard output and error together.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the binary, asserts success, returns its trimmed standard output.
pub fn ok(args: &[&str]) -> String {
    let out = siteproof(args);
    assert!(out.status.success(), "{args:?} failed: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A running `siteproof serve`, killed when dropped.
pub struct Server {
    child: Child,
    /// The thread copying the server's standard error to its log file, joined after the
    /// server exits so the file is complete when the server is dropped.
    log: Option<std::thread::JoinHandle<()>>,
    /// The metrics listener's address, when the server logged one before its main listener.
    metrics: Option<String>,
}

impl From<Child> for Server {
    fn from(child: Child) -> Self {
        Self {
            child,
            log: None,
            metrics: None,
        }
    }
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if the server has exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("wait for the server")
    }

    /// The `--metrics-listen` address the server bound (it logs it before its main listener).
    pub fn metrics_address(&self) -> &str {
        self.metrics
            .as_deref()
            .expect("the server logged a metrics listener")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(log) = self.log.take() {
            let _ = log.join();
        }
    }
}

/// Starts `siteproof serve --data DATA` on a free port; returns it and its URL.
pub fn start_server(data: &str) -> (Server, String) {
    start_server_with(data, &[], None)
}

/// Starts `siteproof serve --data DATA ARGS...` on a port the server picks itself (no window
/// in which another test could take a port chosen here), its standard error written to `log`
/// if given; returns it and its URL, read from the server's "listening" log line. A
/// `--metrics-listen 127.0.0.1:0` in `args` is read the same way ([`Server::metrics_address`]).
pub fn start_server_with(
    data: &str,
    args: &[&str],
    log: Option<&std::path::Path>,
) -> (Server, String) {
    let mut log = log.map(|path| std::fs::File::create(path).expect("log file"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_siteproof"))
        .args(["serve", "--data", data, "--listen", "127.0.0.1:0"])
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start server");
    let stderr = child.stderr.take().expect("piped stderr");
    let (send, listening) = std::sync::mpsc::channel();
    let copier = std::thread::spawn(move || {
        use std::io::{BufRead, Write};
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(log) = log.as_mut() {
                let _ = writeln!(log, "{line}");
            }
            let kind = if line.contains("siteproof server listening") {
                Listener::Main
            } else if line.contains("metrics listening") {
                Listener::Metrics
            } else {
                continue;
            };
            if let Some(addr) = listening_address(&line) {
                let _ = send.send((kind, addr));
            }
        }
    });
    let mut server = Server {
        child,
        log: Some(copier),
        metrics: None,
    };
    loop {
        let (kind, addr) = listening
            .recv_timeout(Duration::from_secs(20))
            .expect("the server logs the address it listens on");
        match kind {
            Listener::Metrics => server.metrics = Some(addr),
            Listener::Main => return (server, format!("http://{addr}")),
        }
    }
}

/// Which listener a "listening" log line names.
enum Listener {
    Main,
    Metrics,
}

/// The `addr` of a "listening" log line, in the text format (`addr=...`) or JSON.
fn listening_address(line: &str) -> Option<String> {
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(line) {
        return json["fields"]["addr"].as_str().map(str::to_string);
    }
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("addr="))
        .map(str::to_string)
}

/// Publishes the gas operators' template and creates a group in region hebei on the server's
/// data directory; returns the group id.
pub fn publish_gas_template_and_create_group(data: &str) -> String {
    let template = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../content/templates/gas-operator-major.json"
    );
    ok(&["admin", "--data", data, "template", "publish", template]);
    ok(&[
        "admin",
        "--data",
        data,
        "group",
        "create",
        "--region",
        "hebei",
        "--name",
        "督导一组",
    ])
}

/// Enrolls a laptop client at `home` into `group` of the server at `url` (data in `data`).
pub fn enroll_client(data: &str, group: &str, url: &str, home: &str, inspector: &str) -> String {
    let code = ok(&["admin", "--data", data, "enroll-code", "--group", group]);
    ok(&[
        "client",
        "--home",
        home,
        "enroll",
        "--server",
        url,
        "--code",
        &code,
        "--inspector",
        inspector,
    ])
}

/// Creates a visit to `site` on the gas operators' checklist; returns its id.
pub fn create_gas_visit(home: &str, site: &str, address: &str) -> String {
    ok(&[
        "client",
        "--home",
        home,
        "create",
        "--site",
        site,
        "--sector",
        "gas",
        "--template",
        "gas-operator-major",
        "--address",
        address,
    ])
}

/// A running server with the gas template and a group, and one laptop enrolled in it that
/// has created a visit, all under one folder.
pub struct Scene {
    pub server: Server,
    pub url: String,
    pub data: String,
    pub group: String,
    pub home: String,
    pub visit: String,
}

pub fn laptop_with_a_visit(dir: &std::path::Path) -> Scene {
    let data = dir.join("server").to_str().expect("utf-8").to_owned();
    let (server, url) = start_server(&data);
    let group = publish_gas_template_and_create_group(&data);
    let home = dir.join("laptop").to_str().expect("utf-8").to_owned();
    enroll_client(&data, &group, &url, &home, "张三");
    let visit = create_gas_visit(&home, "某隧道施工现场", "保定");
    Scene {
        server,
        url,
        data,
        group,
        home,
        visit,
    }
}

/// A running `siteproof serve` whose log lines (stderr) the test reads; killed when dropped.
pub struct LoggedServer {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl LoggedServer {
    /// Starts `siteproof serve ARGS` with `env` set (and the `SITEPROOF_*` variables the
    /// tests use and `GLIBC_TUNABLES` removed from the inherited environment), plain-text
    /// logs without colour.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_siteproof"));
        command.arg("serve").args(args);
        for name in [
            "SITEPROOF_CONFIG",
            "SITEPROOF_DATA",
            "SITEPROOF_LISTEN",
            "SITEPROOF_LOG",
            "SITEPROOF_LOG_FORMAT",
            "SITEPROOF_SYNC_BODY_LIMIT_MIB",
            "SITEPROOF_TLS_CERT",
            "SITEPROOF_TLS_KEY",
            "GLIBC_TUNABLES",
        ] {
            command.env_remove(name);
        }
        command.env("NO_COLOR", "1").envs(env.iter().copied());
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start server");
        let stderr = child.stderr.take().expect("piped stderr");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The next log line containing `needle`; panics if the server exits or stays silent
    /// for 30 s first.
    pub fn wait_for(&self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no log line with {needle:?}: {e}"),
            }
        }
    }

    /// Waits until the server listens; returns the `addr=` and `data=` of its log line.
    pub fn listening(&self) -> (std::net::SocketAddr, String) {
        let line = self.wait_for("siteproof server listening");
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {line}"))
                .to_string()
        };
        (field("addr=").parse().expect("an address"), field("data="))
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
