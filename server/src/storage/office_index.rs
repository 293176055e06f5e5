//! [`OfficeIndexStore`]: the back office's read model of the records devices sync (the visit
//! index: visits, findings, collections, re-inspection results and the ledger's entries of
//! findings), the ledger's lists and counts, and the period reports' figures, each read
//! within a reader's [`RowFilter`].
//!
//! The index follows the change log: a refresh reads [`IndexPosition`], loads the records
//! changed after `indexed` through `head`, and stores their rows with
//! [`OfficeIndexStore::store_index`], one transaction that writes the rows and moves the
//! position. Several processes may refresh at once. A store is refused (nothing written,
//! `false`) when the position has moved since the caller read it: the other refresh read the
//! log later, so its rows are at least as new as the caller's, and a row read earlier must
//! never replace them while the position says they are indexed. The caller reads the
//! position again and goes on from there. Each backend serialises the check and the write
//! (SQLite: the one write lock; PostgreSQL: the position's row locked for the transaction).

use std::collections::HashMap;

use async_trait::async_trait;

use super::{CaseRow, RowFilter, StorageResult};

/// A visit as the list shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct VisitRow {
    /// Record id.
    pub id: String,
    /// Region.
    pub region: String,
    /// Group.
    pub group: String,
    /// Site name.
    pub site: String,
    /// Sector code.
    pub sector: String,
    /// Mode code.
    pub mode: String,
    /// Start, ms.
    pub started_at: i64,
    /// End, ms.
    pub ended_at: Option<i64>,
    /// Major findings.
    pub major: i64,
    /// General findings.
    pub general: i64,
    /// Items with conflicting answers.
    pub conflicts: i64,
    /// The assignment the visit was started from.
    pub assignment: Option<String>,
    /// The credit code typed for the site (trimmed, upper case), if any.
    pub credit_code: Option<String>,
}

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

impl VisitFilter {
    /// The columns of visits (`v`) the filter sets equal to a value.
    pub(super) fn equalities(&self) -> [(&'static str, &Option<String>); 3] {
        [
            ("grp", &self.group),
            ("sector", &self.sector),
            ("mode", &self.mode),
        ]
    }

    /// The filter's conditions that bind no value (a severity found, ended or not), on
    /// visits as `v`, each starting with ` AND `.
    pub(super) fn fixed_conditions(&self) -> String {
        let severity = match self.severity.as_deref() {
            Some("major") => " AND v.major > 0",
            Some("general") => " AND v.general > 0",
            _ => "",
        };
        let status = match self.status.as_deref() {
            Some("ended") => " AND v.ended_at IS NOT NULL",
            Some("in_progress") => " AND v.ended_at IS NULL",
            _ => "",
        };
        format!("{severity}{status}")
    }
}

impl LedgerFilter {
    /// The columns of ledger entries (`c`) the filter sets equal to a value.
    pub(super) fn equalities(&self) -> [(&'static str, &Option<String>); 4] {
        [
            ("status", &self.status),
            ("sector", &self.sector),
            ("grp", &self.group),
            ("severity", &self.severity),
        ]
    }
}

/// Hazards of one sector in a period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SectorCount {
    /// Sector code.
    pub sector: String,
    /// Major hazards.
    pub major: i64,
    /// General hazards.
    pub general: i64,
}

/// What became of the hazards found in a period, counted as they stand now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HazardCounts {
    /// Hazards found in the period (every finding is a ledger entry).
    pub found: i64,
    /// Of those, fixed on the spot (立行立改).
    pub fixed_on_spot: i64,
    /// Of those, reported rectified and awaiting verification or closure.
    pub rectified: i64,
    /// Of those, closed (销号).
    pub closed: i64,
    /// Of those, past their deadline now.
    pub overdue: i64,
    /// Of those, under listed supervision (挂牌督办) now.
    pub listed: i64,
}

/// A period's figures within a reader's rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeriodFigures {
    /// Visits started in the period.
    pub visits: i64,
    /// Of which covert.
    pub covert: i64,
    /// Hazards found in the period, by sector (in sector code order).
    pub by_sector: Vec<SectorCount>,
    /// The hazards found in the period and where they stand now.
    pub hazards: HazardCounts,
}

/// Where the index stands in the change log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexPosition {
    /// Every change with `seq <= indexed` is in the index.
    pub indexed: u64,
    /// The log's last `seq`.
    pub head: u64,
}

/// The entry of one finding of a visit in the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindingEntry {
    /// The finding.
    pub finding_id: String,
    /// The ledger entry (case) id.
    pub case_id: String,
    /// Its status code.
    pub status: String,
}

/// The back office's read model of synced records, its ledger and its report figures.
#[async_trait]
pub trait OfficeIndexStore: Send + Sync + 'static {
    /// The index's position and the log's head.
    async fn index_position(&self) -> StorageResult<IndexPosition>;
    /// The ids of the records the index keeps (visits, collections, cases) with a change in
    /// `(after, through]`.
    async fn changed_records(&self, after: u64, through: u64) -> StorageResult<Vec<String>>;
    /// Replaces the index rows of `rows` (a visit's row, findings, re-inspection results and
    /// ledger entries of findings without a case record; a collection's row; a case record's
    /// ledger row) and moves the position to `through` (never back), in one transaction,
    /// if the position is still `read_at` (what the caller read before loading the
    /// records). Otherwise nothing is written and the answer is `false`.
    async fn store_index(
        &self,
        rows: &[IndexRows],
        read_at: u64,
        through: u64,
    ) -> StorageResult<bool>;

    /// A page of the visits `rows` admits matching `filter`, newest first, and the counts
    /// over all matches.
    async fn visits(
        &self,
        rows: &RowFilter,
        filter: &VisitFilter,
        limit: i64,
        offset: i64,
    ) -> StorageResult<(Vec<VisitRow>, VisitCounts)>;
    /// One visit's row, if `rows` admits it.
    async fn visit(&self, rows: &RowFilter, id: &str) -> StorageResult<Option<VisitRow>>;
    /// The collections `rows` admits, newest first (at most 1,000).
    async fn collections(&self, rows: &RowFilter) -> StorageResult<Vec<CollectionRow>>;
    /// How many visits the index holds for each of `assignments` (whoever may see them);
    /// an assignment with none is absent.
    async fn visits_per_assignment(
        &self,
        assignments: &[String],
    ) -> StorageResult<HashMap<String, i64>>;
    /// The visits `rows` admits that were started from assignment `id`, oldest first.
    async fn visits_of_assignment(
        &self,
        rows: &RowFilter,
        id: &str,
    ) -> StorageResult<Vec<VisitRow>>;

    /// The ledger entries `rows` admits matching `filter` at `now`, newest found first, at
    /// most `limit`.
    async fn ledger(
        &self,
        rows: &RowFilter,
        filter: &LedgerFilter,
        now: i64,
        limit: i64,
    ) -> StorageResult<Vec<CaseRow>>;
    /// How many ledger entries `rows` admits match `filter` at `now`.
    async fn ledger_count(
        &self,
        rows: &RowFilter,
        filter: &LedgerFilter,
        now: i64,
    ) -> StorageResult<i64>;
    /// The ledger entries of one visit's findings.
    async fn entries_of_visit(&self, visit: &str) -> StorageResult<Vec<FindingEntry>>;
    /// The re-inspection results placed on ledger entry `case`, oldest first: only results
    /// from a visit of the entry's own region and group count.
    async fn reinspections_of(&self, case: &str) -> StorageResult<Vec<ReinspectionRow>>;

    /// The figures of `[start, end)` within `rows`, the hazards counted as they stand at
    /// `now`.
    async fn period_figures(
        &self,
        rows: &RowFilter,
        start: i64,
        end: i64,
        now: i64,
    ) -> StorageResult<PeriodFigures>;
}
