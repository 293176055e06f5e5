//! Re-inspection (复查): an inspector goes back to a site to check that hazards the office
//! has in its ledger were really rectified, before the office closes them.
//!
//! The office sends the hazards as an assignment of kind
//! [`crate::AssignmentKind::Reinspection`] naming their ledger entries
//! ([`crate::Assignment::cases`]); the case records come with it to the group. The inspector
//! starts a visit from that assignment ([`crate::Store::start_visit_from_assignment`]), sees
//! each hazard with the original finding and its evidence
//! ([`crate::Store::reinspection_tasks`]) and records one [`Reinspection`] per hazard checked
//! ([`crate::Store::record_reinspection`]). Results live in the re-inspection visit's
//! `reinspections` map, keyed by their own id, so they sync, merge and carry evidence like
//! every other capture; the office reads them from there onto the ledger entry.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::ids::{DeviceId, MediaHash, RecordId};
use crate::model::{Case, Finding, MediaRef, Site, Timestamp};

/// What the inspector found when going back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum ReinspectionOutcome {
    /// The hazard is rectified (已整改).
    #[autosurgeon(rename = "rectified")]
    Rectified,
    /// The hazard is still there (未整改).
    #[autosurgeon(rename = "not_rectified")]
    NotRectified,
}

impl ReinspectionOutcome {
    /// The code used in documents, forms and index tables.
    pub fn code(self) -> &'static str {
        match self {
            ReinspectionOutcome::Rectified => "rectified",
            ReinspectionOutcome::NotRectified => "not_rectified",
        }
    }

    /// Parses a code made by [`ReinspectionOutcome::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Rectified, Self::NotRectified]
            .into_iter()
            .find(|o| o.code() == code)
    }
}

/// One hazard checked again on site, as the re-inspection visit holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Reinspection {
    /// The result's own id (its key in the visit's `reinspections` map).
    pub id: RecordId,
    /// The ledger entry checked.
    pub case: RecordId,
    /// Rectified or not.
    pub outcome: ReinspectionOutcome,
    /// The inspector's note.
    pub note: Option<String>,
    /// Photos taken on the re-inspection (attached to the re-inspection visit).
    pub media: Vec<MediaHash>,
    /// Inspector's name.
    pub by: String,
    /// Device that recorded it.
    pub device: DeviceId,
    /// When.
    pub at: Timestamp,
}

/// What the inspector enters for one hazard checked again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewReinspection {
    /// The ledger entry checked; it must be one the visit's assignment names.
    pub case: RecordId,
    /// Rectified or not.
    pub outcome: ReinspectionOutcome,
    /// A note.
    pub note: Option<String>,
    /// Photos already attached to the re-inspection visit.
    pub media: Vec<MediaHash>,
}

/// One hazard to check again, with what the phone holds about it (nothing here needs a
/// network).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReinspectionTask {
    /// The ledger entry, as the office last synced it.
    pub case: Case,
    /// The site of the visit that found it, if the store holds that visit.
    pub site: Option<Site>,
    /// The original finding, if the store holds its visit.
    pub finding: Option<Finding>,
    /// The finding's evidence: the references the original visit holds.
    pub evidence: Vec<MediaRef>,
    /// Results recorded for it in the re-inspection visit asked about, oldest first.
    pub results: Vec<Reinspection>,
}
