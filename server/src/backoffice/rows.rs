//! The rows the office's pages read: visits, findings, collections and cases as the index
//! stores them, and the visit list's filter and counts.

pub use crate::storage::VisitRow;

/// A collection (work update or practice) as the office lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectionRow {
    /// Record id.
    pub id: String,
    /// Region.
    pub region: String,
    /// Group.
    pub group: String,
    /// `work_update` or `practice`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Who wrote it.
    pub author: String,
    /// When, ms.
    pub written_at: i64,
}

/// What the index stores for one record read from the log.
#[derive(Clone, Debug)]
pub enum IndexRows {
    /// A visit, its findings and its re-inspection results.
    Visit(VisitRow, Vec<FindingRow>, Vec<ReinspectionRow>),
    /// A collection.
    Collection(CollectionRow),
    /// A case record's ledger row.
    Case(CaseRow),
}

/// One re-inspection result (复查) a phone recorded, placed on its ledger entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ReinspectionRow {
    /// The result's id.
    pub id: String,
    /// The ledger entry checked.
    pub case_id: String,
    /// The re-inspection visit that holds it (its photos are that visit's media).
    pub visit_id: String,
    /// `rectified` or `not_rectified`.
    pub outcome: String,
    /// The inspector's note.
    pub note: Option<String>,
    /// Photo hashes.
    pub media: Vec<String>,
    /// The inspector.
    pub by: String,
    /// When, ms.
    pub at: i64,
}

/// One finding row for the index.
#[derive(Clone, Debug)]
pub struct FindingRow {
    /// Finding id.
    pub id: String,
    /// The id of its ledger entry (`RecordId::for_finding_case`).
    pub case_id: String,
    /// Severity code.
    pub severity: String,
    /// When, ms.
    pub at: i64,
    /// What was found.
    pub description: String,
    /// Fixed during the visit (立行立改).
    pub fixed_on_spot: bool,
    /// The checklist item it was found under, if any.
    pub item: Option<String>,
}

/// Filters of the visit list (all optional).
#[derive(Clone, Debug, Default)]
pub struct VisitFilter {
    /// Started at or after (ms).
    pub from: Option<i64>,
    /// Started before (ms).
    pub to: Option<i64>,
    /// Group id.
    pub group: Option<String>,
    /// Sector code.
    pub sector: Option<String>,
    /// Mode code.
    pub mode: Option<String>,
    /// `major` or `general`: visits with at least one such finding.
    pub severity: Option<String>,
    /// `in_progress` or `ended`.
    pub status: Option<String>,
}

/// Counts over a filtered list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VisitCounts {
    /// Visits.
    pub visits: i64,
    /// Covert visits.
    pub covert: i64,
    /// Major findings.
    pub major: i64,
    /// General findings.
    pub general: i64,
}

/// Filters of the hazard ledger (all optional).
#[derive(Clone, Debug, Default)]
pub struct LedgerFilter {
    /// Found at or after (ms).
    pub from: Option<i64>,
    /// Found before (ms).
    pub to: Option<i64>,
    /// Status code.
    pub status: Option<String>,
    /// Sector code.
    pub sector: Option<String>,
    /// Group id.
    pub group: Option<String>,
    /// `major` or `general`.
    pub severity: Option<String>,
    /// Only hazards past their deadline.
    pub overdue: bool,
    /// Only hazards under listed supervision (挂牌督办).
    pub listed: bool,
    /// Only hazards found on covert visits (暗访).
    pub covert: bool,
}

pub use crate::storage::CaseRow;
