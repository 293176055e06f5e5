//! `siteproof admin blobs migrate --from LOC --to LOC`: copies every evidence file between a
//! folder and S3-compatible object storage (either way), verifying each by its hash.

use clap::Subcommand;
use siteproof_server::blob::BlobLocation;
use siteproof_server::blob::migrate::{Moved, migrate};

use crate::CliError;

/// `siteproof admin blobs ...`.
#[derive(Debug, Subcommand)]
pub enum BlobsCommand {
    /// Copy every blob (with its metadata and thumbnail) from one store to another, each
    /// hashed as it streams and stored only if the hash is its name. Blobs already at the
    /// destination are skipped: run it again to resume. Fails if any blob is damaged.
    Migrate {
        /// The source: a blob folder (a data directory's blobs/) or s3://BUCKET/PREFIX.
        #[arg(long)]
        from: BlobLocation,
        /// The destination, the same forms (endpoint and credentials from the AWS_* variables).
        #[arg(long)]
        to: BlobLocation,
    },
}

/// Runs a blobs command.
pub async fn run(command: BlobsCommand) -> Result<(), CliError> {
    let BlobsCommand::Migrate { from, to } = command;
    let open = |location: &BlobLocation| {
        if location == &BlobLocation::DataDir {
            return Err(CliError::Usage("name a folder or an s3:// URL".into()));
        }
        location
            .open(std::path::Path::new("."))
            .map_err(|e| CliError::Failed(format!("cannot open {location:?}: {e}")))
    };
    let (source, destination) = (open(&from)?, open(&to)?);
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} blobs {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = migrate(
        source.as_ref(),
        destination.as_ref(),
        |done, total, hash, moved| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            if *moved == Moved::Damaged {
                bar.set_message(format!("damaged: {hash}"));
            }
        },
    )
    .await
    .map_err(|e| CliError::Failed(format!("migration stopped: {e}")))?;
    bar.finish_and_clear();
    println!(
        "{} copied ({} bytes), {} already there, {} damaged, {} without metadata",
        report.copied,
        report.bytes,
        report.present,
        report.damaged.len(),
        report.without_meta.len()
    );
    for hash in &report.damaged {
        println!("damaged\t{hash}");
    }
    if !report.damaged.is_empty() {
        return Err(CliError::Failed(format!(
            "{} blob(s) do not match their hash and were not copied",
            report.damaged.len()
        )));
    }
    Ok(())
}
