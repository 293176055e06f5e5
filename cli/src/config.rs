//! The configuration of `siteproof serve`: a TOML file (`--config`), `SITEPROOF_*`
//! environment variables over it, and flags over both. [`ServeOptions`] names every option
//! once: clap reads it from the flags and the environment (flags win), serde from the file;
//! [`ServeOptions::over`] lays one layer over another and [`ServeOptions::settle`] fills in the
//! defaults and checks what spans several options. `siteproof config check FILE` runs the same
//! path and prints the result. `docs/operations.md` ("Configuration") lists the keys.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::{Args, Subcommand};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use siteproof_server::blob::BlobLocation;
use siteproof_server::identity::ProxyNet;
use siteproof_server::storage::Database;

use crate::CliError;

/// Every option of `siteproof serve`, each `None` where a layer leaves it unset.
#[derive(Clone, Debug, Default, Args, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServeOptions {
    /// Data directory: holds siteproof.db and blobs/ (created if missing)
    /// [default: siteproof-data].
    #[arg(long, env = "SITEPROOF_DATA")]
    pub data: Option<PathBuf>,
    /// Where evidence files live: a folder, or `s3://BUCKET/PREFIX` for S3-compatible object
    /// storage (endpoint, region and credentials from AWS_ENDPOINT_URL, AWS_REGION,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP). Default: blobs/ in --data.
    #[arg(long, env = "SITEPROOF_BLOBS")]
    #[serde(default, deserialize_with = "parsed")]
    pub blobs: Option<BlobLocation>,
    /// The database: `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (libpq's URL, with its
    /// `sslmode` and `sslrootcert`) for a PostgreSQL database that several server processes
    /// share, or `embedded` [default: embedded, siteproof.db in --data].
    #[arg(long, env = "SITEPROOF_DATABASE_URL")]
    #[serde(default, deserialize_with = "parsed")]
    pub database: Option<Database>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SITEPROOF_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Serve `GET /metrics` (Prometheus text format) on this address instead of on --listen.
    /// Without it the metrics are on the main listener.
    #[arg(long, env = "SITEPROOF_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// A load balancer or reverse proxy (an address or CIDR; repeat for several, or separate
    /// them with commas): from these peers the client's address for login, enrollment and
    /// lead limits is taken from X-Forwarded-For, from any other peer it is the socket's.
    #[arg(
        long = "trusted-proxy",
        env = "SITEPROOF_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    #[serde(default)]
    pub trusted_proxy: Vec<ProxyNet>,
    /// Largest sync request body accepted, in MiB [default: 32].
    #[arg(long, env = "SITEPROOF_SYNC_BODY_LIMIT_MIB")]
    pub sync_body_limit_mib: Option<NonZeroUsize>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key. SIGHUP
    /// reloads both files without closing the listener.
    #[arg(long, env = "SITEPROOF_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "SITEPROOF_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Seed a demo region (groups, users, templates, visits by simulated phones) and print
    /// the back office's URL and logins. Session cookies then work over plain HTTP.
    #[arg(long, env = "SITEPROOF_DEMO", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub demo: Option<bool>,
    /// Send the back office's session cookie without `Secure`, for plain HTTP on a trusted
    /// network (browsers drop Secure cookies from http:// origins other than localhost).
    #[arg(long, env = "SITEPROOF_COOKIES_OVER_HTTP", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub cookies_over_http: Option<bool>,
    /// Where the demo reads the checklist templates from [default: content/templates].
    #[arg(long, env = "SITEPROOF_DEMO_TEMPLATES")]
    pub demo_templates: Option<PathBuf>,
    /// The global `--log-format` (`SITEPROOF_LOG_FORMAT`), not a flag of `serve`.
    #[arg(skip)]
    pub log_format: Option<LogFormat>,
    /// Which log lines are written, as `SITEPROOF_LOG` (a tracing filter such as
    /// `info,siteproof_server=debug`); no flag.
    #[arg(skip)]
    pub log: Option<String>,
}

/// The format of log lines (`--log-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// The log filter when neither `SITEPROOF_LOG` nor the file sets one: automerge logs an error
/// event for every strict load that finds history missing, which checking untrusted changes
/// does on purpose.
pub const DEFAULT_LOG: &str = "info,automerge=off";

/// The options of `siteproof serve` in force, every default filled in.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ServeConfig {
    /// See [`ServeOptions::data`].
    pub data: PathBuf,
    /// `None`: `blobs/` in the data directory.
    #[serde(serialize_with = "shown", skip_serializing_if = "Option::is_none")]
    pub blobs: Option<BlobLocation>,
    /// See [`ServeOptions::database`]; shown without its password.
    #[serde(serialize_with = "shown_database")]
    pub database: Database,
    /// See [`ServeOptions::listen`].
    pub listen: SocketAddr,
    /// See [`ServeOptions::metrics_listen`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<SocketAddr>,
    /// See [`ServeOptions::trusted_proxy`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxy: Vec<ProxyNet>,
    /// See [`ServeOptions::sync_body_limit_mib`].
    pub sync_body_limit_mib: NonZeroUsize,
    /// Both or neither: HTTPS with this certificate chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// Its private key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// See [`ServeOptions::demo`].
    pub demo: bool,
    /// See [`ServeOptions::cookies_over_http`].
    pub cookies_over_http: bool,
    /// See [`ServeOptions::demo_templates`].
    pub demo_templates: PathBuf,
    /// See [`ServeOptions::log_format`].
    pub log_format: LogFormat,
    /// See [`ServeOptions::log`].
    pub log: String,
}

impl ServeOptions {
    /// Reads a configuration file; unknown keys and bad values are errors naming the key and
    /// its line.
    pub fn from_file(path: &Path) -> Result<Self, CliError> {
        let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
            context: format!("cannot read the configuration file {}", path.display()),
            source,
        })?;
        toml::from_str(&text)
            .map_err(|e| CliError::Usage(format!("configuration file {}: {e}", path.display())))
    }

    /// The options set only by `SITEPROOF_*` environment variables.
    pub fn from_env() -> Result<Self, CliError> {
        use clap::FromArgMatches;
        let command = Self::augment_args(clap::Command::new("siteproof-env"));
        let matches = command
            .try_get_matches_from(["siteproof-env"])
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let mut options =
            Self::from_arg_matches(&matches).map_err(|e| CliError::Usage(e.to_string()))?;
        options.log = std::env::var("SITEPROOF_LOG").ok();
        if let Ok(format) = std::env::var("SITEPROOF_LOG_FORMAT") {
            use clap::ValueEnum;
            options.log_format = Some(
                LogFormat::from_str(&format, true)
                    .map_err(|e| CliError::Usage(format!("SITEPROOF_LOG_FORMAT: {e}")))?,
            );
        }
        Ok(options)
    }

    /// These options, with `lower`'s wherever these leave one unset.
    pub fn over(self, lower: Self) -> Self {
        Self {
            data: self.data.or(lower.data),
            blobs: self.blobs.or(lower.blobs),
            database: self.database.or(lower.database),
            listen: self.listen.or(lower.listen),
            metrics_listen: self.metrics_listen.or(lower.metrics_listen),
            // A list set in a higher layer replaces the lower one's whole.
            trusted_proxy: if self.trusted_proxy.is_empty() {
                lower.trusted_proxy
            } else {
                self.trusted_proxy
            },
            sync_body_limit_mib: self.sync_body_limit_mib.or(lower.sync_body_limit_mib),
            tls_cert: self.tls_cert.or(lower.tls_cert),
            tls_key: self.tls_key.or(lower.tls_key),
            demo: self.demo.or(lower.demo),
            cookies_over_http: self.cookies_over_http.or(lower.cookies_over_http),
            demo_templates: self.demo_templates.or(lower.demo_templates),
            log_format: self.log_format.or(lower.log_format),
            log: self.log.or(lower.log),
        }
    }

    /// The defaults filled in; fails on options that do not go together.
    pub fn settle(self) -> Result<ServeConfig, CliError> {
        let config = ServeConfig {
            data: self.data.unwrap_or_else(|| "siteproof-data".into()),
            blobs: self.blobs,
            database: self.database.unwrap_or_default(),
            listen: self
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            metrics_listen: self.metrics_listen,
            trusted_proxy: self.trusted_proxy,
            sync_body_limit_mib: self
                .sync_body_limit_mib
                .unwrap_or(NonZeroUsize::new(32).expect("32 is not zero")),
            tls_cert: self.tls_cert,
            tls_key: self.tls_key,
            demo: self.demo.unwrap_or(false),
            cookies_over_http: self.cookies_over_http.unwrap_or(false),
            demo_templates: self
                .demo_templates
                .unwrap_or_else(|| "content/templates".into()),
            log_format: self.log_format.unwrap_or_default(),
            log: self.log.unwrap_or_else(|| DEFAULT_LOG.into()),
        };
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.log) {
            return Err(CliError::Usage(format!(
                "log: {:?} is no log filter: {e}",
                config.log
            )));
        }
        match (&config.tls_cert, &config.tls_key) {
            (Some(_), None) | (None, Some(_)) => Err(CliError::Usage(
                "tls-cert and tls-key go together: give both or neither".into(),
            )),
            (Some(_), Some(_)) if config.demo => Err(CliError::Usage(
                "the demo serves plain HTTP: drop demo or tls-cert and tls-key".into(),
            )),
            _ => Ok(config),
        }
    }
}

impl ServeConfig {
    /// The configuration as TOML, as `config check` prints it. It holds no secrets (the S3
    /// credentials stay in the environment); those the server will read are listed below it,
    /// masked.
    pub fn to_toml(&self) -> Result<String, CliError> {
        let mut text = toml::to_string(self)
            .map_err(|e| CliError::Usage(format!("cannot print the configuration: {e}")))?;
        if matches!(self.blobs, Some(BlobLocation::S3(_))) {
            text.push_str("\n# S3 settings from the environment (secrets masked):\n");
            for (name, secret) in S3_ENVIRONMENT {
                let shown = match std::env::var(name) {
                    Err(_) => "(unset)".to_owned(),
                    Ok(_) if *secret => "\"********\"".to_owned(),
                    Ok(value) => format!("{value:?}"),
                };
                text.push_str(&format!("# {name} = {shown}\n"));
            }
        }
        Ok(text)
    }
}

/// The environment variables the S3 blob store reads, and whether each is a secret.
const S3_ENVIRONMENT: &[(&str, bool)] = &[
    ("AWS_ENDPOINT_URL", false),
    ("AWS_REGION", false),
    ("AWS_ACCESS_KEY_ID", true),
    ("AWS_SECRET_ACCESS_KEY", true),
    ("AWS_SESSION_TOKEN", true),
    ("AWS_ALLOW_HTTP", false),
];

/// `siteproof config ...`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file of `siteproof serve` (unknown keys and bad values are
    /// errors) and print the configuration in force with it and the SITEPROOF_* environment,
    /// secrets masked.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
}

/// Runs `siteproof config ...`.
pub fn run(args: ConfigArgs) -> Result<(), CliError> {
    match args.command {
        ConfigCommand::Check { file } => {
            let effective = ServeOptions::from_env()?
                .over(ServeOptions::from_file(&file)?)
                .settle()?;
            print!("{}", effective.to_toml()?);
            Ok(())
        }
    }
}

/// A file value parsed by its type's `FromStr`, as its flag is.
fn parsed<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let raw = String::deserialize(deserializer)?;
    raw.parse().map(Some).map_err(serde::de::Error::custom)
}

fn shown<S: Serializer>(blobs: &Option<BlobLocation>, serializer: S) -> Result<S::Ok, S::Error> {
    match blobs {
        None | Some(BlobLocation::DataDir) => serializer.serialize_none(),
        Some(BlobLocation::Folder(dir)) => dir.serialize(serializer),
        Some(BlobLocation::S3(s3)) => serializer.collect_str(s3),
    }
}

fn shown_database<S: Serializer>(database: &Database, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(database)
}
