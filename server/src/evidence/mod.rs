//! Signed evidence and the chain of custody (`docs/evidence.md`).
//!
//! When an upload completes, [`EvidenceService`] checks the file's signed statement: the
//! record that names the file holds a [`siteproof_core::MediaRef`] with the capturing device's
//! signature; the statement is rebuilt from it ([`siteproof_core::evidence::statement`]) and
//! checked against the public key the signing device registered at enrollment, and its hash
//! and size against the stored blob. The outcome is kept in `evidence` (migration 003):
//! `verified`, `unverified` (unsigned, or no key to check with) or `rejected` with a reason.
//!
//! Every upload, verification, view, export and case event is appended to the hash-chained
//! custody log. Both are kept by the storage's [`CustodyStore`], so the evidence row and its
//! custody entry commit together and the chain has one order across server processes.

mod package;
mod pem;
mod verify;

use std::collections::BTreeMap;
use std::sync::Arc;

use siteproof_core::{MediaHash, RecordId};

pub use crate::storage::{BrokenLink, CustodyEntry, CustodyEvent};
pub use package::PackageSummary;
pub use pem::public_key_pem;

use crate::blob::BlobStore;
use crate::error::{Error, Result};
use crate::storage::{CustodyStore, EvidenceRow, SyncStorage};

/// The outcome of checking one piece of evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceStatus {
    /// The signature holds for the registered key and the statement matches the stored bytes.
    Verified,
    /// Not signed, or the signer registered no key: kept, never shown as verified.
    Unverified,
    /// The signature or the bytes do not hold: kept apart, flagged with the reason.
    Rejected,
}

impl EvidenceStatus {
    /// The code stored and shown.
    pub fn code(self) -> &'static str {
        match self {
            EvidenceStatus::Verified => "verified",
            EvidenceStatus::Unverified => "unverified",
            EvidenceStatus::Rejected => "rejected",
        }
    }
}

/// What checking one file of one record found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceCheck {
    /// The record naming the file.
    pub record: RecordId,
    /// The file.
    pub hash: MediaHash,
    /// The outcome.
    pub status: EvidenceStatus,
    /// Why, unless verified.
    pub reason: Option<String>,
}

/// Checks evidence and keeps the custody log.
pub struct EvidenceService {
    custody: Arc<dyn CustodyStore>,
    storage: Arc<dyn SyncStorage>,
    blobs: Arc<dyn BlobStore>,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("evidence: {e}"))
}

impl EvidenceService {
    /// The service over a storage (whose [`CustodyStore`] keeps the log and the checks) and
    /// its blob store.
    pub fn new(storage: Arc<dyn SyncStorage>, blobs: Arc<dyn BlobStore>) -> Self {
        Self {
            custody: storage.custody_store(),
            storage,
            blobs,
        }
    }

    /// Appends one custody entry.
    pub async fn log(&self, event: CustodyEvent) -> Result<CustodyEntry> {
        Ok(self.custody.append(&event).await?)
    }

    /// Records a completed upload of `hash` for `record` by `actor`, then checks it.
    pub async fn on_upload(
        &self,
        actor: &str,
        record: &RecordId,
        hash: &MediaHash,
        size: u64,
    ) -> Result<EvidenceCheck> {
        self.log(CustodyEvent {
            actor: actor.to_owned(),
            action: "upload".into(),
            subject: hash.to_string(),
            details: serde_json::json!({ "record": record.as_str(), "size": size }),
        })
        .await?;
        // The upload path has just hashed the bytes; re-verification reads them again.
        self.check(record, hash, false, "server").await
    }

    /// Checks `hash` as evidence of `record` (re-hashing the stored bytes if `rehash`), stores
    /// the outcome and logs it, in one transaction.
    pub async fn check(
        &self,
        record: &RecordId,
        hash: &MediaHash,
        rehash: bool,
        actor: &str,
    ) -> Result<EvidenceCheck> {
        let found = self.examine(record, hash, rehash).await?;
        let check = found.check.clone();
        let row = EvidenceRow {
            record: found.check.record.to_string(),
            hash: found.check.hash.to_string(),
            size: found.size,
            signer: found.signer.clone(),
            status: found.check.status.code().into(),
            reason: found.check.reason.clone(),
            statement: found.statement,
            signature: found.signature.map(|s| s.to_vec()),
            checked_at: siteproof_core::now(),
        };
        let event = CustodyEvent {
            actor: actor.to_owned(),
            action: "verify".into(),
            subject: found.check.hash.to_string(),
            details: serde_json::json!({
                "record": found.check.record.as_str(),
                "status": found.check.status.code(),
                "reason": found.check.reason,
                "signer": found.signer,
            }),
        };
        self.custody.record_check(&row, &event).await?;
        crate::metrics::evidence_check(check.status.code());
        if check.status != EvidenceStatus::Verified {
            tracing::warn!(record = %check.record, hash = %check.hash, status = check.status.code(),
                reason = check.reason.as_deref().unwrap_or(""), "evidence not verified");
        }
        Ok(check)
    }

    /// Re-hashes every stored piece of evidence and re-checks its signature; returns every
    /// outcome (each is stored and logged).
    pub async fn reverify_all(&self, actor: &str) -> Result<Vec<EvidenceCheck>> {
        let rows = self.custody.checked().await?;
        let mut out = Vec::with_capacity(rows.len());
        for (record, hash) in rows {
            let record: RecordId = record.parse().map_err(internal)?;
            let hash: MediaHash = hash.parse().map_err(internal)?;
            out.push(self.check(&record, &hash, true, actor).await?);
        }
        Ok(out)
    }

    /// Logs that `actor` viewed or downloaded `hash` (through `record`, if named).
    pub async fn log_view(
        &self,
        actor: &str,
        hash: &MediaHash,
        record: Option<&RecordId>,
        what: &str,
    ) -> Result<()> {
        self.log(CustodyEvent {
            actor: actor.to_owned(),
            action: "view".into(),
            subject: hash.to_string(),
            details: serde_json::json!({ "record": record.map(RecordId::as_str), "what": what }),
        })
        .await
        .map(drop)
    }

    /// Checks the whole custody chain: the number of entries, or the first broken link.
    pub async fn verify_chain(&self) -> Result<std::result::Result<u64, BrokenLink>> {
        Ok(self.custody.verify_chain().await?)
    }

    /// The chain's last entry, if any: the value to record outside the server (print it,
    /// send it elsewhere) so a rewrite of the whole chain would show.
    pub async fn chain_head(&self) -> Result<Option<CustodyEntry>> {
        Ok(self.custody.head().await?)
    }

    /// The status of each file of `record` that was checked, by hash.
    pub async fn statuses(&self, record: &str) -> Result<BTreeMap<String, String>> {
        Ok(self.custody.statuses(record).await?)
    }
}
