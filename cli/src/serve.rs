//! `siteproof serve`: the embedded server (SQLite file + media directory under `--data`),
//! over HTTP or, with `--tls-cert` and `--tls-key`, HTTPS.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use siteproof_server::identity::TrustedProxies;
use siteproof_server::tls::{CertificateReloader, TlsFiles};
use siteproof_server::{ServerConfig, Services, serve, serve_metrics, serve_tls, shutdown_signal};

use crate::CliError;
use crate::config::LogFormat;
use crate::config::{ServeConfig, ServeOptions};

mod demo;
mod png;

/// Options of `siteproof serve`: from `--config FILE`, then `SITEPROOF_*`, then the flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML file with any of the options below (keys as the flags without `--`);
    /// SITEPROOF_* environment variables override it and flags override both.
    #[arg(long, env = "SITEPROOF_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    options: ServeOptions,
}

impl ServeArgs {
    /// The options in force: the file's, under the environment's and the flags';
    /// `log_format` is the global `--log-format` (or `SITEPROOF_LOG_FORMAT`).
    fn settle(self, log_format: Option<LogFormat>) -> Result<ServeConfig, CliError> {
        let file = match &self.config {
            Some(path) => ServeOptions::from_file(path)?,
            None => ServeOptions::default(),
        };
        let mut options = self.options;
        options.log_format = log_format;
        options.log = std::env::var("SITEPROOF_LOG").ok();
        options.over(file).settle()
    }
}

/// Reads the configuration, starts logging as it says, and runs the server until Ctrl-C or
/// SIGTERM.
pub async fn run(args: ServeArgs, log_format: Option<LogFormat>) -> Result<(), CliError> {
    let options = args.settle(log_format)?;
    crate::init_logging(options.log_format, &options.log);
    // Starts this process again with the allocator's limits when they are not set yet.
    siteproof_server::allocator::limit_retention();
    let mut config = ServerConfig {
        sync_body_limit: options.sync_body_limit_mib.get().saturating_mul(1 << 20),
        blobs: options.blobs.clone().unwrap_or_default(),
        database: options.database.clone(),
        trusted_proxies: TrustedProxies::new(options.trusted_proxy.clone()),
        ..ServerConfig::default()
    };
    // The demo serves plain HTTP too.
    config.office.secure_cookies = !(options.cookies_over_http || options.demo);
    let certificate = match (&options.tls_cert, &options.tls_key) {
        (Some(cert), Some(key)) => Some(
            CertificateReloader::load(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            })
            .map_err(|e| CliError::Usage(e.to_string()))?,
        ),
        _ => None,
    };
    config.metrics_on_main_listener = options.metrics_listen.is_none();
    let state = Services::open(&options.data, config).await?;
    if let Some(addr) = options.metrics_listen {
        let listener = bind(addr).await?;
        let bound = listener.local_addr().map_err(|source| CliError::Io {
            context: "cannot read the metrics listener's address".into(),
            source,
        })?;
        tracing::info!(addr = %bound, "metrics listening");
        // Ends with the process: the main listener's shutdown closes the storage, and
        // metrics read nothing from it.
        tokio::spawn(async move {
            if let Err(e) = serve_metrics(listener, std::future::pending()).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    let listener = bind(options.listen).await?;
    let local = listener.local_addr().map_err(|source| CliError::Io {
        context: "cannot read the listening address".into(),
        source,
    })?;
    let scheme = if certificate.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(addr = %local, scheme, data = %options.data.display(), database = %options.database, "siteproof server listening");
    if options.demo {
        return demo::run(listener, state, &options.data, &options.demo_templates).await;
    }
    let served = match certificate {
        Some(certificate) => {
            tokio::spawn(std::sync::Arc::clone(&certificate).reload_on_hangup());
            serve_tls(listener, state, &certificate, shutdown_signal()).await
        }
        None => serve(listener, state, shutdown_signal()).await,
    };
    served.map_err(|source| CliError::Io {
        context: "server failed".into(),
        source,
    })
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, CliError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| CliError::Io {
            context: format!("cannot listen on {addr}"),
            source,
        })
}
