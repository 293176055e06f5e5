//! Visits, answers, findings and conflicts, as uniffi records. Ids cross as strings; the ones
//! coming in are parsed here and refused as `ApiError::InvalidInput`.

use std::collections::HashMap;

use siteproof_core as core;

use crate::error::ApiError;
use crate::media::MediaRef;
use crate::template::{Scope, Sector, Severity};

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

/// The value of one answer.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum AnswerValue {
    /// The item is met.
    Pass,
    /// The item is not met: a hazard.
    Fail,
    /// The item does not apply to this site.
    NotApplicable,
    /// A measurement.
    Number {
        /// The measured value (finite).
        value: f64,
    },
    /// Free text.
    Text {
        /// The text.
        value: String,
    },
    /// One of the item's choices.
    Choice {
        /// The choice.
        value: String,
    },
}

/// What the inspector enters for one item.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct AnswerInput {
    /// The value.
    pub value: AnswerValue,
    /// A note.
    #[uniffi(default = None)]
    pub note: Option<String>,
    /// Hashes of evidence already attached to the visit.
    #[uniffi(default)]
    pub media: Vec<String>,
}

/// One answer, with who gave it and when.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Answer {
    /// The value.
    pub value: AnswerValue,
    /// The inspector's note.
    pub note: Option<String>,
    /// Hashes of the evidence attached to this answer.
    pub media: Vec<String>,
    /// Inspector's name.
    pub by: String,
    /// Device that recorded it.
    pub device: String,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
}

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

/// Concurrent answers to one item from different devices, all kept. The next answer to the
/// item resolves the conflict.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct AnswerConflict {
    /// The item id.
    pub item: String,
    /// Every concurrent answer; the first is the one `Visit.answers` shows.
    pub answers: Vec<Answer>,
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

impl From<core::AnswerValue> for AnswerValue {
    fn from(v: core::AnswerValue) -> Self {
        match v {
            core::AnswerValue::Pass => Self::Pass,
            core::AnswerValue::Fail => Self::Fail,
            core::AnswerValue::NotApplicable => Self::NotApplicable,
            core::AnswerValue::Number(value) => Self::Number { value },
            core::AnswerValue::Text(value) => Self::Text { value },
            core::AnswerValue::Choice(value) => Self::Choice { value },
        }
    }
}

impl From<AnswerValue> for core::AnswerValue {
    fn from(v: AnswerValue) -> Self {
        match v {
            AnswerValue::Pass => Self::Pass,
            AnswerValue::Fail => Self::Fail,
            AnswerValue::NotApplicable => Self::NotApplicable,
            AnswerValue::Number { value } => Self::Number(value),
            AnswerValue::Text { value } => Self::Text(value),
            AnswerValue::Choice { value } => Self::Choice(value),
        }
    }
}

impl TryFrom<AnswerInput> for core::AnswerInput {
    type Error = ApiError;
    fn try_from(a: AnswerInput) -> Result<Self, ApiError> {
        Ok(Self {
            value: a.value.into(),
            note: a.note,
            media: parse_all(a.media)?,
        })
    }
}

impl From<core::Answer> for Answer {
    fn from(a: core::Answer) -> Self {
        Self {
            value: a.value.into(),
            note: a.note,
            media: a.media.into_iter().map(Into::into).collect(),
            by: a.by,
            device: a.device.into(),
            at: a.at,
        }
    }
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

impl From<core::AnswerConflict> for AnswerConflict {
    fn from(c: core::AnswerConflict) -> Self {
        Self {
            item: c.item.into(),
            answers: c.answers.into_iter().map(Into::into).collect(),
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
fn parse_opt<T: std::str::FromStr<Err = core::Error>>(
    id: Option<String>,
) -> Result<Option<T>, ApiError> {
    match id {
        Some(s) => Ok(Some(s.parse()?)),
        None => Ok(None),
    }
}
