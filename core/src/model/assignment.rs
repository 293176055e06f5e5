//! The assignment record: one push (推送) from the back office to one inspection group — the
//! six pushes of the source policy (六推送): risk points, whistleblower leads, group
//! information, key focus items, sector experts and planned targets.
//!
//! An assignment is written only by the back office, with the scope of the one group it is
//! for, so only that group's devices (and the back office) can read it. An inspector starts a
//! visit from it ([`crate::Store::start_visit_from_assignment`]); the visit names it in
//! [`crate::Visit::assignment`].

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::ids::RecordId;
use crate::model::{Sector, Site, TemplateRef, Timestamp};

/// What an assignment carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentKind {
    /// 推送风险点位: a place where risk concentrates.
    #[autosurgeon(rename = "risk_point")]
    RiskPoint,
    /// 推送举报线索: a whistleblower lead, triaged by the office.
    #[autosurgeon(rename = "lead")]
    Lead,
    /// 推送组情信息: information about the group's area and work.
    #[autosurgeon(rename = "group_info")]
    GroupInfo,
    /// 推送重点关注事项: key focus items for the period.
    #[autosurgeon(rename = "key_focus")]
    KeyFocus,
    /// 推送行业专家: sector experts the group may call on.
    #[autosurgeon(rename = "experts")]
    Experts,
    /// 推送计划检查对象: a planned inspection target.
    #[autosurgeon(rename = "planned_target")]
    PlannedTarget,
    /// 复查: go back and check that hazards of the ledger were rectified
    /// ([`Assignment::cases`] names them; see [`crate::model::Reinspection`]).
    #[autosurgeon(rename = "reinspection")]
    Reinspection,
}

impl AssignmentKind {
    /// Every kind.
    pub const ALL: [AssignmentKind; 7] = [
        AssignmentKind::RiskPoint,
        AssignmentKind::Lead,
        AssignmentKind::GroupInfo,
        AssignmentKind::KeyFocus,
        AssignmentKind::Experts,
        AssignmentKind::PlannedTarget,
        AssignmentKind::Reinspection,
    ];

    /// The snake_case code used in forms and index tables.
    pub fn code(self) -> &'static str {
        match self {
            AssignmentKind::RiskPoint => "risk_point",
            AssignmentKind::Lead => "lead",
            AssignmentKind::GroupInfo => "group_info",
            AssignmentKind::KeyFocus => "key_focus",
            AssignmentKind::Experts => "experts",
            AssignmentKind::PlannedTarget => "planned_target",
            AssignmentKind::Reinspection => "reinspection",
        }
    }

    /// Parses a code made by [`AssignmentKind::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// A sector expert named in an assignment (from the office's expert pool, 专家库).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ExpertContact {
    /// Name.
    pub name: String,
    /// Field of expertise, e.g. 危化工艺安全.
    pub specialty: String,
    /// Sectors the expert covers.
    pub sectors: Vec<Sector>,
    /// Employer or institute.
    pub unit: String,
    /// How to reach the expert, if they agreed to be reached.
    pub phone: Option<String>,
}

/// One push to one group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Assignment {
    /// Record id.
    pub id: RecordId,
    /// What the push carries.
    pub kind: AssignmentKind,
    /// Short title.
    pub title: String,
    /// The content: what to look at and why.
    pub body: String,
    /// The sector concerned, if one.
    pub sector: Option<Sector>,
    /// The site to inspect, if the push names one (leads, planned targets, risk points): a
    /// visit started from the assignment takes it.
    pub site: Option<Site>,
    /// The checklist to use, if the office chose one.
    pub template: Option<TemplateRef>,
    /// When the group should have acted, if there is a deadline.
    pub due: Option<Timestamp>,
    /// Experts, for an experts push (or any push that names some).
    pub experts: Vec<ExpertContact>,
    /// The lead it was made from (the lead's id in the office, never the reporter).
    pub lead: Option<String>,
    /// Who issued it (back-office login).
    pub issued_by: String,
    /// When.
    pub issued_at: Timestamp,
    /// The ledger entries (case records) to check again, for a re-inspection; absent in
    /// older records (empty).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub cases: Vec<RecordId>,
}
