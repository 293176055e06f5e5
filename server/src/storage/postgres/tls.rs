//! TLS to PostgreSQL (rustls). The database URL is libpq's, with the TLS parameters an
//! operator already writes for `psql`:
//!
//! - `sslmode=disable`: no TLS.
//! - `sslmode=prefer` (the default): TLS when the server offers it, plaintext when it does not.
//! - `sslmode=require`, `verify-ca`, `verify-full`: TLS or no connection.
//! - `sslrootcert=PATH`: the CA certificates (PEM) the server's certificate must chain to;
//!   without it, the system's trusted roots.
//!
//! Whenever TLS is used, the server's certificate and its name (the URL's host, also when
//! `hostaddr` gives the address) are verified: unlike libpq's `prefer` and `require`, there is
//! no encrypted-but-unverified connection, and a failed verification is an error, never a fall
//! back to plaintext. Client certificates (`sslcert`, `sslkey`) are refused by name.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::storage::{StorageError, StorageResult};

/// URL parameters libpq has and this backend does not: refused with their name rather than as
/// an unknown option.
const UNSUPPORTED: [&str; 4] = ["sslcert", "sslkey", "sslpassword", "sslcrl"];

/// The connection settings and TLS connector a database URL describes.
pub(super) fn from_url(url: &str) -> StorageResult<(tokio_postgres::Config, MakeRustlsConnect)> {
    let (url, root_cert) = split_tls_params(url)?;
    let config = tokio_postgres::Config::from_str(&url).map_err(|e| {
        StorageError::Backend(format!(
            "the database URL is not a PostgreSQL connection string: {e}"
        ))
    })?;
    let roots = match root_cert {
        Some(path) => roots_from_file(Path::new(&path))?,
        None => system_roots(),
    };
    Ok((config, connector(roots)?))
}

/// A connector that trusts the system's roots.
pub(super) fn with_system_roots() -> StorageResult<MakeRustlsConnect> {
    connector(system_roots())
}

/// Takes `sslrootcert` out of the URL's query (tokio-postgres does not know it) and maps the
/// verifying modes to `require`, since every TLS connection here is verified. The other
/// parameters stay as written.
fn split_tls_params(url: &str) -> StorageResult<(String, Option<String>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut kept = Vec::new();
    let mut root_cert = None;
    for segment in query.split('&').filter(|s| !s.is_empty()) {
        let Some((key, value)) = form_urlencoded::parse(segment.as_bytes()).next() else {
            continue;
        };
        match key.as_ref() {
            "sslrootcert" => root_cert = Some(value.into_owned()),
            "sslmode" if matches!(value.as_ref(), "verify-ca" | "verify-full") => {
                kept.push("sslmode=require");
            }
            k if UNSUPPORTED.contains(&k) => {
                return Err(StorageError::Backend(format!(
                    "the database URL's `{k}` is not supported: siteproof signs in to \
                     PostgreSQL with a password, not a client certificate"
                )));
            }
            _ => kept.push(segment),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, root_cert))
}

fn roots_from_file(path: &Path) -> StorageResult<RootCertStore> {
    let unreadable = |reason: String| {
        StorageError::Backend(format!(
            "the database URL's sslrootcert {}: {reason}",
            path.display()
        ))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(e.to_string()))?;
    if certs.is_empty() {
        return Err(unreadable("no PEM certificate in it".into()));
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| unreadable(format!("not a usable CA certificate: {e}")))?;
    }
    Ok(roots)
}

/// The system's trusted roots. None at all is not an error here: a server that offers TLS then
/// fails verification, with rustls' reason in the connection error.
fn system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!(error = %e, "reading the system's trusted certificates");
    }
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    roots
}

fn connector(roots: RootCertStore) -> StorageResult<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StorageError::Backend(format!("TLS to the database: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_certificate_is_taken_out_and_the_rest_kept_as_written() {
        let (url, root) = split_tls_params(
            "postgres://u:p%40ss@db:5432/x?application_name=a%20b&sslrootcert=%2Fetc%2Fca%20one.pem\
             &sslmode=verify-full&connect_timeout=5",
        )
        .expect("valid");
        assert_eq!(
            url,
            "postgres://u:p%40ss@db:5432/x?application_name=a%20b&sslmode=require&connect_timeout=5"
        );
        assert_eq!(root.as_deref(), Some("/etc/ca one.pem"));
        let (url, root) = split_tls_params("postgres://db/x?sslrootcert=ca.pem").expect("valid");
        assert_eq!(
            (url.as_str(), root.as_deref()),
            ("postgres://db/x", Some("ca.pem"))
        );
        let (url, root) = split_tls_params("postgres://db/x").expect("valid");
        assert_eq!((url.as_str(), root), ("postgres://db/x", None));
    }

    #[test]
    fn client_certificates_are_refused_by_name() {
        let refused = split_tls_params("postgres://db/x?sslcert=c.pem&sslkey=k.pem");
        assert!(
            matches!(&refused, Err(StorageError::Backend(m)) if m.contains("`sslcert`")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_root_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").expect("write");
        let refused = roots_from_file(&path);
        assert!(
            matches!(&refused, Err(StorageError::Backend(m)) if m.contains("no PEM certificate")),
            "{:?}",
            refused.err()
        );
        let missing = roots_from_file(&dir.path().join("absent.pem"));
        assert!(
            matches!(&missing, Err(StorageError::Backend(m)) if m.contains("absent.pem")),
            "{:?}",
            missing.err()
        );
    }
}
