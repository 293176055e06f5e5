//! Built-in TLS (rustls), for small offices without an HTTPS proxy: the server presents the
//! certificate chain and key read from two PEM files, and reads them again on SIGHUP without
//! closing its listener. Connections opened after the reload see the new certificate; those
//! already open keep the one they shook hands with. A reload that fails (a missing file, a key
//! that does not match) keeps the previous certificate and logs why.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// Where the certificate chain and its private key are read from (PEM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why a certificate could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("cannot read {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The files were read but do not make a usable certificate (e.g. the key does not match).
    #[error("unusable certificate or key: {0}")]
    Unusable(#[from] rustls::Error),
}

/// The certificate presented to every new connection; [`CertificateReloader::reload`] swaps
/// it in place.
#[derive(Debug)]
pub struct CertificateReloader {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertificateReloader {
    /// Reads `files` once; fails if they do not make a usable certificate.
    pub fn load(files: TlsFiles) -> Result<Arc<Self>, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let current = RwLock::new(Arc::new(certified_key(&files, &provider)?));
        Ok(Arc::new(Self {
            files,
            provider,
            current,
        }))
    }

    /// Reads the files again and presents the new certificate to connections opened from now
    /// on. On failure the previous certificate stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = Arc::new(certified_key(&self.files, &self.provider)?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    /// A handshake acceptor that asks this reloader for the certificate on every connection.
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        // The server speaks HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    /// Reloads on every SIGHUP, for as long as the process runs.
    pub async fn reload_on_hangup(self: Arc<Self>) {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut hangups = match signal(SignalKind::hangup()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGHUP: no certificate reload");
                    return;
                }
            };
            while hangups.recv().await.is_some() {
                match self.reload() {
                    Ok(()) => tracing::info!(
                        cert = %self.files.cert.display(),
                        "TLS certificate reloaded"
                    ),
                    Err(e) => tracing::error!(
                        error = %e,
                        "TLS certificate reload failed; the previous certificate stays"
                    ),
                }
            }
        }
    }
}

impl ResolvesServerCert for CertificateReloader {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|e| e.into_inner()),
        ))
    }
}

fn certified_key(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let unreadable = |path: &Path, reason: String| TlsError::File {
        path: path.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| unreadable(&files.cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(unreadable(&files.cert, "no CERTIFICATE block".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| unreadable(&files.key, e.to_string()))?;
    Ok(CertifiedKey::from_der(chain, key, provider)?)
}
