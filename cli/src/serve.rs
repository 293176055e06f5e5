//! `siteproof serve`: the embedded server (SQLite file + media directory under `--data`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use siteproof_server::{ServerConfig, Services, serve, serve_metrics, shutdown_signal};

use crate::CliError;

mod demo;
mod png;

/// Options of `siteproof serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Data directory: holds siteproof.db and blobs/ (created if missing).
    #[arg(long, env = "SITEPROOF_DATA", default_value = "siteproof-data")]
    data: PathBuf,
    /// Where evidence files live: a folder, or `s3://BUCKET/PREFIX` for S3-compatible object
    /// storage (endpoint, region and credentials from AWS_ENDPOINT_URL, AWS_REGION,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP). Default: blobs/ in --data.
    #[arg(long, env = "SITEPROOF_BLOBS")]
    blobs: Option<siteproof_server::blob::BlobLocation>,
    /// Address to listen on.
    #[arg(long, env = "SITEPROOF_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Serve `GET /metrics` (Prometheus text format) on this address instead of on --listen.
    /// Without it the metrics are on the main listener.
    #[arg(long, env = "SITEPROOF_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Largest sync request body accepted, in MiB.
    #[arg(long, default_value_t = 32)]
    sync_body_limit_mib: usize,
    /// Seed a demo region (groups, users, templates, visits by simulated phones) and print
    /// the back office's URL and logins. Session cookies then work over plain HTTP.
    #[arg(long)]
    demo: bool,
    /// Send the back office's session cookie without `Secure`, for plain HTTP on a trusted
    /// network (browsers drop Secure cookies from http:// origins other than localhost).
    #[arg(long)]
    cookies_over_http: bool,
    /// Where the demo reads the checklist templates from.
    #[arg(long, default_value = "content/templates")]
    demo_templates: PathBuf,
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<(), CliError> {
    let mut config = ServerConfig {
        sync_body_limit: args.sync_body_limit_mib.saturating_mul(1 << 20),
        blobs: args.blobs.clone().unwrap_or_default(),
        ..ServerConfig::default()
    };
    // The demo serves plain HTTP too.
    config.office.secure_cookies = !(args.cookies_over_http || args.demo);
    config.metrics_on_main_listener = args.metrics_listen.is_none();
    let state = Services::open(&args.data, config)?;
    if let Some(addr) = args.metrics_listen {
        let listener = bind(addr).await?;
        tracing::info!(addr = %addr, "metrics listening");
        // Ends with the process: the main listener's shutdown closes the storage, and
        // metrics read nothing from it.
        tokio::spawn(async move {
            if let Err(e) = serve_metrics(listener, std::future::pending()).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    let listener = bind(args.listen).await?;
    let local = listener.local_addr().map_err(|source| CliError::Io {
        context: "cannot read the listening address".into(),
        source,
    })?;
    tracing::info!(addr = %local, data = %args.data.display(), "siteproof server listening");
    if args.demo {
        return demo::run(listener, state, &args.data, &args.demo_templates).await;
    }
    serve(listener, state, shutdown_signal())
        .await
        .map_err(|source| CliError::Io {
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
