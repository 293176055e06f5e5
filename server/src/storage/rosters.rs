//! [`RosterStore`]: a region's rosters as stored, in the database every server process
//! shares: the inspectors (each in at most one group of the region) and the expert pool.
//! Office rows, not synced records. A write that names a group checks, in the same
//! statement, that the group is one of the region's, so no process can put an inspector into
//! a group of another region, whatever it read before.

use async_trait::async_trait;
use siteproof_core::Sector;

use super::StorageResult;

/// An inspector of the roster.
#[derive(Clone, Debug, PartialEq)]
pub struct Inspector {
    /// Row id (ignored when adding).
    pub id: i64,
    /// Name.
    pub name: String,
    /// Employer (unit).
    pub unit: String,
    /// Phone.
    pub phone: Option<String>,
    /// Sectors of competence.
    pub sectors: Vec<Sector>,
    /// The group the inspector is in, if any.
    pub group: Option<String>,
}

/// An expert of the pool.
#[derive(Clone, Debug, PartialEq)]
pub struct Expert {
    /// Row id (ignored when adding).
    pub id: i64,
    /// Name.
    pub name: String,
    /// Field of expertise.
    pub specialty: String,
    /// Sectors covered.
    pub sectors: Vec<Sector>,
    /// Employer or institute.
    pub unit: String,
    /// Phone.
    pub phone: Option<String>,
}

/// What moving an inspector found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupChange {
    /// The inspector is in the group now (or in none).
    Done,
    /// No inspector with that id in the region; nothing changed.
    NoSuchInspector,
    /// The group is not one of the region's; nothing changed.
    NoSuchGroup,
}

/// The sectors as stored: codes joined by commas.
pub(super) fn sectors_text(sectors: &[Sector]) -> String {
    sectors
        .iter()
        .map(|s| s.code())
        .collect::<Vec<_>>()
        .join(",")
}

/// The sectors of a stored text (unknown codes are left out).
pub(super) fn sectors_of(text: &str) -> Vec<Sector> {
    text.split(',').filter_map(Sector::from_code).collect()
}

/// The rosters of every region.
#[async_trait]
pub trait RosterStore: Send + Sync + 'static {
    /// Adds an inspector to `region`'s roster; its id, or `None` (nothing stored) when its
    /// group is not one of the region's.
    async fn add_inspector(&self, region: &str, new: &Inspector) -> StorageResult<Option<i64>>;
    /// Puts an inspector of `region` into a group of the region, or with `None` out of any.
    async fn set_inspector_group(
        &self,
        region: &str,
        id: i64,
        group: Option<&str>,
    ) -> StorageResult<GroupChange>;
    /// The inspectors of `region` (only those of `group`, when given), by group, name, id.
    async fn inspectors(&self, region: &str, group: Option<&str>) -> StorageResult<Vec<Inspector>>;
    /// Adds an expert to `region`'s pool; its id.
    async fn add_expert(&self, region: &str, new: &Expert) -> StorageResult<i64>;
    /// The expert pool of `region`, by name then id.
    async fn experts(&self, region: &str) -> StorageResult<Vec<Expert>>;
}
