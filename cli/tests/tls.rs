//! Built-in TLS on the real binary: `serve --tls-cert --tls-key` answers HTTPS with a
//! certificate made in the test; after the files are replaced and the process gets SIGHUP, a
//! new connection sees the new certificate; a reload that fails keeps the previous one.

mod common;
#[path = "../../server/tests/pki_fixture/mod.rs"]
mod pki_fixture;

use std::path::Path;
use std::process::Command;

use common::LoggedServer;
use pki_fixture::{Authority, authority};

fn install(authority: &Authority, cert: &Path, key: &Path) {
    std::fs::write(cert, &authority.leaf_pem).expect("write certificate");
    std::fs::write(key, &authority.leaf_key_pem).expect("write key");
}

/// `GET /v1/health` over a new connection from a client that trusts only `ca_pem`.
fn health_trusting(ca_pem: &str, addr: std::net::SocketAddr) -> Result<u16, reqwest::Error> {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA PEM");
    let client = reqwest::blocking::Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("client");
    client
        .get(format!("https://{addr}/v1/health"))
        .send()
        .map(|r| r.status().as_u16())
}

fn hang_up(server: &LoggedServer) {
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
fn https_serves_the_certificate_and_sighup_swaps_it_for_new_connections() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let (first, second) = (authority("first test CA"), authority("second test CA"));
    install(&first, &cert, &key);
    let server = LoggedServer::start(
        &[
            "--data",
            dir.path().join("data").to_str().expect("utf-8"),
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().expect("utf-8"),
            "--tls-key",
            key.to_str().expect("utf-8"),
        ],
        &[],
    );
    let (addr, _) = server.listening();

    assert_eq!(health_trusting(&first.ca_pem, addr).expect("https"), 200);
    assert!(
        health_trusting(&second.ca_pem, addr).is_err(),
        "the second CA did not sign the certificate in use"
    );
    let plain = reqwest::blocking::get(format!("http://{addr}/v1/health"));
    assert!(
        plain.is_err() || plain.is_ok_and(|r| !r.status().is_success()),
        "no plain HTTP on the TLS port"
    );

    install(&second, &cert, &key);
    hang_up(&server);
    server.wait_for("TLS certificate reloaded");
    assert_eq!(health_trusting(&second.ca_pem, addr).expect("https"), 200);
    assert!(
        health_trusting(&first.ca_pem, addr).is_err(),
        "new connections see the new certificate"
    );

    // A key that does not match: the reload fails and the certificate in use stays.
    std::fs::write(&key, &first.leaf_key_pem).expect("write key");
    hang_up(&server);
    server.wait_for("TLS certificate reload failed");
    assert_eq!(health_trusting(&second.ca_pem, addr).expect("https"), 200);
}

#[test]
fn a_certificate_without_its_key_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, authority("CA").leaf_pem).expect("write");
    let out = common::siteproof(&[
        "serve",
        "--data",
        dir.path().join("data").to_str().expect("utf-8"),
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().expect("utf-8"),
        "--tls-key",
        dir.path().join("missing.pem").to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    assert!(
        common::text(&out).contains("missing.pem"),
        "{}",
        common::text(&out)
    );
}
