//! # siteproof
//!
//! The `siteproof` command: run the sync server (`siteproof serve`) and administer it
//! (`siteproof admin ...`). Each group of subcommands lives in its own module; a new group is
//! a variant of [`Command`] and a module with a `run` function.

mod admin;
mod client;
mod config;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use config::LogFormat;

/// Offline-first covert inspection system: sync server and administration.
#[derive(Debug, Parser)]
#[command(name = "siteproof", version, about, propagate_version = true)]
struct Cli {
    /// How log lines are written to stderr: `text` for people, `json` (one object a line,
    /// with the request id of the request it belongs to) for log shippers [default: text].
    #[arg(long, global = true, env = "SITEPROOF_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the sync server (SQLite and media files under --data).
    Serve(serve::ServeArgs),
    /// Administer groups, enrollment codes, devices and templates (works next to a running
    /// server on the same --data directory).
    Admin(admin::AdminArgs),
    /// A desktop client on the same core as the phone: enroll, capture, sync, upload.
    Client(client::ClientArgs),
    /// Check a configuration file of `siteproof serve`.
    Config(config::ConfigArgs),
}

/// A command's failure, printed as one line to stderr.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Server(#[from] siteproof_server::Error),
    #[error(transparent)]
    Storage(#[from] siteproof_server::StorageError),
    #[error(transparent)]
    Core(#[from] siteproof_core::Error),
    #[error("{0}")]
    Usage(String),
    /// A check found a failure (evidence, custody chain).
    #[error("{0}")]
    Failed(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.log_format;
    let logs = move || {
        let filter = std::env::var("SITEPROOF_LOG");
        init_logging(
            format.unwrap_or_default(),
            filter.as_deref().unwrap_or(config::DEFAULT_LOG),
        );
    };
    let result = match cli.command {
        // Its configuration file may set the log options: it starts logging once it read it.
        Command::Serve(args) => serve::run(args, format).await,
        Command::Admin(args) => {
            logs();
            admin::run(args).await
        }
        Command::Config(args) => {
            logs();
            config::run(args)
        }
        // Disk and blocking HTTP: off the async runtime's threads.
        Command::Client(args) => {
            logs();
            tokio::task::spawn_blocking(move || client::run(args))
                .await
                .unwrap_or_else(|e| Err(CliError::Usage(format!("client command panicked: {e}"))))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("siteproof: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr in `format`, the lines `filter` (a tracing filter) lets through; a filter
/// that does not parse falls back to the default.
fn init_logging(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(config::DEFAULT_LOG));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        // The request's span (with its `request_id`) is on every line it logs.
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}
