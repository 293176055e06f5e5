//! Findings (hazards found on a visit), as uniffi records.

use siteproof_core as core;

use crate::error::ApiError;
use crate::template::Severity;
use crate::visit::{GeoPoint, parse_all, parse_opt};

/// What the inspector enters to record a finding.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NewFinding {
    /// What was found.
    pub description: String,
    /// Major or general hazard.
    pub severity: Severity,
    /// The related checklist item id, if any; it must be in the visit's template.
    #[uniffi(default = None)]
    pub item: Option<String>,
    /// Where.
    #[uniffi(default = None)]
    pub location: Option<GeoPoint>,
    /// Hashes of evidence already attached to the visit.
    #[uniffi(default)]
    pub media: Vec<String>,
    /// Rectified on the spot (边查边改、立行立改).
    #[uniffi(default = false)]
    pub fixed_on_spot: bool,
    /// Interim control measures (防控措施) when it cannot be fixed at once.
    #[uniffi(default = None)]
    pub interim_measures: Option<String>,
}

/// A hazard found during a visit.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Finding {
    /// Id within the visit.
    pub id: String,
    /// What was found.
    pub description: String,
    /// Major or general hazard.
    pub severity: Severity,
    /// The related checklist item id, if any.
    pub item: Option<String>,
    /// Where.
    pub location: Option<GeoPoint>,
    /// Hashes of the evidence.
    pub media: Vec<String>,
    /// Rectified on the spot.
    pub fixed_on_spot: bool,
    /// Interim control measures.
    pub interim_measures: Option<String>,
    /// Inspector's name.
    pub by: String,
    /// Device that recorded it.
    pub device: String,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
}

impl TryFrom<NewFinding> for core::NewFinding {
    type Error = ApiError;
    fn try_from(f: NewFinding) -> Result<Self, ApiError> {
        Ok(Self {
            description: f.description,
            severity: f.severity.into(),
            item: parse_opt(f.item)?,
            location: f.location.map(Into::into),
            media: parse_all(f.media)?,
            fixed_on_spot: f.fixed_on_spot,
            interim_measures: f.interim_measures,
        })
    }
}

impl From<core::Finding> for Finding {
    fn from(f: core::Finding) -> Self {
        Self {
            id: f.id.into(),
            description: f.description,
            severity: f.severity.into(),
            item: f.item.map(Into::into),
            location: f.location.map(Into::into),
            media: f.media.into_iter().map(Into::into).collect(),
            fixed_on_spot: f.fixed_on_spot,
            interim_measures: f.interim_measures,
            by: f.by,
            device: f.device.into(),
            at: f.at,
        }
    }
}
