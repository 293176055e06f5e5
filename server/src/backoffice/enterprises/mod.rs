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
//! `import.rs` reads a roster from CSV or XLSX, all rows or none; the registry is kept by
//! the storage's [`EnterpriseStore`](crate::storage::EnterpriseStore).

pub(super) mod import;
mod pages;
pub(super) mod routes;

use siteproof_core::CreditCode;

use super::{BackOffice, WebUser};
use crate::error::{Error, Result};
use crate::identity::visibility::{Duty, Unsectored, Visibility};
pub use crate::storage::{
    Enterprise, EnterpriseHistory, EnterpriseLead, EnterpriseListRow, RepeatFinding, SiteMerge,
};
use crate::storage::{EnterpriseReader, StorageError};
pub use import::{ImportProblem, parse_roster};

/// Rows per page of the enterprise list.
pub const PAGE_SIZE: i64 = 50;

fn keeper(user: &WebUser) -> Result<()> {
    Visibility::user(user).require(Duty::KeepEnterprises)
}

/// The rows of the registry `vis` reads.
fn reader(vis: &Visibility) -> EnterpriseReader {
    EnterpriseReader {
        registry: vis.enterprise_rows(),
        records: vis.rows(Unsectored::Hidden),
        leads: vis.rows(Unsectored::Shown),
    }
}

/// A store's `NotFound` as the service's unknown record `id`.
fn unknown(id: impl std::fmt::Display) -> impl FnOnce(StorageError) -> Error {
    move |e| match e {
        StorageError::NotFound(_) => Error::UnknownRecord { id: id.to_string() },
        e => e.into(),
    }
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
        let reader = reader(&Visibility::user(user));
        let offset = page.max(0) * PAGE_SIZE;
        Ok(self
            .storage
            .enterprise_store()
            .enterprises(&reader, search.as_deref(), PAGE_SIZE, offset)
            .await?)
    }

    /// Every enterprise the user may see, by name (for the export).
    pub async fn all_enterprises(&self, user: &WebUser) -> Result<Vec<Enterprise>> {
        let registry = Visibility::user(user).enterprise_rows();
        Ok(self
            .storage
            .enterprise_store()
            .all_enterprises(&registry)
            .await?)
    }

    /// One enterprise's history, or `UnknownRecord` when there is none the user may see.
    pub async fn enterprise(&self, user: &WebUser, code: &str) -> Result<EnterpriseHistory> {
        self.refresh_index().await?;
        let reader = reader(&Visibility::user(user));
        self.storage
            .enterprise_store()
            .history(&reader, code)
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
        let region = Visibility::user(user).enterprise_region().to_owned();
        let now = siteproof_core::now();
        let merged = self
            .storage
            .enterprise_store()
            .merge_site(&region, &code, &site, &user.login, now)
            .await
            .map_err(unknown(&code))?;
        self.directory_changed(&user.region);
        self.risks.changed();
        Ok(merged)
    }

    /// Undoes merge `id` of the user's region, keeping the row as the record of both.
    pub async fn undo_merge(&self, user: &WebUser, id: i64) -> Result<SiteMerge> {
        keeper(user)?;
        let region = Visibility::user(user).enterprise_region().to_owned();
        let now = siteproof_core::now();
        let undone = self
            .storage
            .enterprise_store()
            .undo_merge(&region, id, &user.login, now)
            .await
            .map_err(unknown(id))?;
        self.directory_changed(&user.region);
        self.risks.changed();
        Ok(undone)
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
        let region = Visibility::user(user).enterprise_region().to_owned();
        let now = siteproof_core::now();
        let written = self
            .storage
            .enterprise_store()
            .import_enterprises(&region, &rows, now)
            .await?;
        self.directory_changed(&user.region);
        self.risks.changed();
        Ok(Ok(written))
    }
}
