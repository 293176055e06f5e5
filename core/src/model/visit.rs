//! The visit record: one site inspection by a group, with its answers, findings and evidence.
//!
//! Answers are replaced whole: answering an item puts a fresh map at `answers/<item>`, so two
//! inspectors answering the same item offline produce two concurrent values at one key.
//! Automerge keeps both; [`crate::Store::conflicts`] reports them and the next answer to that
//! item (which has seen both) resolves the conflict.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::ids::{DeviceId, FindingId, ItemId, MediaHash, RecordId, TemplateId};
use crate::model::{GeoPoint, Scope, Sector, Severity, Timestamp};

/// The inspected enterprise or site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Site {
    /// Name of the enterprise or site.
    pub name: String,
    /// Unified social credit code (统一社会信用代码), if known.
    pub credit_code: Option<String>,
    /// Street address.
    pub address: String,
    /// The sector the site belongs to.
    pub sector: Sector,
}

/// How the visit is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum VisitMode {
    /// 暗访: unannounced; plan and findings confidential until disclosed.
    #[autosurgeon(rename = "covert")]
    Covert,
    /// 明查: announced inspection.
    #[autosurgeon(rename = "announced")]
    Announced,
}

impl VisitMode {
    /// The code used in index tables and on the wire.
    pub fn code(self) -> &'static str {
        match self {
            VisitMode::Covert => "covert",
            VisitMode::Announced => "announced",
        }
    }
}

/// The exact template version a visit was made with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct TemplateRef {
    /// Template id.
    pub id: TemplateId,
    /// Version.
    pub version: u32,
}

/// The value of one answer. Serde's form (`"pass"`, `{"number": 1.5}`) is the form the
/// document holds, so a visit can be read from a one-pass snapshot of its document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum AnswerValue {
    /// The item is met.
    #[autosurgeon(rename = "pass")]
    Pass,
    /// The item is not met: a hazard.
    #[autosurgeon(rename = "fail")]
    Fail,
    /// The item does not apply to this site.
    #[autosurgeon(rename = "not_applicable")]
    NotApplicable,
    /// A measurement.
    #[autosurgeon(rename = "number")]
    Number(f64),
    /// Free text.
    #[autosurgeon(rename = "text")]
    Text(String),
    /// One of the item's choices.
    #[autosurgeon(rename = "choice")]
    Choice(String),
}

/// One answer to a checklist item, with who gave it and when.
///
/// In the document an answer is one scalar (its JSON), not a map of fields: an answer is
/// replaced whole, never edited field by field, and one operation per capture instead of seven
/// keeps captures cheap as a visit's history grows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The value.
    pub value: AnswerValue,
    /// The inspector's note.
    pub note: Option<String>,
    /// Evidence attached to this answer.
    pub media: Vec<MediaHash>,
    /// Inspector's name.
    pub by: String,
    /// Device that recorded it.
    pub device: DeviceId,
    /// When.
    pub at: Timestamp,
}

impl Reconcile for Answer {
    type Key<'a> = autosurgeon::reconcile::NoKey;
    fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        reconciler.str(serde_json::to_string(self).expect("an answer always serialises"))
    }
}

impl Hydrate for Answer {
    fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
        serde_json::from_str(s)
            .map_err(|e| autosurgeon::HydrateError::unexpected("an answer as JSON", e.to_string()))
    }
}

/// A hazard found during the visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Finding {
    /// Id within the visit.
    pub id: FindingId,
    /// What was found.
    pub description: String,
    /// Major or general hazard.
    pub severity: Severity,
    /// The checklist item it relates to, if any.
    pub item: Option<ItemId>,
    /// Where exactly.
    pub location: Option<GeoPoint>,
    /// Evidence.
    pub media: Vec<MediaHash>,
    /// Rectified during the visit (边查边改、立行立改).
    pub fixed_on_spot: bool,
    /// Interim control measures (防控措施) when it cannot be fixed at once.
    pub interim_measures: Option<String>,
    /// Inspector's name.
    pub by: String,
    /// Device that recorded it.
    pub device: DeviceId,
    /// When.
    pub at: Timestamp,
}

/// What kind of media a reference points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A still photo.
    #[autosurgeon(rename = "photo")]
    Photo,
    /// A video.
    #[autosurgeon(rename = "video")]
    Video,
    /// An audio recording.
    #[autosurgeon(rename = "audio")]
    Audio,
}

/// A reference from a record to a content-addressed media file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct MediaRef {
    /// SHA-256 of the file.
    pub hash: MediaHash,
    /// Size in bytes.
    pub size: u64,
    /// Photo, video or audio.
    pub kind: MediaKind,
    /// MIME type, e.g. `video/mp4`.
    pub mime: String,
    /// When it was captured.
    pub captured_at: Timestamp,
    /// Where it was captured.
    pub location: Option<GeoPoint>,
    /// The capturing device.
    pub device: DeviceId,
    /// The capturing device's signature over the statement of this reference
    /// ([`crate::evidence`]); `None` until the device has a key (it signs at enrollment).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub signature: Option<crate::evidence::EvidenceSignature>,
}

/// A whole visit, as read from its document. Conflicting answers show their winning value
/// here; [`crate::Store::conflicts`] lists every value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Visit {
    /// Record id.
    pub id: RecordId,
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
    /// The assignment (push) the visit was started from, if any.
    pub assignment: Option<RecordId>,
    /// Start time.
    pub started_at: Timestamp,
    /// End time, once the visit is finished.
    pub ended_at: Option<Timestamp>,
    /// Where the visit started.
    pub location: Option<GeoPoint>,
    /// Answers by item id.
    pub answers: BTreeMap<String, Answer>,
    /// Findings by finding id.
    pub findings: BTreeMap<String, Finding>,
    /// Media references by hash.
    pub media: BTreeMap<String, MediaRef>,
}

/// What the inspector enters to start a visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewVisit {
    /// The site.
    pub site: Site,
    /// Covert or announced.
    pub mode: VisitMode,
    /// Names of the inspectors.
    pub team: Vec<String>,
    /// The template version to use; it must be in the store.
    pub template: TemplateRef,
    /// The assignment this visit answers, if any.
    pub assignment: Option<RecordId>,
    /// Where the visit starts.
    pub location: Option<GeoPoint>,
}

/// What the inspector enters to record a finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewFinding {
    /// What was found.
    pub description: String,
    /// Major or general.
    pub severity: Severity,
    /// The related item, if any; it must be in the visit's template.
    pub item: Option<ItemId>,
    /// Where.
    pub location: Option<GeoPoint>,
    /// Evidence already attached to the visit.
    pub media: Vec<MediaHash>,
    /// Fixed on the spot.
    pub fixed_on_spot: bool,
    /// Interim measures.
    pub interim_measures: Option<String>,
}

/// Two or more concurrent answers to one item, all kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnswerConflict {
    /// The item.
    pub item: ItemId,
    /// Every concurrent answer; the first is the one [`Visit::answers`] shows.
    pub answers: Vec<Answer>,
}

/// One line of the visit list, read from the index table without loading documents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisitSummary {
    /// Record id.
    pub id: RecordId,
    /// Site name.
    pub site_name: String,
    /// Site sector.
    pub sector: Sector,
    /// Covert or announced.
    pub mode: VisitMode,
    /// Start time.
    pub started_at: Timestamp,
    /// End time, if finished.
    pub ended_at: Option<Timestamp>,
    /// Number of answered items.
    pub answered: u32,
    /// Number of major-hazard findings.
    pub major_findings: u32,
    /// Number of general-hazard findings.
    pub general_findings: u32,
    /// Number of items with conflicting answers.
    pub conflicts: u32,
}
