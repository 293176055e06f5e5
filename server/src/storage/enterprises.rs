//! [`EnterpriseStore`]: the enterprise registry (企业库) of each region, keyed by the unified
//! social credit code, and the reviewers' merges of name-only sites into an enterprise, in
//! the database every server process shares.
//!
//! An enterprise's history is found, not copied: its visits are the region's indexed visits
//! whose enterprise is it (`bo_visits.credit_code`: typed, or from the live merge of the
//! visit's site name), its hazards the ledger rows of those visits, its leads those whose
//! site name was merged into it or whose assignment led to one of its visits. Rules every
//! backend keeps, whichever process writes:
//!
//! - a name-only site has at most one live merge; a merge sets the enterprise on the indexed
//!   visits of that site in its own transaction, and its undo clears exactly those visits;
//! - an import writes one row per (region, credit code), each the last import's fields with
//!   every earlier name kept as a former name, whatever imports run at once.
//!
//! Which rows a reader sees is an [`EnterpriseReader`] of [`RowFilter`]s from the visibility
//! policy.

use async_trait::async_trait;
use siteproof_core::Sector;

use super::{CaseRow, RowFilter, StorageResult, VisitRow};

/// Visits, hazards and leads an enterprise's history lists at most (the counts cover all).
pub const HISTORY_ROWS: i64 = 500;

/// Name-only sites a history proposes at most per name searched.
pub const CANDIDATE_ROWS: i64 = 50;

/// One enterprise of the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enterprise {
    /// Unified social credit code (validated).
    pub credit_code: String,
    /// Region it belongs to.
    pub region: String,
    /// Registered name.
    pub name: String,
    /// Names it was known by before.
    pub former_names: Vec<String>,
    /// Address.
    pub address: String,
    /// Sectors it works in.
    pub sectors: Vec<Sector>,
    /// The department responsible for its supervision.
    pub department: String,
}

impl Enterprise {
    /// The stored list of former names (joined by newlines).
    pub(super) fn former_names_text(&self) -> String {
        self.former_names.join("\n")
    }

    /// The stored list of sector codes (joined by commas).
    pub(super) fn sectors_text(&self) -> String {
        self.sectors
            .iter()
            .map(|s| s.code())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// What the list searches: the lower-cased name, credit code and former names.
    pub(super) fn search_text(&self) -> String {
        let mut s = format!("{}\n{}", self.name, self.credit_code);
        for n in &self.former_names {
            s.push('\n');
            s.push_str(n);
        }
        s.to_lowercase()
    }

    /// An enterprise from its stored columns.
    pub(super) fn from_columns(
        credit_code: String,
        region: String,
        name: String,
        former_names: &str,
        address: String,
        sectors: &str,
        department: String,
    ) -> Self {
        Enterprise {
            credit_code,
            region,
            name,
            former_names: former_names
                .split('\n')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            address,
            sectors: sectors.split(',').filter_map(Sector::from_code).collect(),
            department,
        }
    }

    /// This enterprise as an import writes it over `old` (the stored one, if any): every
    /// earlier name not its name now is kept as a former name.
    pub(super) fn imported_over(&self, region: &str, old: Option<Enterprise>) -> Enterprise {
        let mut e = self.clone();
        e.region = region.to_owned();
        if let Some(old) = old {
            for former in std::iter::once(old.name).chain(old.former_names) {
                if former != e.name && !e.former_names.contains(&former) {
                    e.former_names.push(former);
                }
            }
        }
        e
    }
}

/// The pattern of a list search for `LIKE ... ESCAPE '\'` over the stored search text, or
/// `None` for no search.
pub(super) fn search_pattern(search: Option<&str>) -> Option<String> {
    let term = search.map(str::trim).filter(|t| !t.is_empty())?;
    let escaped = term
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Some(format!("%{escaped}%"))
}

/// An enterprise in the list, with its open hazards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnterpriseListRow {
    /// The enterprise.
    pub enterprise: Enterprise,
    /// Hazards of its visits not yet closed (that the reader may see).
    pub open_hazards: i64,
}

/// A reviewer's merge of a name-only site into an enterprise, and its undo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteMerge {
    /// Row id.
    pub id: i64,
    /// The site name typed on visits and leads.
    pub site: String,
    /// The enterprise it was merged into.
    pub credit_code: String,
    /// Who merged it.
    pub merged_by: String,
    /// When, ms.
    pub merged_at: i64,
    /// Who undid it, once undone.
    pub undone_by: Option<String>,
    /// When it was undone, ms.
    pub undone_at: Option<i64>,
}

/// A lead linked to an enterprise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnterpriseLead {
    /// Lead id.
    pub id: String,
    /// The site as the whistleblower named it.
    pub site: String,
    /// What was reported.
    pub description: String,
    /// When, ms.
    pub received_on: i64,
    /// Stored status code.
    pub status: String,
}

/// A checklist item failed on more than one visit of an enterprise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepeatFinding {
    /// The checklist item id.
    pub item: String,
    /// Visits it was found on.
    pub visits: i64,
    /// Findings under it.
    pub findings: i64,
    /// The latest, ms.
    pub last_at: i64,
}

/// An enterprise's page: its whole history as the reader may see it.
#[derive(Clone, Debug, PartialEq)]
pub struct EnterpriseHistory {
    /// The enterprise.
    pub enterprise: Enterprise,
    /// Its visits, newest first (at most [`HISTORY_ROWS`]).
    pub visits: Vec<VisitRow>,
    /// Visits in all: (all, covert).
    pub visit_counts: (i64, i64),
    /// Its hazards, newest first (at most [`HISTORY_ROWS`]).
    pub hazards: Vec<CaseRow>,
    /// Hazards per status code, by code.
    pub by_status: Vec<(String, i64)>,
    /// Its leads, newest first (at most [`HISTORY_ROWS`]).
    pub leads: Vec<EnterpriseLead>,
    /// Checklist items failed on more than one visit, most visits first.
    pub repeats: Vec<RepeatFinding>,
    /// Every merge into it, live and undone, newest first: the audit trail.
    pub merges: Vec<SiteMerge>,
    /// Name-only sites of the region whose name contains the enterprise's name or a former
    /// name, not merged anywhere, in order: what a reviewer may merge.
    pub candidates: Vec<String>,
}

/// The rows a reader of the registry sees, from the visibility policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnterpriseReader {
    /// The registry's rows (enterprises, merges): the reader's region.
    pub registry: RowFilter,
    /// Visits, findings and hazards (rows with no sector hidden from a sectored reader).
    pub records: RowFilter,
    /// Leads (a lead with no sector shown).
    pub leads: RowFilter,
}

/// A finding row of the index (`bo_findings`), as the visit index writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedFinding {
    /// The visit.
    pub visit_id: String,
    /// The finding's id.
    pub finding_id: String,
    /// Region.
    pub region: String,
    /// Group.
    pub group: String,
    /// Sector code.
    pub sector: String,
    /// Severity code.
    pub severity: String,
    /// When, ms.
    pub at: i64,
    /// The checklist item it was found under, if any.
    pub item: Option<String>,
}

/// The enterprise registry and the site merges.
#[async_trait]
pub trait EnterpriseStore: Send + Sync + 'static {
    /// A page of the enterprises `reader.registry` admits whose name, former name or credit
    /// code contains `search` (case-insensitively), by name then code, each with its open
    /// hazards that `reader.records` admits; and how many match.
    async fn enterprises(
        &self,
        reader: &EnterpriseReader,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> StorageResult<(Vec<EnterpriseListRow>, i64)>;
    /// Every enterprise `registry` admits, by name then code.
    async fn all_enterprises(&self, registry: &RowFilter) -> StorageResult<Vec<Enterprise>>;
    /// One enterprise, if `registry` admits it.
    async fn enterprise(
        &self,
        registry: &RowFilter,
        code: &str,
    ) -> StorageResult<Option<Enterprise>>;
    /// An enterprise's whole history as `reader` sees it; `None` when `reader.registry`
    /// does not admit it.
    async fn history(
        &self,
        reader: &EnterpriseReader,
        code: &str,
    ) -> StorageResult<Option<EnterpriseHistory>>;
    /// The live merge of the name-only site `site` of `region`: its id and enterprise.
    async fn live_merge(&self, region: &str, site: &str) -> StorageResult<Option<(i64, String)>>;
    /// Merges `site` into enterprise `code` of `region` and sets the enterprise on the
    /// site's indexed visits with no credit code, in one transaction. `NotFound` for an
    /// unknown enterprise; a `Conflict` naming the enterprise when the site has a live merge
    /// (of merges made at once, on any process, one succeeds). The merge's id.
    async fn merge_site(
        &self,
        region: &str,
        code: &str,
        site: &str,
        by: &str,
        now: i64,
    ) -> StorageResult<i64>;
    /// Undoes merge `id` of `region` and clears the enterprise on exactly the visits it set,
    /// in one transaction; the merge as now stored. `NotFound` for an unknown merge, a
    /// `Conflict` when it was undone already (of undos made at once, one succeeds).
    async fn undo_merge(
        &self,
        region: &str,
        id: i64,
        by: &str,
        now: i64,
    ) -> StorageResult<SiteMerge>;
    /// Writes every imported enterprise into `region` in one transaction (their `region` is
    /// ignored): a new one is added, a registered one replaced, its earlier names kept as
    /// former names. Imports into one region, on any process, run one after the other. How
    /// many were written.
    async fn import_enterprises(
        &self,
        region: &str,
        rows: &[Enterprise],
        now: i64,
    ) -> StorageResult<usize>;
    /// Writes index rows as the visit index does (a visit with no credit code takes the
    /// enterprise of its site's live merge), replacing rows of the same ids: the data the
    /// storage suite reads histories from, until the index has a store of its own.
    async fn put_index_rows_for_tests(
        &self,
        visits: &[VisitRow],
        findings: &[IndexedFinding],
        cases: &[CaseRow],
    ) -> StorageResult<()>;
}
