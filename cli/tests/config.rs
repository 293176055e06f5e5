//! `siteproof serve`'s configuration on the real binary: a TOML file, `SITEPROOF_*`
//! environment variables over it and flags over both; `siteproof config check` on good and
//! bad files, and the example file in `docs/`.

mod common;

use std::path::Path;

use common::{LoggedServer, siteproof, text};

/// Sets `data`, `listen` and `sync-body-limit-mib`; the listen address's host tells which
/// layer won.
fn write_config(dir: &Path) -> String {
    let file = dir.join("siteproof.toml");
    let data = dir.join("from-file");
    std::fs::write(
        &file,
        format!(
            "data = {:?}\nlisten = \"127.0.0.2:0\"\nsync-body-limit-mib = 1\n",
            data.to_str().expect("utf-8")
        ),
    )
    .expect("write config");
    file.to_str().expect("utf-8").to_string()
}

/// A 2 MiB sync body without a token: 413 naming the limit in force (the body limit answers
/// before authentication), or 401 under the default limit of 32 MiB.
fn sync_refusal(addr: std::net::SocketAddr) -> (u16, String) {
    let response = reqwest::blocking::Client::new()
        .post(format!("http://{addr}/v1/sync"))
        .header("content-type", "application/cbor")
        .body(vec![0u8; 2 << 20])
        .send()
        .expect("request");
    (
        response.status().as_u16(),
        response.text().expect("body text"),
    )
}

/// A layering case: its name, flags, environment, and the host and data directory expected.
type Case<'a> = (
    &'a str,
    Vec<&'a str>,
    &'a [(&'a str, &'a str)],
    &'a str,
    &'a Path,
);

#[test]
fn the_environment_overrides_the_file_and_flags_override_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path());
    let env_data = dir.path().join("from-env");
    let flag_data = dir.path().join("from-flag");
    let env = [
        ("SITEPROOF_DATA", env_data.to_str().expect("utf-8")),
        ("SITEPROOF_LISTEN", "127.0.0.3:0"),
    ];
    let cases: [Case<'_>; 3] = [
        (
            "file",
            vec!["--config", &config],
            &[],
            "127.0.0.2",
            &dir.path().join("from-file"),
        ),
        (
            "env over file",
            vec!["--config", &config],
            &env,
            "127.0.0.3",
            &env_data,
        ),
        (
            "flags over env and file",
            vec![
                "--config",
                &config,
                "--data",
                flag_data.to_str().expect("utf-8"),
                "--listen",
                "127.0.0.4:0",
            ],
            &env,
            "127.0.0.4",
            &flag_data,
        ),
    ];
    for (case, args, env, host, data) in cases {
        let server = LoggedServer::start(&args, env);
        let (addr, logged_data) = server.listening();
        assert_eq!(addr.ip().to_string(), host, "{case}: listen");
        assert_eq!(Path::new(&logged_data), data, "{case}: data");
        assert!(data.join("siteproof.db").exists(), "{case}: database made");
        // The limit only the file sets holds in every case.
        let (status, body) = sync_refusal(addr);
        assert_eq!(status, 413, "{case}: {body}");
        assert!(body.contains("1048576"), "{case}: {body}");
    }
}

#[test]
fn without_a_file_the_defaults_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    let server = LoggedServer::start(
        &[
            "--data",
            data.to_str().expect("utf-8"),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    let (addr, _) = server.listening();
    let (status, body) = sync_refusal(addr);
    assert_eq!(status, 401, "32 MiB by default: {body}");
}

#[test]
fn config_check_prints_the_configuration_in_force_with_secrets_masked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("s3.toml");
    std::fs::write(
        &file,
        "data = \"/var/lib/siteproof\"\nblobs = \"s3://evidence/hebei\"\nlog-format = \"json\"\n",
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_siteproof"))
        .args(["config", "check", file.to_str().expect("utf-8")])
        .env("SITEPROOF_LISTEN", "0.0.0.0:8443")
        .env("AWS_SECRET_ACCESS_KEY", "very-secret-key")
        .env("AWS_REGION", "garage")
        .env("SITEPROOF_TRUSTED_PROXY", "10.0.0.0/8,192.168.10.5")
        .env_remove("SITEPROOF_LOG_FORMAT")
        .env_remove("SITEPROOF_DATA")
        .output()
        .expect("run");
    let printed = text(&out);
    assert!(out.status.success(), "{printed}");
    for expected in [
        "data = \"/var/lib/siteproof\"",
        "blobs = \"s3://evidence/hebei\"",
        "listen = \"0.0.0.0:8443\"",
        "sync-body-limit-mib = 32",
        "log-format = \"json\"",
        "trusted-proxy = [\"10.0.0.0/8\", \"192.168.10.5/32\"]",
        "# AWS_REGION = \"garage\"",
        "# AWS_SECRET_ACCESS_KEY = \"********\"",
    ] {
        assert!(printed.contains(expected), "{expected} missing:\n{printed}");
    }
    assert!(!printed.contains("very-secret-key"), "{printed}");
}

#[test]
fn the_database_url_is_read_from_file_and_environment_and_printed_without_its_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pg.toml");
    std::fs::write(
        &file,
        "database = \"postgres://file:file-secret@db-a:5432/siteproof\"\n",
    )
    .expect("write");
    let check = |env: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_siteproof"));
        command.args(["config", "check", file.to_str().expect("utf-8")]);
        match env {
            Some(url) => command.env("SITEPROOF_DATABASE_URL", url),
            None => command.env_remove("SITEPROOF_DATABASE_URL"),
        };
        let out = command.output().expect("run");
        (out.status.success(), text(&out))
    };
    let (ok, printed) = check(None);
    assert!(ok, "{printed}");
    assert!(
        printed.contains("database = \"postgres://file:***@db-a:5432/siteproof\""),
        "{printed}"
    );
    assert!(!printed.contains("file-secret"), "{printed}");
    // The environment overrides the file.
    let (ok, printed) = check(Some(
        "postgresql://env:env-secret@db-b/office?sslmode=require",
    ));
    assert!(ok, "{printed}");
    assert!(
        printed.contains("database = \"postgresql://env:***@db-b/office?sslmode=require\""),
        "{printed}"
    );
    assert!(!printed.contains("env-secret"), "{printed}");
    // Anything but a PostgreSQL URL is refused, naming the form.
    let (ok, printed) = check(Some("mysql://db/x"));
    assert!(!ok, "{printed}");
    assert!(
        printed.contains("postgres://USER:PASSWORD@HOST"),
        "{printed}"
    );
}

#[test]
fn config_check_names_the_bad_key_and_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, content, expected) in [
        (
            "unknown.toml",
            "data = \"/srv\"\nlistn = \"127.0.0.1:1\"\n",
            vec!["line 2", "unknown field `listn`"],
        ),
        (
            "zero.toml",
            "data = \"/srv\"\n\nsync-body-limit-mib = 0\n",
            vec!["line 3", "nonzero"],
        ),
        (
            "address.toml",
            "listen = \"localhost\"\n",
            vec!["line 1", "invalid socket address"],
        ),
        (
            "format.toml",
            "log-format = \"xml\"\n",
            vec!["line 1", "unknown variant `xml`"],
        ),
        (
            "proxy.toml",
            "data = \"/srv\"\ntrusted-proxy = [\"10.0.0.0/33\"]\n",
            vec!["line 2", "10.0.0.0/33", "is no network"],
        ),
        (
            "tls.toml",
            "tls-cert = \"/etc/cert.pem\"\n",
            vec!["tls-cert and tls-key go together"],
        ),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, content).expect("write");
        let out = siteproof(&["config", "check", file.to_str().expect("utf-8")]);
        let printed = text(&out);
        assert!(!out.status.success(), "{name} passed: {printed}");
        for e in expected {
            assert!(printed.contains(e), "{name}: {e} missing in {printed}");
        }
    }
}

#[test]
fn the_example_configuration_in_docs_parses() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/siteproof.example.toml"
    );
    let out = siteproof(&["config", "check", example]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn backup_and_restore_refuse_a_postgres_database_and_say_what_to_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let to = dir.path().join("backup");
    for args in [
        vec!["backup", "--to", to.to_str().expect("utf-8")],
        vec!["restore", "--from", to.to_str().expect("utf-8")],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_siteproof"))
            .args(["admin", "--data", data.to_str().expect("utf-8")])
            .args(["--database", "postgres://u:p@127.0.0.1:1/none"])
            .args(&args)
            .output()
            .expect("run");
        let printed = text(&out);
        assert!(!out.status.success(), "{args:?}: {printed}");
        assert!(printed.contains("PostgreSQL's own tools"), "{printed}");
        assert!(!to.exists() && !data.exists(), "nothing written: {printed}");
    }
}
