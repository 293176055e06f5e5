//! [`CaseStore`]: the hazard ledger's case records as the office writes them. A case write is
//! one transaction: the `case` record's new changes, its ledger row and its custody entry
//! commit together or not at all. The write is conditional on what the office read:
//!
//! - a new case (`known_through` 0) is create-only: a case is stored under the id of its
//!   finding, so of reviewers opening one finding at once, on one process or several, exactly
//!   one creates it and the others get a `Conflict` with nothing written;
//! - an event (`known_through` the record's last `seq` when it was read) is stored only if no
//!   change of the record was stored since, so two processes advancing one case at once never
//!   both judge the lifecycle on the same state: the second gets a `Conflict`, reads again
//!   and sees the first's event.
//!
//! Which rows a reader sees is a [`RowFilter`]. The visit index enters the ledger's entries of
//! findings without a case, and lists and counts them with the visits, in the office's SQLite
//! file: not here.

use async_trait::async_trait;
use siteproof_core::CaseStatus;

use super::{CustodyEntry, CustodyEvent, RecordWrite, RowFilter, StorageResult};

/// A hazard ledger entry as the ledger shows it: one per finding.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseRow {
    /// Record id.
    pub id: String,
    /// Region.
    pub region: String,
    /// Group.
    pub group: String,
    /// The visit.
    pub visit_id: String,
    /// The finding.
    pub finding_id: String,
    /// Site.
    pub site: String,
    /// Sector code.
    pub sector: String,
    /// Severity code.
    pub severity: String,
    /// What was found.
    pub description: String,
    /// Status code (derived from the events when the case was last written).
    pub status: String,
    /// Responsible unit.
    pub unit: Option<String>,
    /// Deadline, ms.
    pub deadline: Option<i64>,
    /// Listed (挂牌督办) by hand.
    pub escalated: bool,
    /// When the hazard was found, ms.
    pub opened_at: i64,
    /// Closed, ms.
    pub closed_at: Option<i64>,
    /// Fixed during the visit (立行立改).
    pub fixed_on_spot: bool,
    /// Whether the office has written the case record (false: the entry follows the finding).
    pub recorded: bool,
}

/// The precomputed columns of a ledger row: whether it is listed whatever the date (the rule
/// of `siteproof_core::is_listed`, with "overdue" left to the query) and its deadline while
/// that still runs (`CaseStatus::awaits_rectification`).
pub fn ledger_columns(
    status: &str,
    escalated: bool,
    severity: &str,
    fixed_on_spot: bool,
    deadline: Option<i64>,
) -> (bool, Option<i64>) {
    match CaseStatus::from_code(status) {
        Some(s) => (
            siteproof_core::is_listed(s, escalated, false, severity == "major", fixed_on_spot),
            deadline.filter(|_| s.awaits_rectification()),
        ),
        None => (false, None),
    }
}

impl CaseRow {
    /// [`ledger_columns`] of this row.
    pub fn ledger_columns(&self) -> (bool, Option<i64>) {
        ledger_columns(
            &self.status,
            self.escalated,
            &self.severity,
            self.fixed_on_spot,
            self.deadline,
        )
    }
}

/// The case records the office writes and their ledger rows.
#[async_trait]
pub trait CaseStore: Send + Sync + 'static {
    /// Stores `record` (a `case` from the back office), its ledger row `row` (marked
    /// recorded; it keeps when the hazard was found if the entry had a row) and appends
    /// `custody`, in one transaction. `record.known_through` 0: create-only, a stored record
    /// of that id is a `Conflict`. Otherwise a change of the record stored after
    /// `known_through` is a `Conflict`. Nothing is written on a conflict.
    async fn write_case(
        &self,
        record: &RecordWrite,
        row: &CaseRow,
        custody: &CustodyEvent,
    ) -> StorageResult<CustodyEntry>;
    /// The ledger entry `id`, if `rows` admits it.
    async fn case_row(&self, rows: &RowFilter, id: &str) -> StorageResult<Option<CaseRow>>;
    /// The ledger entry of one finding, if `rows` admits it.
    async fn case_of_finding(
        &self,
        rows: &RowFilter,
        visit: &str,
        finding: &str,
    ) -> StorageResult<Option<CaseRow>>;
}
