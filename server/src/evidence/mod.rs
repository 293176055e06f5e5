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
//! custody log ([`custody`]). Like the back office, this module works on the server's SQLite
//! file through a connection of its own.

pub mod custody;
mod package;
mod pem;
mod verify;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, params};
use siteproof_core::{MediaHash, RecordId};

pub use custody::{BrokenLink, CustodyEntry, CustodyEvent};
pub use package::PackageSummary;
pub use pem::public_key_pem;

use crate::blob::BlobStore;
use crate::error::{Error, Result};
use crate::storage::{SharedConnection, SyncStorage};

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
    conn: SharedConnection,
    storage: Arc<dyn SyncStorage>,
    blobs: Arc<dyn BlobStore>,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("evidence: {e}"))
}

impl EvidenceService {
    /// The service over the server's SQLite file at `db_path` (opened and migrated by
    /// [`crate::SqliteStorage`] first), its storage and its blob store.
    pub fn open(
        db_path: &Path,
        storage: Arc<dyn SyncStorage>,
        blobs: Arc<dyn BlobStore>,
    ) -> Result<Self> {
        Ok(Self {
            conn: SharedConnection::open(db_path).map_err(internal)?,
            storage,
            blobs,
        })
    }

    /// Runs `work` on the connection on a blocking thread.
    async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.conn.run(move |c| work(c).map_err(internal)).await
    }

    /// Waits for the work in flight and closes the connection.
    pub async fn close(&self) {
        self.conn.close().await;
    }

    /// Appends one custody entry.
    pub async fn log(&self, event: CustodyEvent) -> Result<CustodyEntry> {
        self.run(move |c| custody::append(c, &event)).await
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
        let actor = actor.to_owned();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let at = siteproof_core::now();
            tx.execute(
                "INSERT OR REPLACE INTO evidence
                 (record_id, hash, size, signer, status, reason, statement, signature, checked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    found.check.record.as_str(),
                    found.check.hash.as_str(),
                    found.size as i64,
                    found.signer,
                    found.check.status.code(),
                    found.check.reason,
                    found.statement,
                    found.signature.as_ref().map(|s| &s[..]),
                    at
                ],
            )?;
            custody::append_in(
                &tx,
                &CustodyEvent {
                    actor,
                    action: "verify".into(),
                    subject: found.check.hash.to_string(),
                    details: serde_json::json!({
                        "record": found.check.record.as_str(),
                        "status": found.check.status.code(),
                        "reason": found.check.reason,
                        "signer": found.signer,
                    }),
                },
                at,
            )?;
            tx.commit()
        })
        .await?;
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
        let rows: Vec<(String, String)> = self
            .run(|c| {
                let mut stmt =
                    c.prepare("SELECT record_id, hash FROM evidence ORDER BY record_id, hash")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect()
            })
            .await?;
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
        self.run(|c| custody::verify_chain(c)).await
    }

    /// The chain's last entry, if any: the value to record outside the server (print it,
    /// send it elsewhere) so a rewrite of the whole chain would show.
    pub async fn chain_head(&self) -> Result<Option<CustodyEntry>> {
        self.run(|c| custody::head(c)).await
    }

    /// The status of each file of `record` that was checked, by hash.
    pub async fn statuses(&self, record: &str) -> Result<BTreeMap<String, String>> {
        let record = record.to_owned();
        self.run(move |c| statuses_of(c, &record)).await
    }
}

/// The status code of each checked file of `record`, by hash (for pages on other connections).
pub fn statuses_of(conn: &Connection, record: &str) -> rusqlite::Result<BTreeMap<String, String>> {
    let mut stmt = conn.prepare_cached("SELECT hash, status FROM evidence WHERE record_id = ?1")?;
    let rows = stmt.query_map([record], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
