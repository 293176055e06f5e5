//! The enterprise registry (企业库): enterprises of a region keyed by their unified social
//! credit code ([`siteproof_core::CreditCode`]), with name, former names, address, sectors and
//! the responsible department. Office rows, not synced records.
//!
//! An enterprise's history is found, not copied: its visits are the region's visits whose
//! typed credit code is the enterprise's, plus those typed with only a site name that a
//! reviewer merged into it (`bo_site_merges`, undoable, each row saying who merged and undid
//! it and when); its hazards are the ledger rows of those visits; its leads the region's
//! leads with a merged site name. Every query goes through the reader's
//! [`Visibility`]: the registry is the region's, the visits and hazards within it are those
//! the reader may see.
//!
//! `import.rs` reads a roster from CSV or XLSX, all rows or none; `sql.rs` holds the SQL.

pub(super) mod import;
mod pages;
pub(super) mod routes;
pub(crate) mod sql;

use siteproof_core::{CreditCode, Sector};

use super::db::{CaseRow, VisitRow};
use super::{BackOffice, WebUser};
use crate::error::{Error, Result};
use crate::identity::visibility::{Duty, Visibility};
pub use import::{ImportProblem, parse_roster};

/// Rows per page of the enterprise list.
pub const PAGE_SIZE: i64 = 50;
/// Visits, hazards and leads an enterprise page lists at most (the counts cover all).
pub const HISTORY_ROWS: i64 = 500;

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

/// An enterprise in the list, with its open hazards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnterpriseListRow {
    /// The enterprise.
    pub enterprise: Enterprise,
    /// Hazards of its visits not yet closed.
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
#[derive(Clone, Debug)]
pub struct EnterpriseHistory {
    /// The enterprise.
    pub enterprise: Enterprise,
    /// Its visits, newest first (at most [`HISTORY_ROWS`]).
    pub visits: Vec<VisitRow>,
    /// Visits in all: (all, covert).
    pub visit_counts: (i64, i64),
    /// Its hazards, newest first (at most [`HISTORY_ROWS`]).
    pub hazards: Vec<CaseRow>,
    /// Hazards per status code.
    pub by_status: Vec<(String, i64)>,
    /// Its leads, newest first.
    pub leads: Vec<EnterpriseLead>,
    /// Checklist items failed on more than one visit.
    pub repeats: Vec<RepeatFinding>,
    /// Every merge into it, live and undone: the audit trail.
    pub merges: Vec<SiteMerge>,
    /// Name-only sites of the region whose name contains the enterprise's name or a former
    /// name, not merged anywhere: what a reviewer may merge.
    pub candidates: Vec<String>,
}

fn keeper(user: &WebUser) -> Result<()> {
    Visibility::user(user).require(Duty::KeepEnterprises)
}

fn parse_code(code: &str) -> Result<CreditCode> {
    code.parse()
        .map_err(|e| Error::InvalidInput(format!("credit code: {e}")))
}

impl BackOffice {
    /// A page of the enterprises the user may see whose name, former name or credit code
    /// contains `search`, by name; and how many match.
    pub async fn enterprises(
        &self,
        user: &WebUser,
        search: Option<String>,
        page: i64,
    ) -> Result<(Vec<EnterpriseListRow>, i64)> {
        self.refresh_index().await?;
        let vis = Visibility::user(user);
        let offset = page.max(0) * PAGE_SIZE;
        self.db
            .run(move |c| sql::list(c, &vis, search.as_deref(), PAGE_SIZE, offset))
            .await
    }

    /// Every enterprise the user may see, by name (for the export).
    pub async fn all_enterprises(&self, user: &WebUser) -> Result<Vec<Enterprise>> {
        let vis = Visibility::user(user);
        self.db.run(move |c| sql::all(c, &vis)).await
    }

    /// One enterprise's history, or `UnknownRecord` when there is none the user may see.
    pub async fn enterprise(&self, user: &WebUser, code: &str) -> Result<EnterpriseHistory> {
        self.refresh_index().await?;
        let vis = Visibility::user(user);
        let owned = code.to_owned();
        self.db
            .run(move |c| sql::history(c, &vis, &owned))
            .await?
            .ok_or_else(|| Error::UnknownRecord {
                id: code.to_string(),
            })
    }

    /// Merges the name-only site `site` of the user's region into enterprise `code`: its
    /// visits and leads typed with no credit code become the enterprise's. Returns the
    /// merge's id; a site already merged (and not undone) is refused.
    pub async fn merge_site(&self, user: &WebUser, code: &str, site: &str) -> Result<i64> {
        keeper(user)?;
        let code = parse_code(code)?.to_string();
        let site = site.trim().to_owned();
        if site.is_empty() {
            return Err(Error::InvalidInput("the site name is required".into()));
        }
        let (vis, by) = (Visibility::user(user), user.login.clone());
        let now = siteproof_core::now();
        let merged = self
            .db
            .run(move |c| sql::merge(c, &vis, &code, &site, &by, now))
            .await?;
        self.directory_changed(&user.region);
        self.risks.changed();
        merged
    }

    /// Undoes merge `id` of the user's region, keeping the row as the record of both.
    pub async fn undo_merge(&self, user: &WebUser, id: i64) -> Result<SiteMerge> {
        keeper(user)?;
        let (vis, by) = (Visibility::user(user), user.login.clone());
        let now = siteproof_core::now();
        let undone = self
            .db
            .run(move |c| sql::undo_merge(c, &vis, id, &by, now))
            .await?;
        self.directory_changed(&user.region);
        self.risks.changed();
        undone
    }

    /// Imports a roster (CSV or XLSX, told apart by content) into the user's region: every
    /// row is written, or none when any row is bad, and then the problems say which lines
    /// and why. An enterprise already registered is updated (a new name keeps the old one
    /// as a former name). Returns how many rows were written.
    pub async fn import_enterprises(
        &self,
        user: &WebUser,
        bytes: Vec<u8>,
    ) -> Result<std::result::Result<usize, Vec<ImportProblem>>> {
        keeper(user)?;
        let region = user.region.clone();
        let parsed = self
            .documents()
            .run(move || parse_roster(&bytes, &region))
            .await?;
        let rows = match parsed {
            Ok(rows) => rows,
            Err(problems) => return Ok(Err(problems)),
        };
        let vis = Visibility::user(user);
        let now = siteproof_core::now();
        let written = self
            .db
            .run(move |c| sql::upsert_all(c, &vis, &rows, now))
            .await?;
        self.directory_changed(&user.region);
        self.risks.changed();
        Ok(Ok(written))
    }
}
