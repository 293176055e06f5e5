//! The PostgreSQL backend against clusters of its own, started by `scripts/postgres.sh` for
//! what a shared test cluster cannot show: TLS with a certificate made here (the server then
//! refuses plaintext over TCP, so a connection that works was encrypted), and the database
//! restarting under a storage that is in use.

use std::path::{Path, PathBuf};
use std::process::Command;

mod pki_fixture;

use siteproof_server::SyncStorage;
use siteproof_server::storage::{PostgresStorage, StorageError};

/// A throwaway cluster in a folder of its own, stopped and removed on drop.
struct Cluster {
    dir: PathBuf,
    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    url: String,
}

impl Cluster {
    /// Starts a cluster; with `certificate` (leaf and key, PEM) it speaks TLS and requires it.
    fn start(certificate: Option<(&str, &str)>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("siteproof-pg-cluster.")
            .tempdir()
            .expect("cluster folder")
            .keep();
        if let Some((cert, key)) = certificate {
            std::fs::write(dir.join("server.crt"), cert).expect("write the certificate");
            std::fs::write(dir.join("server.key"), key).expect("write the key");
        }
        let out = script("start", &dir);
        let exports = String::from_utf8(out).expect("utf-8");
        let url = exports
            .trim()
            .strip_prefix("export SITEPROOF_TEST_DATABASE_URL=")
            .unwrap_or_else(|| panic!("unexpected output of postgres.sh start: {exports}"))
            .to_owned();
        Self { dir, url }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        script("stop", &self.dir);
    }
}

/// Runs `scripts/postgres.sh COMMAND DIR`; its standard output.
fn script(command: &str, dir: &Path) -> Vec<u8> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres.sh");
    let out = Command::new(&script)
        .arg(command)
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "postgres.sh {command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Opens the storage at `url`; the error's text when it is refused.
async fn refusal(url: &str) -> String {
    match PostgresStorage::open(url).await {
        Ok(_) => panic!("{url} was accepted"),
        Err(StorageError::Backend(message)) => message,
        Err(e) => panic!("{url}: unexpected error {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_database_verifies_the_certificate_and_its_name() {
    let ours = pki_fixture::authority("siteproof test database CA");
    let theirs = pki_fixture::authority("someone else's CA");
    let cluster = Cluster::start(Some((&ours.leaf_pem, &ours.leaf_key_pem)));
    let keys = tempfile::tempdir().expect("folder");
    let ca = keys.path().join("ca.pem");
    let other_ca = keys.path().join("other-ca.pem");
    std::fs::write(&ca, &ours.ca_pem).expect("write");
    std::fs::write(&other_ca, &theirs.ca_pem).expect("write");
    let url = &cluster.url;

    for mode in ["require", "verify-full", "prefer"] {
        let storage = PostgresStorage::open(&format!(
            "{url}?sslmode={mode}&sslrootcert={}",
            ca.display()
        ))
        .await
        .unwrap_or_else(|e| panic!("sslmode={mode} with the cluster's CA: {e}"));
        storage.check_ready().await.expect("ready over TLS");
        assert!(storage.list_groups().await.expect("a query").is_empty());
        storage.close().await.expect("close");
    }

    // The cluster refuses plaintext over TCP: the connections above were encrypted.
    let plain = refusal(&format!("{url}?sslmode=disable")).await;
    assert!(plain.contains("no encryption"), "{plain}");
    // Another CA, or none (the system's roots do not know this one): refused, and `prefer`
    // does not fall back to plaintext.
    for roots in [
        format!("&sslrootcert={}", other_ca.display()),
        String::new(),
    ] {
        let untrusted = refusal(&format!("{url}?sslmode=prefer{roots}")).await;
        assert!(untrusted.contains("UnknownIssuer"), "{untrusted}");
    }
    // The right CA, but the URL names a host the certificate is not for.
    let elsewhere = url.replacen("127.0.0.1", "db.invalid", 1);
    let wrong_name = refusal(&format!(
        "{elsewhere}?hostaddr=127.0.0.1&sslmode=require&sslrootcert={}",
        ca.display()
    ))
    .await;
    assert!(wrong_name.contains("not valid for name"), "{wrong_name}");
    let missing = refusal(&format!("{url}?sslrootcert=/nonexistent/ca.pem")).await;
    assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storage_carries_on_after_the_database_restarts() {
    let cluster = Cluster::start(None);
    let storage = PostgresStorage::open(&cluster.url).await.expect("open");
    for round in 0..3 {
        // Several connections in the pool, all of which the restart ends.
        let busy = futures_util::future::join_all((0..8).map(|_| storage.list_groups())).await;
        assert!(busy.iter().all(Result::is_ok), "round {round}: {busy:?}");
        let restarting = tokio::task::spawn_blocking({
            let dir = cluster.dir.clone();
            move || script("restart", &dir)
        });
        restarting.await.expect("restart");
        storage
            .check_ready()
            .await
            .unwrap_or_else(|e| panic!("the first operation after restart {round}: {e}"));
        let after = futures_util::future::join_all((0..8).map(|_| storage.list_groups())).await;
        assert!(after.iter().all(Result::is_ok), "round {round}: {after:?}");
    }
    storage.close().await.expect("close");
}
