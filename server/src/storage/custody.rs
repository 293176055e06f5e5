//! [`CustodyStore`]: the chain of custody, an append-only, hash-chained log, and the outcome
//! of each evidence check it records.
//!
//! Each entry's hash is SHA-256 over its canonical text (`docs/evidence.md`):
//!
//! ```text
//! siteproof-custody-v1\n<seq>\n<at>\n<actor>\n<action>\n<subject>\n<details>\n<prev_hash>\n
//! ```
//!
//! `details` is the stored JSON text as is; no field may hold a line break (JSON text made by
//! serde never does; actors, actions and subjects are checked). `prev_hash` is the previous
//! entry's `entry_hash`, 64 zeros for seq 1.
//!
//! Rules every implementation keeps: the chain has one total order whatever the number of
//! processes appending (an append reads the head and writes the next entry while no other
//! append can run, so the chain never forks and `seq` has no gap); an append that goes with a
//! row (an evidence check here, a ledger row in the office) commits in the row's transaction
//! or not at all.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{StorageError, StorageResult};

/// The first line of every entry's canonical text.
pub const ENTRY_VERSION: &str = "siteproof-custody-v1";
/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What is appended: the event, before it gets its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustodyEvent {
    /// Who: `device:<id>`, `user:<login>`, `admin` or `server`.
    pub actor: String,
    /// What: `upload`, `verify`, `view`, `export`, `case_event`.
    pub action: String,
    /// On what: a blob hash or a record id.
    pub subject: String,
    /// Anything else, as a JSON object.
    pub details: serde_json::Value,
}

/// One entry as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When, ms since the Unix epoch.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub subject: String,
    /// JSON text, hashed as stored.
    pub details: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// SHA-256 of this entry's canonical text, hex.
    pub entry_hash: String,
}

impl CustodyEntry {
    /// The entry that follows `head` (the chain's last entry, `None` for an empty chain) with
    /// `event` at `at`, its hash computed. Fails when a field that must be one line is not.
    pub fn next(head: Option<(i64, String)>, event: &CustodyEvent, at: i64) -> StorageResult<Self> {
        for (what, value) in [
            ("actor", &event.actor),
            ("action", &event.action),
            ("subject", &event.subject),
        ] {
            if value.contains(['\n', '\r']) {
                return Err(StorageError::Backend(format!(
                    "custody {what} must be one line"
                )));
            }
        }
        let (prev_seq, prev_hash) = head.unwrap_or((0, GENESIS.to_owned()));
        let mut entry = CustodyEntry {
            seq: prev_seq + 1,
            at,
            actor: event.actor.clone(),
            action: event.action.clone(),
            subject: event.subject.clone(),
            details: event.details.to_string(),
            prev_hash,
            entry_hash: String::new(),
        };
        entry.entry_hash = entry.computed_hash();
        Ok(entry)
    }

    /// The canonical text the entry hash covers.
    pub fn canonical(&self) -> String {
        format!(
            "{ENTRY_VERSION}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
            self.seq, self.at, self.actor, self.action, self.subject, self.details, self.prev_hash
        )
    }

    /// The hash this entry should have.
    pub fn computed_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical().as_bytes()))
    }
}

/// Where a chain check failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BrokenLink {
    /// An entry's stored hash is not the hash of its content (it was edited).
    #[error("custody entry {seq}: its content does not match its hash")]
    Altered {
        /// The entry.
        seq: i64,
    },
    /// An entry does not name the previous entry's hash (one was removed, inserted or
    /// rewritten before it).
    #[error("custody entry {seq}: it does not follow the entry before it")]
    Unlinked {
        /// The entry.
        seq: i64,
    },
    /// A sequence number is missing.
    #[error("custody entry {seq}: missing (the chain jumps past it)")]
    Missing {
        /// The first missing seq.
        seq: i64,
    },
}

impl BrokenLink {
    /// The seq at which the chain breaks.
    pub fn seq(&self) -> i64 {
        match self {
            BrokenLink::Altered { seq }
            | BrokenLink::Unlinked { seq }
            | BrokenLink::Missing { seq } => *seq,
        }
    }
}

/// A check of the chain fed its entries in `seq` order, from the first, one at a time (so a
/// backend streams the log instead of holding it).
#[derive(Clone, Debug)]
pub struct ChainCheck {
    expected_seq: i64,
    prev: String,
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev: GENESIS.to_owned(),
        }
    }
}

impl ChainCheck {
    /// Checks the next entry against the ones before it.
    pub fn push(&mut self, entry: &CustodyEntry) -> Result<(), BrokenLink> {
        if entry.seq != self.expected_seq {
            return Err(BrokenLink::Missing {
                seq: self.expected_seq,
            });
        }
        if entry.prev_hash != self.prev {
            return Err(BrokenLink::Unlinked { seq: entry.seq });
        }
        if entry.computed_hash() != entry.entry_hash {
            return Err(BrokenLink::Altered { seq: entry.seq });
        }
        self.prev.clone_from(&entry.entry_hash);
        self.expected_seq += 1;
        Ok(())
    }

    /// How many entries held.
    pub fn entries(&self) -> u64 {
        (self.expected_seq - 1) as u64
    }
}

/// The outcome of checking one file of one record, as stored (`evidence`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceRow {
    /// The record naming the file.
    pub record: String,
    /// The file's hash.
    pub hash: String,
    /// Its size in bytes.
    pub size: u64,
    /// The device that signed it, if signed.
    pub signer: Option<String>,
    /// `verified`, `unverified` or `rejected`.
    pub status: String,
    /// Why, unless verified.
    pub reason: Option<String>,
    /// The statement checked.
    pub statement: Option<Vec<u8>>,
    /// The signature checked (64 bytes).
    pub signature: Option<Vec<u8>>,
    /// When it was checked, ms.
    pub checked_at: i64,
}

/// A device as an evidence check needs it: its key (if it sent one) and its scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceSigner {
    /// The Ed25519 public key it sent at enrollment.
    pub public_key: Option<Vec<u8>>,
    /// Its region.
    pub region: String,
    /// Its group.
    pub group: String,
}

/// The custody log and the evidence checks.
#[async_trait]
pub trait CustodyStore: Send + Sync + 'static {
    /// Appends one entry in a transaction of its own and returns it. Its `at` is read while
    /// the append holds the chain (the database's clock on PostgreSQL), so `at` never
    /// decreases along the chain.
    async fn append(&self, event: &CustodyEvent) -> StorageResult<CustodyEntry>;
    /// Stores the outcome of an evidence check (replacing the last one of that file and
    /// record) and appends `event` in the same transaction; both take the time of the append
    /// as `checked_at` and `at` (the row's `checked_at` is ignored).
    async fn record_check(
        &self,
        row: &EvidenceRow,
        event: &CustodyEvent,
    ) -> StorageResult<CustodyEntry>;
    /// Every checked `(record, hash)`, by record then hash.
    async fn checked(&self) -> StorageResult<Vec<(String, String)>>;
    /// The stored check of one file of one record, with its signer's key.
    async fn evidence(
        &self,
        record: &str,
        hash: &str,
    ) -> StorageResult<Option<(EvidenceRow, Option<Vec<u8>>)>>;
    /// The status code of each checked file of `record`, by hash.
    async fn statuses(&self, record: &str) -> StorageResult<BTreeMap<String, String>>;
    /// The enrolled device `id` as a signer, if it exists.
    async fn signer(&self, id: &str) -> StorageResult<Option<EvidenceSigner>>;
    /// Checks the whole chain in order: the number of entries, or the first broken link.
    async fn verify_chain(&self) -> StorageResult<Result<u64, BrokenLink>>;
    /// Every entry whose subject is one of `subjects`, in chain order.
    async fn entries_about(&self, subjects: &[String]) -> StorageResult<Vec<CustodyEntry>>;
    /// The last entry (the chain's head), if any.
    async fn head(&self) -> StorageResult<Option<CustodyEntry>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u32) -> CustodyEvent {
        CustodyEvent {
            actor: "admin".into(),
            action: "view".into(),
            subject: format!("s{n}"),
            details: serde_json::json!({ "n": n }),
        }
    }

    fn chain(n: u32) -> Vec<CustodyEntry> {
        let mut out: Vec<CustodyEntry> = Vec::new();
        for i in 0..n {
            let head = out.last().map(|e| (e.seq, e.entry_hash.clone()));
            out.push(CustodyEntry::next(head, &event(i), 5).expect("entry"));
        }
        out
    }

    fn check(entries: &[CustodyEntry]) -> Result<u64, BrokenLink> {
        let mut check = ChainCheck::default();
        for e in entries {
            check.push(e)?;
        }
        Ok(check.entries())
    }

    #[test]
    fn appended_entries_chain_and_an_edit_or_a_gap_breaks_the_chain_at_its_seq() {
        let mut entries = chain(4);
        assert_eq!(check(&entries), Ok(4));
        entries[2].details = "{\"n\":9}".into();
        assert_eq!(check(&entries), Err(BrokenLink::Altered { seq: 3 }));
        entries.remove(2);
        assert_eq!(check(&entries), Err(BrokenLink::Missing { seq: 3 }));
    }

    #[test]
    fn a_line_break_in_a_field_is_refused() {
        let mut bad = event(1);
        bad.actor = "user:a\nb".into();
        assert!(CustodyEntry::next(None, &bad, 1).is_err());
    }
}
