//! Re-inspection (复查) on the phone: the hazards a re-inspection assignment names, with the
//! original finding and evidence (read offline), and the results the inspector records in
//! the re-inspection visit.

use siteproof_core as core;

use crate::error::ApiResult;
use crate::finding::Finding;
use crate::media::MediaRef;
use crate::store::{SiteproofStore, into_all};
use crate::template::{Sector, Severity};
use crate::visit::Site;

/// What the inspector found when going back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ReinspectionOutcome {
    /// 已整改: the hazard is rectified.
    Rectified,
    /// 未整改: the hazard is still there.
    NotRectified,
}

/// A hazard of the office's ledger, as the office last synced it (read-only on the phone).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Hazard {
    /// The ledger entry's id (pass it as `NewReinspection.case_id`).
    pub id: String,
    /// The visit that found it.
    pub visit_id: String,
    /// The finding within that visit.
    pub finding_id: String,
    /// The site's name.
    pub site_name: String,
    /// The site's sector.
    pub sector: Sector,
    /// Major or general.
    pub severity: Severity,
    /// What was found.
    pub description: String,
    /// Where it stands: `open`, `rectifying`, `rectified`, `verified`, `closed`, ...
    pub status: String,
    /// The rectification deadline, ms since the epoch, if one was ordered.
    pub deadline: Option<i64>,
}

/// One result recorded on a re-inspection.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Reinspection {
    /// The result's id.
    pub id: String,
    /// The hazard checked.
    pub case_id: String,
    /// Rectified or not.
    pub outcome: ReinspectionOutcome,
    /// The inspector's note.
    pub note: Option<String>,
    /// Photo hashes.
    pub media: Vec<String>,
    /// Inspector.
    pub by: String,
    /// When, ms since the epoch.
    pub at: i64,
}

/// What the inspector enters for one hazard checked again.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NewReinspection {
    /// The hazard (`Hazard.id`).
    pub case_id: String,
    /// Rectified or not.
    pub outcome: ReinspectionOutcome,
    /// A note.
    #[uniffi(default = None)]
    pub note: Option<String>,
    /// Photos already attached to the re-inspection visit (`add_evidence`).
    #[uniffi(default)]
    pub media: Vec<String>,
}

/// One hazard to check again, with what the phone holds about it.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ReinspectionTask {
    /// The hazard.
    pub hazard: Hazard,
    /// The site of the visit that found it, if the phone holds that visit.
    pub site: Option<Site>,
    /// The original finding, if the phone holds its visit.
    pub finding: Option<Finding>,
    /// The finding's evidence (files may be read with `media_info` / the media store).
    pub evidence: Vec<MediaRef>,
    /// Results already recorded for it in the re-inspection visit asked about.
    pub results: Vec<Reinspection>,
}

impl From<core::ReinspectionOutcome> for ReinspectionOutcome {
    fn from(o: core::ReinspectionOutcome) -> Self {
        match o {
            core::ReinspectionOutcome::Rectified => Self::Rectified,
            core::ReinspectionOutcome::NotRectified => Self::NotRectified,
        }
    }
}

impl From<ReinspectionOutcome> for core::ReinspectionOutcome {
    fn from(o: ReinspectionOutcome) -> Self {
        match o {
            ReinspectionOutcome::Rectified => Self::Rectified,
            ReinspectionOutcome::NotRectified => Self::NotRectified,
        }
    }
}

impl From<core::Reinspection> for Reinspection {
    fn from(r: core::Reinspection) -> Self {
        Self {
            id: r.id.into(),
            case_id: r.case.into(),
            outcome: r.outcome.into(),
            note: r.note,
            media: r.media.into_iter().map(|m| m.to_string()).collect(),
            by: r.by,
            at: r.at,
        }
    }
}

impl From<core::Case> for Hazard {
    fn from(c: core::Case) -> Self {
        Self {
            status: c.status().code().into(),
            deadline: c.deadline(),
            id: c.id.into(),
            visit_id: c.visit.into(),
            finding_id: c.finding.to_string(),
            site_name: c.site_name,
            sector: c.sector.into(),
            severity: c.severity.into(),
            description: c.description,
        }
    }
}

impl From<core::ReinspectionTask> for ReinspectionTask {
    fn from(t: core::ReinspectionTask) -> Self {
        Self {
            hazard: t.case.into(),
            site: t.site.map(Into::into),
            finding: t.finding.map(Into::into),
            evidence: into_all(t.evidence),
            results: into_all(t.results),
        }
    }
}

#[uniffi::export]
impl SiteproofStore {
    /// The hazards re-inspection assignment `assignment` names, with the original finding and
    /// evidence, and the results already recorded in `visit` (a re-inspection visit started
    /// from it with `start_visit_from_assignment`), if given. Reads the store only.
    #[uniffi::method(default(visit = None))]
    pub fn reinspection_tasks(
        &self,
        assignment: String,
        visit: Option<String>,
    ) -> ApiResult<Vec<ReinspectionTask>> {
        let visit = visit.map(|v| v.parse()).transpose()?;
        Ok(into_all(self.store().reinspection_tasks(
            &assignment.parse()?,
            visit.as_ref(),
        )?))
    }

    /// Records what the inspector found for one hazard, in the re-inspection visit (synced
    /// with the next `sync`). Returns the result's id.
    pub fn record_reinspection(&self, visit: String, input: NewReinspection) -> ApiResult<String> {
        let input = core::NewReinspection {
            case: input.case_id.parse()?,
            outcome: input.outcome.into(),
            note: input.note,
            media: input
                .media
                .into_iter()
                .map(|m| Ok(m.parse::<core::MediaHash>()?))
                .collect::<ApiResult<Vec<_>>>()?,
        };
        Ok(self
            .store()
            .record_reinspection(&visit.parse()?, input)?
            .into())
    }

    /// The re-inspection results a visit holds, oldest first.
    pub fn reinspections(&self, visit: String) -> ApiResult<Vec<Reinspection>> {
        Ok(into_all(self.store().reinspections(&visit.parse()?)?))
    }
}
