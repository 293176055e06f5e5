//! The region's enterprise directory (企业名录), held offline: listed and searched, and a
//! visit started at one of its enterprises, as uniffi records and store methods.

use siteproof_core as core;

use crate::error::ApiResult;
use crate::store::{SiteproofStore, into_all};
use crate::template::Sector;
use crate::visit::{GeoPoint, TemplateRef, VisitMode};

/// One enterprise of the directory the server keeps on the phone.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct DirectoryEntry {
    /// Unified social credit code (统一社会信用代码); pass it to `start_visit_from_enterprise`.
    pub credit_code: String,
    /// Registered name.
    pub name: String,
    /// Names it was known by before.
    pub former_names: Vec<String>,
    /// Address.
    pub address: String,
    /// Sectors it works in.
    pub sectors: Vec<Sector>,
    /// Supervision tier, `A` (highest risk) to `D`, when the office has scored it.
    pub tier: Option<String>,
    /// Hazards found on its visits and not yet closed.
    pub open_hazards: u32,
    /// Of those, how many are past their deadline.
    pub overdue_hazards: u32,
    /// On the key-supervision list (重点监管).
    pub key_listed: bool,
    /// On the blacklist (黑名单).
    pub blacklisted: bool,
}

impl From<core::DirectoryEntry> for DirectoryEntry {
    fn from(e: core::DirectoryEntry) -> Self {
        Self {
            credit_code: e.credit_code,
            name: e.name,
            former_names: e.former_names,
            address: e.address,
            sectors: e.sectors.into_iter().map(Into::into).collect(),
            tier: e.tier,
            open_hazards: e.open_hazards,
            overdue_hazards: e.overdue_hazards,
            key_listed: e.key_listed,
            blacklisted: e.blacklisted,
        }
    }
}

/// What the phone holds of its region's directory.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct DirectoryInfo {
    /// The region.
    pub region: String,
    /// When the server last changed it, ms since the epoch.
    pub updated_at: i64,
    /// Enterprises the region's registry holds.
    pub registered: u64,
    /// Enterprises this phone holds (fewer only over the directory's cap).
    pub held: u64,
}

impl From<core::DirectoryInfo> for DirectoryInfo {
    fn from(i: core::DirectoryInfo) -> Self {
        Self {
            region: i.region,
            updated_at: i.updated_at,
            registered: i.registered,
            held: i.held,
        }
    }
}

/// What the inspector enters to start a visit at an enterprise of the directory.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct VisitFromEnterprise {
    /// Covert or announced.
    pub mode: VisitMode,
    /// Names of the inspectors.
    pub team: Vec<String>,
    /// The checklist version to use.
    pub template: TemplateRef,
    /// The visit's sector; the checklist's when not given.
    #[uniffi(default = None)]
    pub sector: Option<Sector>,
    /// Where the visit starts.
    #[uniffi(default = None)]
    pub location: Option<GeoPoint>,
}

#[uniffi::export]
impl SiteproofStore {
    /// The enterprises of this device's region (they arrive with `sync`) whose credit code,
    /// name, former name or address contains `search` (any case; all when `None`), by name,
    /// at most `limit`. Reads the store only: works offline.
    #[uniffi::method(default(search = None, limit = None))]
    pub fn directory(
        &self,
        search: Option<String>,
        limit: Option<u32>,
    ) -> ApiResult<Vec<DirectoryEntry>> {
        Ok(into_all(self.store().directory(search.as_deref(), limit)?))
    }

    /// One enterprise of the directory by its credit code.
    pub fn directory_entry(&self, credit_code: String) -> ApiResult<DirectoryEntry> {
        Ok(self.store().directory_entry(&credit_code)?.into())
    }

    /// When the directory was last changed and how many enterprises it holds; `None` until
    /// the first one arrived.
    pub fn directory_info(&self) -> ApiResult<Option<DirectoryInfo>> {
        Ok(self.store().directory_info()?.map(Into::into))
    }

    /// Starts a visit at enterprise `credit_code`: the site's name, credit code and address
    /// come from the directory, so the office links the visit to the enterprise. Returns the
    /// visit id.
    pub fn start_visit_from_enterprise(
        &self,
        credit_code: String,
        input: VisitFromEnterprise,
    ) -> ApiResult<String> {
        let input = core::VisitFromEnterprise {
            mode: input.mode.into(),
            team: input.team,
            template: input.template.try_into()?,
            sector: input.sector.map(Into::into),
            location: input.location.map(Into::into),
        };
        Ok(self
            .store()
            .start_visit_from_enterprise(&credit_code, input)?
            .into())
    }
}
