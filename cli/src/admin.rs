//! `siteproof admin`: groups, enrollment codes, devices and templates, written straight into
//! the data directory's database (safe next to a running server: SQLite WAL, busy timeout).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use siteproof_core::DeviceId;
use siteproof_server::{GroupId, RegionCode, ServerConfig, Services};

use crate::CliError;

mod blobs;
mod evidence;
mod templates;
mod user;

/// Options of `siteproof admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Data directory of the server (holds siteproof.db).
    #[arg(long, env = "SITEPROOF_DATA", default_value = "siteproof-data")]
    data: PathBuf,
    /// Where the server keeps evidence files, as `siteproof serve --blobs` (a folder or
    /// `s3://BUCKET/PREFIX`). Default: blobs/ in --data.
    #[arg(long, env = "SITEPROOF_BLOBS")]
    blobs: Option<siteproof_server::blob::BlobLocation>,
    /// The server's database, as `siteproof serve --database`: a `postgres://` URL, or the
    /// embedded SQLite file in --data (the default).
    #[arg(long, env = "SITEPROOF_DATABASE_URL", default_value = "embedded")]
    database: siteproof_server::storage::Database,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Back the data directory up into a folder, safely while the server runs: one
    /// consistent database snapshot and every media file, hashed as copied. Run again into
    /// the same folder, only new media are copied.
    Backup {
        /// The backup folder (created if missing).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup into the data directory, which must be missing or empty. Every file
    /// is checked against the backup's manifest; the server is then started on it as usual.
    Restore {
        /// The backup folder.
        #[arg(long)]
        from: PathBuf,
    },
    /// Evidence files' stores.
    #[command(subcommand)]
    Blobs(blobs::BlobsCommand),
    #[command(flatten)]
    Data(DataCommand),
}

/// The commands that work on the opened services.
#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Groups of inspectors.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Issue a one-time code that enrolls one device into a group; prints the code.
    EnrollCode {
        /// The group id (from `group create` or `group list`).
        #[arg(long)]
        group: String,
        /// Hours until the code expires.
        #[arg(long, default_value_t = 24)]
        ttl_hours: u64,
    },
    /// Enrolled devices.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Checklist templates.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Back-office web users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Signed evidence: re-verify what is stored.
    #[command(subcommand)]
    Evidence(evidence::EvidenceCommand),
    /// The chain of custody: check it, export a visit's evidence package.
    #[command(subcommand)]
    Custody(evidence::CustodyCommand),
}

#[derive(Debug, Subcommand)]
enum GroupCommand {
    /// Create a group in a region (the region is created if new); prints the group id.
    Create {
        /// Region code, e.g. hebei.shijiazhuang.
        #[arg(long)]
        region: String,
        /// Display name of the group.
        #[arg(long)]
        name: String,
        /// Group id to use instead of a random one.
        #[arg(long)]
        id: Option<String>,
    },
    /// List groups: id, region, name.
    List,
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// List devices: id, region, group, status, name.
    List,
    /// Revoke a device: its token stops working at once.
    Revoke {
        /// The device id (from `device list`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TemplateCommand {
    /// Import template versions as drafts (checked, not yet sent to devices): JSON files, or
    /// directories of them (e.g. content/templates). Prints id@version of each.
    Import {
        /// Template JSON files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List every template version: id@version, state (draft or published), sector, items,
    /// title.
    List,
    /// Publish template versions to every region: imported drafts named id@version, or JSON
    /// files (imported and published at once). Devices receive them when they next sync.
    Publish {
        /// id@version of imported drafts, or template JSON files.
        #[arg(required = true)]
        templates: Vec<String>,
    },
}

/// Runs one admin command.
pub async fn run(args: AdminArgs) -> Result<(), CliError> {
    if matches!(
        args.command,
        AdminCommand::Backup { .. } | AdminCommand::Restore { .. }
    ) && !args.database.is_embedded()
    {
        return Err(CliError::Usage(
            "backup and restore copy the embedded SQLite file; a PostgreSQL database is backed \
             up with PostgreSQL's own tools and the blob store with its own (docs/deploy.md)"
                .into(),
        ));
    }
    // Backups read and write files only: no services, no migrations of what they copy.
    let command = match args.command {
        AdminCommand::Backup { to } => return backup(&args.data, &to),
        AdminCommand::Restore { from } => return restore(&from, &args.data),
        AdminCommand::Blobs(command) => return blobs::run(command).await,
        AdminCommand::Data(command) => command,
    };
    if !args.data.join("siteproof.db").exists() {
        std::fs::create_dir_all(&args.data).map_err(|source| CliError::Io {
            context: format!("cannot create {}", args.data.display()),
            source,
        })?;
    }
    let config = ServerConfig {
        blobs: args.blobs.clone().unwrap_or_default(),
        database: args.database.clone(),
        ..ServerConfig::default()
    };
    let services = Services::open(&args.data, config).await?;
    let done = run_on(command, &services).await;
    services.shutdown().await?;
    done
}

/// Runs one admin command on the opened services.
async fn run_on(command: DataCommand, services: &Services) -> Result<(), CliError> {
    let admin = &services.admin;
    match command {
        DataCommand::Group(GroupCommand::Create { region, name, id }) => {
            let region: RegionCode = region.parse().map_err(usage)?;
            let id = id
                .map(|id| id.parse::<GroupId>())
                .transpose()
                .map_err(usage)?;
            let group = admin.create_group(region, &name, id).await?;
            println!("{}", group.id);
        }
        DataCommand::Group(GroupCommand::List) => {
            for g in admin.list_groups().await? {
                println!("{}\t{}\t{}", g.id, g.region, g.name);
            }
        }
        DataCommand::EnrollCode { group, ttl_hours } => {
            let group: GroupId = group.parse().map_err(usage)?;
            let ttl = Duration::from_secs(ttl_hours.saturating_mul(3600));
            let issued = admin.issue_enrollment_code(&group, ttl).await?;
            println!("{}", issued.code);
        }
        DataCommand::User(command) => user::run(command, &services.backoffice).await?,
        DataCommand::Evidence(command) => {
            evidence::run_evidence(command, &services.evidence).await?;
        }
        DataCommand::Custody(command) => {
            evidence::run_custody(command, &services.evidence).await?;
        }
        DataCommand::Device(DeviceCommand::List) => {
            for d in admin.list_devices().await? {
                let status = if d.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{status}\t{}",
                    d.id, d.scope.region, d.scope.group, d.name
                );
            }
        }
        DataCommand::Device(DeviceCommand::Revoke { id }) => {
            let id: DeviceId = id.parse().map_err(usage)?;
            admin.revoke_device(&id).await?;
            println!("revoked {id}");
        }
        DataCommand::Template(command) => templates::run(command, &services.backoffice).await?,
    }
    Ok(())
}

fn usage(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

fn backup(data: &Path, to: &Path) -> Result<(), CliError> {
    let report = siteproof_server::backup::backup(data, to).map_err(backup_failed)?;
    let m = &report.manifest;
    println!(
        "backup {} in {}: database {} bytes, {} media file(s) ({} copied now), {} bytes copied",
        m.created_at,
        to.display(),
        m.database.size,
        m.blobs.len(),
        report.blobs_copied,
        report.bytes_copied
    );
    if report.damaged.is_empty() {
        Ok(())
    } else {
        for hash in &report.damaged {
            eprintln!("{hash}: the stored bytes do not match the name; left out");
        }
        Err(CliError::Failed(format!(
            "{} media file(s) in the data directory are damaged (see `admin evidence verify`)",
            report.damaged.len()
        )))
    }
}

fn restore(from: &Path, data: &Path) -> Result<(), CliError> {
    let report = siteproof_server::backup::restore(from, data).map_err(backup_failed)?;
    println!(
        "restored the backup of {} into {}: {} media file(s), {} bytes",
        report.manifest.created_at,
        data.display(),
        report.manifest.blobs.len(),
        report.bytes
    );
    Ok(())
}

fn backup_failed(e: siteproof_server::backup::BackupError) -> CliError {
    CliError::Failed(e.to_string())
}
