//! Visits and the visit list, as uniffi records. Ids cross as strings; the ones
//! coming in are parsed here and refused as `ApiError::InvalidInput`.

use std::collections::HashMap;

use siteproof_core as core;

use crate::answer::Answer;
use crate::error::ApiError;
use crate::finding::Finding;
use crate::media::MediaRef;
use crate::template::{Scope, Sector};

/// A GPS fix (WGS-84).
#[derive(Clone, Copy, Debug, PartialEq, uniffi::Record)]
pub struct GeoPoint {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// Horizontal accuracy in metres, if known.
    #[uniffi(default = None)]
    pub accuracy_m: Option<f64>,
}

/// The inspected enterprise or site.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Site {
    /// Name of the enterprise or site.
    pub name: String,
    /// Unified social credit code (统一社会信用代码), if known.
    #[uniffi(default = None)]
    pub credit_code: Option<String>,
    /// Street address.
    pub address: String,
    /// The sector the site belongs to.
    pub sector: Sector,
}

/// How a visit is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum VisitMode {
    /// 暗访: unannounced; plan and findings confidential. The app stays silent and shows no
    /// notification for covert visits.
    Covert,
    /// 明查: announced inspection.
    Announced,
}

/// The exact template version a visit is made with.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct TemplateRef {
    /// Template id.
    pub id: String,
    /// Version.
    pub version: u32,
}

/// What the inspector enters to start a visit.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NewVisit {
    /// The site.
    pub site: Site,
    /// Covert or announced.
    pub mode: VisitMode,
    /// Names of the inspectors.
    pub team: Vec<String>,
    /// The template version to use; it must be in the store.
    pub template: TemplateRef,
    /// The assignment (push from the back office) this visit answers, if any.
    #[uniffi(default = None)]
    pub assignment: Option<String>,
    /// Where the visit starts.
    #[uniffi(default = None)]
    pub location: Option<GeoPoint>,
}

/// A whole visit. A conflicting answer shows its winning value here; `conflicts()` lists all.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Visit {
    /// Record id.
    pub id: String,
    /// Who may read it.
    pub scope: Scope,
    /// The site.
    pub site: Site,
    /// Covert or announced.
    pub mode: VisitMode,
    /// Names of the inspectors.
    pub team: Vec<String>,
    /// Template version used.
    pub template: TemplateRef,
    /// The assignment the visit was started from, if any.
    pub assignment: Option<String>,
    /// Start, in milliseconds since the Unix epoch.
    pub started_at: i64,
    /// End, once the visit is finished.
    pub ended_at: Option<i64>,
    /// Where the visit started.
    pub location: Option<GeoPoint>,
    /// Answers by item id.
    pub answers: HashMap<String, Answer>,
    /// Findings, oldest first.
    pub findings: Vec<Finding>,
    /// Evidence attached to the visit, by hash order.
    pub media: Vec<MediaRef>,
}

/// One line of the visit list (read from an index; no document is loaded).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct VisitSummary {
    /// Record id.
    pub id: String,
    /// Site name.
    pub site_name: String,
    /// Site sector.
    pub sector: Sector,
    /// Covert or announced.
    pub mode: VisitMode,
    /// Start, in milliseconds since the Unix epoch.
    pub started_at: i64,
    /// End, if finished.
    pub ended_at: Option<i64>,
    /// Answered items.
    pub answered: u32,
    /// Major-hazard findings.
    pub major_findings: u32,
    /// General-hazard findings.
    pub general_findings: u32,
    /// Items with conflicting answers.
    pub conflicts: u32,
}

impl From<core::GeoPoint> for GeoPoint {
    fn from(p: core::GeoPoint) -> Self {
        Self {
            lat: p.lat,
            lon: p.lon,
            accuracy_m: p.accuracy_m,
        }
    }
}

impl From<GeoPoint> for core::GeoPoint {
    fn from(p: GeoPoint) -> Self {
        Self {
            lat: p.lat,
            lon: p.lon,
            accuracy_m: p.accuracy_m,
        }
    }
}

impl From<core::Site> for Site {
    fn from(s: core::Site) -> Self {
        Self {
            name: s.name,
            credit_code: s.credit_code,
            address: s.address,
            sector: s.sector.into(),
        }
    }
}

impl From<Site> for core::Site {
    fn from(s: Site) -> Self {
        Self {
            name: s.name,
            credit_code: s.credit_code,
            address: s.address,
            sector: s.sector.into(),
        }
    }
}

impl From<core::VisitMode> for VisitMode {
    fn from(m: core::VisitMode) -> Self {
        match m {
            core::VisitMode::Covert => Self::Covert,
            core::VisitMode::Announced => Self::Announced,
        }
    }
}

impl From<VisitMode> for core::VisitMode {
    fn from(m: VisitMode) -> Self {
        match m {
            VisitMode::Covert => Self::Covert,
            VisitMode::Announced => Self::Announced,
        }
    }
}

impl From<core::TemplateRef> for TemplateRef {
    fn from(t: core::TemplateRef) -> Self {
        Self {
            id: t.id.into(),
            version: t.version,
        }
    }
}

impl TryFrom<TemplateRef> for core::TemplateRef {
    type Error = ApiError;
    fn try_from(t: TemplateRef) -> Result<Self, ApiError> {
        Ok(Self {
            id: t.id.parse()?,
            version: t.version,
        })
    }
}

impl TryFrom<NewVisit> for core::NewVisit {
    type Error = ApiError;
    fn try_from(v: NewVisit) -> Result<Self, ApiError> {
        Ok(Self {
            site: v.site.into(),
            mode: v.mode.into(),
            team: v.team,
            template: v.template.try_into()?,
            assignment: parse_opt(v.assignment)?,
            location: v.location.map(Into::into),
        })
    }
}

impl From<core::Visit> for Visit {
    fn from(v: core::Visit) -> Self {
        Self {
            id: v.id.into(),
            scope: v.scope.into(),
            site: v.site.into(),
            mode: v.mode.into(),
            team: v.team,
            template: v.template.into(),
            assignment: v.assignment.map(Into::into),
            started_at: v.started_at,
            ended_at: v.ended_at,
            location: v.location.map(Into::into),
            answers: v.answers.into_iter().map(|(k, a)| (k, a.into())).collect(),
            // Finding ids are time-ordered (UUID v7), so key order is creation order.
            findings: v.findings.into_values().map(Into::into).collect(),
            media: v.media.into_values().map(Into::into).collect(),
        }
    }
}

impl From<core::VisitSummary> for VisitSummary {
    fn from(v: core::VisitSummary) -> Self {
        Self {
            id: v.id.into(),
            site_name: v.site_name,
            sector: v.sector.into(),
            mode: v.mode.into(),
            started_at: v.started_at,
            ended_at: v.ended_at,
            answered: v.answered,
            major_findings: v.major_findings,
            general_findings: v.general_findings,
            conflicts: v.conflicts,
        }
    }
}

/// Parses every id in `ids`, failing on the first invalid one.
pub(crate) fn parse_all<T: std::str::FromStr<Err = core::Error>>(
    ids: Vec<String>,
) -> Result<Vec<T>, ApiError> {
    ids.into_iter()
        .map(|s| s.parse().map_err(ApiError::from))
        .collect()
}

/// Parses an optional id.
pub(crate) fn parse_opt<T: std::str::FromStr<Err = core::Error>>(
    id: Option<String>,
) -> Result<Option<T>, ApiError> {
    match id {
        Some(s) => Ok(Some(s.parse()?)),
        None => Ok(None),
    }
}
