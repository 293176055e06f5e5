//! `siteproof admin evidence ...` and `siteproof admin custody ...`: re-verifying stored
//! evidence, checking the custody chain, exporting a visit's evidence package
//! (`docs/evidence.md`). Each reports failures on stderr and exits non-zero.

use std::path::PathBuf;

use clap::Subcommand;
use siteproof_core::RecordId;
use siteproof_server::evidence::{EvidenceService, EvidenceStatus};

use crate::CliError;

/// `siteproof admin evidence ...`.
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Re-hash every stored piece of evidence and re-check its signature; lists what is not
    /// verified and fails if any is rejected (bytes changed, bad signature).
    Verify,
}

/// `siteproof admin custody ...`.
#[derive(Debug, Subcommand)]
pub enum CustodyCommand {
    /// Check the whole custody chain; fails at the first broken link, naming its seq.
    Verify,
    /// Write a visit's evidence package (originals, statements, signatures, public keys,
    /// custody entries, manifest) for a third party to check.
    Export {
        /// The visit's record id.
        #[arg(long)]
        visit: String,
        /// The folder to write (created; must be empty).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs an evidence command on the data directory `data`.
pub async fn run_evidence(
    command: EvidenceCommand,
    service: &EvidenceService,
) -> Result<(), CliError> {
    match command {
        EvidenceCommand::Verify => {
            let checks = service.reverify_all("admin").await?;
            let mut rejected = 0;
            for c in &checks {
                if c.status != EvidenceStatus::Verified {
                    println!(
                        "{}\t{}\t{}\t{}",
                        c.status.code(),
                        c.record,
                        c.hash,
                        c.reason.as_deref().unwrap_or("")
                    );
                }
                rejected += usize::from(c.status == EvidenceStatus::Rejected);
            }
            if rejected > 0 {
                return Err(CliError::Failed(format!(
                    "{rejected} of {} piece(s) of evidence failed verification",
                    checks.len()
                )));
            }
            println!("{} piece(s) of evidence checked", checks.len());
        }
    }
    Ok(())
}

/// Runs a custody command on the data directory `data`.
pub async fn run_custody(
    command: CustodyCommand,
    service: &EvidenceService,
) -> Result<(), CliError> {
    match command {
        CustodyCommand::Verify => {
            let evidence = service;
            match evidence.verify_chain().await? {
                Ok(n) => println!("custody chain intact: {n} entries"),
                Err(broken) => {
                    return Err(CliError::Failed(format!(
                        "custody chain broken at seq {}: {broken}",
                        broken.seq()
                    )));
                }
            }
            if let Some(head) = evidence.chain_head().await? {
                println!("head: seq {} entry_hash {}", head.seq, head.entry_hash);
            }
        }
        CustodyCommand::Export { visit, out } => {
            let visit: RecordId = visit
                .parse()
                .map_err(|e: siteproof_core::Error| CliError::Usage(e.to_string()))?;
            let summary = service.export_visit(&visit, &out, "admin").await?;
            println!(
                "{}: {} file(s), {} signed, {} custody entries",
                out.display(),
                summary.originals,
                summary.signed,
                summary.custody_entries
            );
        }
    }
    Ok(())
}
