//! Assignments from the office (六推送, "pushes" in the source policy) and collections for it
//! (work updates, practices), as uniffi records, and the store methods that read and write them.

use siteproof_core as core;

use crate::error::ApiResult;
use crate::store::{SiteproofStore, into_all};
use crate::template::Sector;
use crate::visit::{GeoPoint, Site, TemplateRef, VisitMode};

/// What an assignment from the office carries (六推送).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum AssignmentKind {
    /// 风险点位: a place where risk concentrates.
    RiskPoint,
    /// 举报线索: a whistleblower lead the office passed on.
    Lead,
    /// 组情信息: information about the group's area and members.
    GroupInfo,
    /// 重点关注事项: key focus items.
    KeyFocus,
    /// 行业专家: experts the group may call on.
    Experts,
    /// 计划检查对象: a planned inspection target.
    PlannedTarget,
    /// 复查: go back and check hazards of the ledger (`Assignment.cases`,
    /// `reinspection_tasks`).
    Reinspection,
}

/// An expert named in an assignment.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ExpertContact {
    /// Name.
    pub name: String,
    /// Field of expertise.
    pub specialty: String,
    /// Sectors covered.
    pub sectors: Vec<Sector>,
    /// Employer or institute.
    pub unit: String,
    /// Phone, if the expert agreed to be called.
    pub phone: Option<String>,
}

/// A push from the office to this device's group. Confidential: only the group and the office
/// can read it; the app should show it only inside the app.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Assignment {
    /// Record id (pass it to `start_visit_from_assignment`).
    pub id: String,
    /// What it carries.
    pub kind: AssignmentKind,
    /// Title.
    pub title: String,
    /// Content.
    pub body: String,
    /// Sector concerned.
    pub sector: Option<Sector>,
    /// The site to inspect, if it names one.
    pub site: Option<Site>,
    /// The checklist to use, if the office chose one.
    pub template: Option<TemplateRef>,
    /// Deadline, ms since the epoch.
    pub due: Option<i64>,
    /// Experts.
    pub experts: Vec<ExpertContact>,
    /// Who issued it.
    pub issued_by: String,
    /// When, ms since the epoch.
    pub issued_at: i64,
    /// The hazards (ledger entry ids) a re-inspection names; empty for other kinds.
    pub cases: Vec<String>,
}

/// What the inspector enters to start a visit from an assignment.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct VisitFromAssignment {
    /// Covert or announced.
    pub mode: VisitMode,
    /// Names of the inspectors.
    pub team: Vec<String>,
    /// The template to use when the assignment names none.
    #[uniffi(default = None)]
    pub template: Option<TemplateRef>,
    /// Where the visit starts.
    #[uniffi(default = None)]
    pub location: Option<GeoPoint>,
}

/// Work update or practice (三收集).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum CollectionKind {
    /// 工作动态.
    WorkUpdate,
    /// 经验做法.
    Practice,
}

/// A work update or practice of this device's group.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Collection {
    /// Record id.
    pub id: String,
    /// Work update or practice.
    pub kind: CollectionKind,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Who wrote it.
    pub author: String,
    /// When, ms since the epoch.
    pub written_at: i64,
    /// Attached media hashes.
    pub media: Vec<String>,
}

impl From<core::AssignmentKind> for AssignmentKind {
    fn from(k: core::AssignmentKind) -> Self {
        match k {
            core::AssignmentKind::RiskPoint => Self::RiskPoint,
            core::AssignmentKind::Lead => Self::Lead,
            core::AssignmentKind::GroupInfo => Self::GroupInfo,
            core::AssignmentKind::KeyFocus => Self::KeyFocus,
            core::AssignmentKind::Experts => Self::Experts,
            core::AssignmentKind::PlannedTarget => Self::PlannedTarget,
            core::AssignmentKind::Reinspection => Self::Reinspection,
        }
    }
}

impl From<core::Assignment> for Assignment {
    fn from(a: core::Assignment) -> Self {
        Self {
            id: a.id.into(),
            kind: a.kind.into(),
            title: a.title,
            body: a.body,
            sector: a.sector.map(Into::into),
            site: a.site.map(Into::into),
            template: a.template.map(Into::into),
            due: a.due,
            experts: a
                .experts
                .into_iter()
                .map(|e| ExpertContact {
                    name: e.name,
                    specialty: e.specialty,
                    sectors: into_all(e.sectors),
                    unit: e.unit,
                    phone: e.phone,
                })
                .collect(),
            issued_by: a.issued_by,
            issued_at: a.issued_at,
            cases: a.cases.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<core::CollectionKind> for CollectionKind {
    fn from(k: core::CollectionKind) -> Self {
        match k {
            core::CollectionKind::WorkUpdate => Self::WorkUpdate,
            core::CollectionKind::Practice => Self::Practice,
        }
    }
}

impl From<CollectionKind> for core::CollectionKind {
    fn from(k: CollectionKind) -> Self {
        match k {
            CollectionKind::WorkUpdate => Self::WorkUpdate,
            CollectionKind::Practice => Self::Practice,
        }
    }
}

impl From<core::Collection> for Collection {
    fn from(c: core::Collection) -> Self {
        Self {
            id: c.id.into(),
            kind: c.kind.into(),
            title: c.title,
            body: c.body,
            author: c.author,
            written_at: c.written_at,
            media: c.media.into_iter().map(|m| m.to_string()).collect(),
        }
    }
}

#[uniffi::export]
impl SiteproofStore {
    /// The assignments the office sent this device's group (they arrive with `sync`), newest first.
    pub fn assignments(&self) -> ApiResult<Vec<Assignment>> {
        Ok(into_all(self.store().assignments()?))
    }

    /// One push.
    pub fn assignment(&self, id: String) -> ApiResult<Assignment> {
        Ok(self.store().assignment(&id.parse()?)?.into())
    }

    /// Starts a visit from an assignment: it takes the assignment's site and checklist and
    /// links back to it. Returns the visit id.
    pub fn start_visit_from_assignment(
        &self,
        assignment: String,
        input: VisitFromAssignment,
    ) -> ApiResult<String> {
        let input = core::VisitFromAssignment {
            mode: input.mode.into(),
            team: input.team,
            template: input.template.map(TryInto::try_into).transpose()?,
            location: input.location.map(Into::into),
        };
        Ok(self
            .store()
            .start_visit_from_assignment(&assignment.parse()?, input)?
            .into())
    }

    /// Writes a work update or practice for the office (synced with the next `sync`).
    /// `media`: hashes of files already in the store. Returns its id.
    pub fn write_collection(
        &self,
        kind: CollectionKind,
        title: String,
        body: String,
        media: Vec<String>,
    ) -> ApiResult<String> {
        let media = media
            .into_iter()
            .map(|m| Ok(m.parse::<core::MediaHash>()?))
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(self
            .store()
            .write_collection(kind.into(), &title, &body, media)?
            .into())
    }

    /// The group's work updates and practices, newest first.
    pub fn collections(&self) -> ApiResult<Vec<Collection>> {
        Ok(into_all(self.store().collections()?))
    }
}
