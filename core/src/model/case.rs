//! The case record: one hazard's way through the ledger (问题隐患治理台账), from the finding
//! that opened it to its closure (销号).
//!
//! A case is written only by the back office and synced read-only to the group whose visit
//! found the hazard. Its history is an append-only list of [`CaseEvent`]s; the status is
//! derived from that list ([`Case::status`]), never stored as a last-writer-wins field, so
//! what happened and who did it is never lost.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::ids::{FindingId, MediaHash, RecordId};
use crate::model::{Sector, Severity, Timestamp};

/// What happened to a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum CaseEventKind {
    /// Opened from a finding.
    #[autosurgeon(rename = "opened")]
    Opened,
    /// Rectification ordered (整改): responsible unit and deadline.
    #[autosurgeon(rename = "ordered")]
    Ordered,
    /// Interim control measures (防控措施) recorded.
    #[autosurgeon(rename = "interim_measures")]
    InterimMeasures,
    /// Put under listed supervision (挂牌督办).
    #[autosurgeon(rename = "escalated")]
    Escalated,
    /// The responsible unit reports the rectification, with evidence.
    #[autosurgeon(rename = "rectified")]
    Rectified,
    /// The office verified the rectification.
    #[autosurgeon(rename = "verified")]
    Verified,
    /// Closed (销号).
    #[autosurgeon(rename = "closed")]
    Closed,
    /// Reopened after closure or verification.
    #[autosurgeon(rename = "reopened")]
    Reopened,
}

impl CaseEventKind {
    /// Every kind.
    pub const ALL: [CaseEventKind; 8] = [
        CaseEventKind::Opened,
        CaseEventKind::Ordered,
        CaseEventKind::InterimMeasures,
        CaseEventKind::Escalated,
        CaseEventKind::Rectified,
        CaseEventKind::Verified,
        CaseEventKind::Closed,
        CaseEventKind::Reopened,
    ];

    /// The snake_case code used in forms and index tables.
    pub fn code(self) -> &'static str {
        match self {
            CaseEventKind::Opened => "opened",
            CaseEventKind::Ordered => "ordered",
            CaseEventKind::InterimMeasures => "interim_measures",
            CaseEventKind::Escalated => "escalated",
            CaseEventKind::Rectified => "rectified",
            CaseEventKind::Verified => "verified",
            CaseEventKind::Closed => "closed",
            CaseEventKind::Reopened => "reopened",
        }
    }

    /// Parses a code made by [`CaseEventKind::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// One entry of a case's history: what, who, when, and the details that kind carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct CaseEvent {
    /// What happened.
    pub kind: CaseEventKind,
    /// Who recorded it (the back-office user's login).
    pub by: String,
    /// When, ms since the Unix epoch.
    pub at: Timestamp,
    /// Free text: the measures, the rectification report, the reason to reopen.
    pub note: Option<String>,
    /// The responsible unit (责任单位), for `Ordered`.
    pub unit: Option<String>,
    /// The rectification deadline (整改期限), for `Ordered`.
    pub deadline: Option<Timestamp>,
    /// Evidence, for `Rectified`.
    pub media: Vec<MediaHash>,
}

/// Where a case stands, derived from its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Fixed during the visit (立行立改), with the visit's evidence; awaiting verification.
    FixedOnSpot,
    /// Found, no rectification ordered yet.
    Open,
    /// Rectification ordered (responsible unit, deadline), not yet reported done.
    Rectifying,
    /// Reported rectified, awaiting verification.
    Rectified,
    /// Verified, awaiting closure.
    Verified,
    /// Closed (销号).
    Closed,
    /// Reopened after a rectification that did not hold; awaiting a new order or report.
    Reopened,
}

impl CaseStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [CaseStatus; 7] = [
        CaseStatus::FixedOnSpot,
        CaseStatus::Open,
        CaseStatus::Rectifying,
        CaseStatus::Rectified,
        CaseStatus::Verified,
        CaseStatus::Closed,
        CaseStatus::Reopened,
    ];

    /// The snake_case code used in URLs and index tables.
    pub fn code(self) -> &'static str {
        match self {
            CaseStatus::FixedOnSpot => "fixed_on_spot",
            CaseStatus::Open => "open",
            CaseStatus::Rectifying => "rectifying",
            CaseStatus::Rectified => "rectified",
            CaseStatus::Verified => "verified",
            CaseStatus::Closed => "closed",
            CaseStatus::Reopened => "reopened",
        }
    }

    /// Parses a code made by [`CaseStatus::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The status of a finding before the office has acted on it.
    pub fn of_finding(fixed_on_spot: bool) -> Self {
        if fixed_on_spot {
            CaseStatus::FixedOnSpot
        } else {
            CaseStatus::Open
        }
    }

    /// Whether a deadline still runs against the hazard (it may become overdue).
    pub fn awaits_rectification(self) -> bool {
        matches!(
            self,
            CaseStatus::Open | CaseStatus::Rectifying | CaseStatus::Reopened
        )
    }
}

/// Whether a hazard is under listed supervision (挂牌督办): listed by hand, overdue, or major
/// and not fixed on the spot; never once closed. The one rule the case and the ledger's rows
/// share.
pub fn is_listed(
    status: CaseStatus,
    by_hand: bool,
    overdue: bool,
    major: bool,
    fixed_on_spot: bool,
) -> bool {
    status != CaseStatus::Closed && (by_hand || overdue || (major && !fixed_on_spot))
}

/// A hazard ledger entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Case {
    /// Record id.
    pub id: RecordId,
    /// The visit whose finding opened the case.
    pub visit: RecordId,
    /// That finding.
    pub finding: FindingId,
    /// The inspected site.
    pub site_name: String,
    /// The site's sector.
    pub sector: Sector,
    /// Major or general hazard.
    pub severity: Severity,
    /// What was found (copied from the finding when the case opened).
    pub description: String,
    /// The history, oldest first; only ever appended to.
    pub events: Vec<CaseEvent>,
    /// The finding was fixed during the visit (立行立改); absent in older records (false).
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub fixed_on_spot: bool,
}

impl Case {
    /// The status the events lead to.
    pub fn status(&self) -> CaseStatus {
        let start = CaseStatus::of_finding(self.fixed_on_spot);
        let mut status = start;
        for e in &self.events {
            status = match e.kind {
                CaseEventKind::Opened => start,
                CaseEventKind::Ordered => CaseStatus::Rectifying,
                CaseEventKind::Rectified => CaseStatus::Rectified,
                CaseEventKind::Verified => CaseStatus::Verified,
                CaseEventKind::Closed => CaseStatus::Closed,
                CaseEventKind::Reopened => CaseStatus::Reopened,
                CaseEventKind::InterimMeasures | CaseEventKind::Escalated => status,
            };
        }
        status
    }

    /// The deadline of the latest order, if any.
    pub fn deadline(&self) -> Option<Timestamp> {
        self.events
            .iter()
            .rev()
            .find(|e| e.kind == CaseEventKind::Ordered)
            .and_then(|e| e.deadline)
    }

    /// The responsible unit of the latest order, if any.
    pub fn unit(&self) -> Option<&str> {
        self.events
            .iter()
            .rev()
            .find(|e| e.kind == CaseEventKind::Ordered)
            .and_then(|e| e.unit.as_deref())
    }

    /// Whether the deadline has passed at `now` without the rectification reported.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.status().awaits_rectification() && self.deadline().is_some_and(|d| d < now)
    }

    /// Whole days past the deadline at `now` (0 when not overdue).
    pub fn days_overdue(&self, now: Timestamp) -> i64 {
        match self.deadline() {
            Some(d) if self.is_overdue(now) => (now - d) / 86_400_000 + 1,
            _ => 0,
        }
    }

    /// Whether the office listed the case by hand.
    pub fn listed_by_hand(&self) -> bool {
        self.events
            .iter()
            .any(|e| e.kind == CaseEventKind::Escalated)
    }

    /// Whether the case is under listed supervision (挂牌督办) at `now`: by hand, or
    /// automatically when overdue or major and not fixed on the spot ([`is_listed`]).
    pub fn is_escalated(&self, now: Timestamp) -> bool {
        is_listed(
            self.status(),
            self.listed_by_hand(),
            self.is_overdue(now),
            self.severity == Severity::Major,
            self.fixed_on_spot,
        )
    }

    /// Whether a re-inspection (复查) that found the hazard rectified on site may verify it
    /// now: at any status before verification, since the inspector saw the rectification
    /// whether or not the responsible unit reported it.
    pub fn allows_verification_on_site(&self) -> bool {
        !matches!(self.status(), CaseStatus::Verified | CaseStatus::Closed)
    }

    /// Whether `kind` may follow the events so far (the lifecycle's transitions).
    pub fn allows(&self, kind: CaseEventKind) -> bool {
        use CaseEventKind as K;
        use CaseStatus as S;
        let status = self.status();
        match kind {
            K::Opened => self.events.is_empty(),
            K::Ordered => matches!(
                status,
                S::FixedOnSpot | S::Open | S::Rectifying | S::Reopened
            ),
            K::InterimMeasures | K::Escalated => status != S::Closed,
            K::Rectified => {
                status == S::Rectifying || (status == S::Reopened && self.deadline().is_some())
            }
            K::Verified => matches!(status, S::FixedOnSpot | S::Rectified),
            K::Closed => status == S::Verified,
            K::Reopened => matches!(status, S::Rectified | S::Verified | S::Closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: CaseEventKind, at: Timestamp, deadline: Option<Timestamp>) -> CaseEvent {
        CaseEvent {
            kind,
            by: "reviewer".into(),
            at,
            note: None,
            unit: deadline.map(|_| "某化工厂".into()),
            deadline,
            media: vec![],
        }
    }

    fn opened_case(fixed_on_spot: bool) -> Case {
        Case {
            id: RecordId::random(),
            visit: RecordId::random(),
            finding: FindingId::random(),
            site_name: "厂".into(),
            sector: Sector::Gas,
            severity: Severity::Major,
            description: "泄漏".into(),
            events: vec![event(CaseEventKind::Opened, 0, None)],
            fixed_on_spot,
        }
    }

    #[test]
    fn status_follows_the_events_and_overdue_cases_are_escalated() {
        let mut case = opened_case(false);
        assert_eq!(case.status(), CaseStatus::Open);
        assert!(
            case.is_escalated(0),
            "a major hazard not fixed at once is listed at once"
        );
        case.severity = Severity::General;
        assert!(!case.allows(CaseEventKind::Closed));
        case.events
            .push(event(CaseEventKind::Ordered, 1, Some(86_400_000)));
        assert_eq!(case.status(), CaseStatus::Rectifying);
        assert!(!case.is_escalated(1000));
        assert!(case.is_escalated(86_400_001), "overdue flags 挂牌督办");
        assert_eq!(case.days_overdue(86_400_001), 1);
        for kind in [
            CaseEventKind::Rectified,
            CaseEventKind::Verified,
            CaseEventKind::Closed,
        ] {
            assert!(case.allows(kind));
            case.events.push(event(kind, 2, None));
        }
        assert_eq!(case.status(), CaseStatus::Closed);
        assert!(!case.is_escalated(i64::MAX));
        case.events.push(event(CaseEventKind::Reopened, 3, None));
        assert_eq!(case.status(), CaseStatus::Reopened);
        assert!(
            case.allows(CaseEventKind::Rectified),
            "the order still holds"
        );
        assert!(case.is_overdue(86_400_001), "and so does its deadline");
    }

    #[test]
    fn a_finding_fixed_on_the_spot_is_verified_then_closed_and_never_listed_automatically() {
        let mut case = opened_case(true);
        assert_eq!(case.status(), CaseStatus::FixedOnSpot);
        assert!(!case.is_escalated(i64::MAX));
        assert!(!case.allows(CaseEventKind::Rectified));
        for kind in [CaseEventKind::Verified, CaseEventKind::Closed] {
            assert!(case.allows(kind), "{kind:?}");
            case.events.push(event(kind, 1, None));
        }
        assert_eq!(case.status(), CaseStatus::Closed);
    }
}
