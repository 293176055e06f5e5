//! A real Garage node: `scripts/garage.sh start` in a temporary folder (its cached binary,
//! free 127.0.0.1 ports, layout, key, bucket `siteproof`), killed when dropped. Each test gets
//! a node of its own, so tests run in parallel. Used by the server's and the CLI's tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use siteproof_server::blob::{S3BlobStore, S3Location};

/// The bucket the script creates.
pub const BUCKET: &str = "siteproof";

pub struct Garage {
    /// `AWS_*` variables reaching it, for child processes.
    pub env: Vec<(String, String)>,
    pid: u32,
    pub dir: tempfile::TempDir,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("garage.sh")
}

impl Garage {
    pub fn start() -> Self {
        let bin = Command::new(script())
            .arg("path")
            .output()
            .expect("scripts/garage.sh path");
        let bin = String::from_utf8_lossy(&bin.stdout).trim().to_string();
        assert!(
            Path::new(&bin).is_file(),
            "Garage is not installed at {bin}: run scripts/garage.sh install (scripts/test-all.sh does)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(script())
            .arg("start")
            .arg(dir.path())
            .output()
            .expect("scripts/garage.sh start");
        assert!(
            out.status.success(),
            "Garage did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut env = Vec::new();
        let mut pid = None;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some((key, value)) = line
                .strip_prefix("export ")
                .and_then(|kv| kv.split_once('='))
            else {
                continue;
            };
            if key == "GARAGE_PID" {
                pid = value.parse().ok();
            } else {
                env.push((key.to_string(), value.to_string()));
            }
        }
        Self {
            env,
            pid: pid.expect("GARAGE_PID"),
            dir,
        }
    }

    /// `s3://siteproof/<prefix>` with this node's endpoint and key.
    pub fn location(&self, prefix: &str) -> S3Location {
        let mut location = S3Location::parse(&format!("s3://{BUCKET}/{prefix}"))
            .expect("s3 url")
            .expect("valid");
        location.settings = self
            .env
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        location
    }

    /// Its process id (for its CPU time).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn store(&self, prefix: &str) -> S3BlobStore {
        S3BlobStore::from_env(&self.location(prefix)).expect("s3 store")
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
    }
}
