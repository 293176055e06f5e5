//! Cases: the back office writes each as a `case` record (an Automerge document with the scope
//! of the visit's group, so it syncs read-only to that group) through core's document
//! functions, and keeps its ledger row in step. Events are only appended; the status is
//! derived from them by [`Case::status`].

pub(super) mod pages;
pub(super) mod routes;
pub(super) mod rows;

use automerge::{ActorId, AutoCommit, ROOT};
use siteproof_core::{
    Case, CaseEvent, CaseEventKind, CaseStatus, MediaHash, RecordHeader, RecordId, RecordKind,
};

use super::db::CaseRow;
use super::visits::severity_code;
use super::{BackOffice, WebUser};
use crate::error::{Error, Result};
use crate::evidence::{CustodyEvent, custody};
use crate::identity::visibility::Visibility;
use rows as case_rows;

/// Whole days a row is past its deadline at `now` (0 when not overdue).
pub(crate) fn days_overdue(row: &CaseRow, now: i64) -> i64 {
    match row.deadline {
        Some(d) if d < now && matches!(row.status.as_str(), "open" | "rectifying") => {
            (now - d) / crate::backoffice::dates::DAY_MS + 1
        }
        _ => 0,
    }
}

/// Whether a row is under listed supervision: escalated by hand or overdue, and not closed.
pub(crate) fn escalated(row: &CaseRow, now: i64) -> bool {
    row.status != "closed" && (row.escalated || days_overdue(row, now) > 0)
}

/// What a form sends to add an event to a case.
#[derive(Clone, Debug, Default)]
pub struct CaseInput {
    /// The event kind.
    pub kind: Option<CaseEventKind>,
    /// Free text.
    pub note: Option<String>,
    /// Responsible unit (for an order).
    pub unit: Option<String>,
    /// Deadline (for an order), ms.
    pub deadline: Option<i64>,
    /// Evidence hashes (for a rectification).
    pub media: Vec<MediaHash>,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

/// The ledger row of a case as it now stands.
fn row_of(case: &Case, header: &RecordHeader) -> CaseRow {
    let status = case.status();
    CaseRow {
        id: case.id.to_string(),
        region: header.scope.region.clone(),
        group: header.scope.group.clone(),
        visit_id: case.visit.to_string(),
        finding_id: case.finding.to_string(),
        site: case.site_name.clone(),
        sector: case.sector.code().into(),
        severity: severity_code(case.severity).into(),
        description: case.description.clone(),
        status: status.code().into(),
        unit: case.unit().map(str::to_owned),
        deadline: case.deadline(),
        escalated: case
            .events
            .iter()
            .any(|e| e.kind == CaseEventKind::Escalated),
        opened_at: case.events.first().map_or(0, |e| e.at),
        closed_at: (status == CaseStatus::Closed).then(|| case.events.last().map_or(0, |e| e.at)),
    }
}

/// The custody entry of a case's newest event.
fn case_custody(user: &WebUser, case: &Case) -> CustodyEvent {
    let event = case.events.last();
    CustodyEvent {
        actor: format!("user:{}", user.login),
        action: "case_event".into(),
        subject: case.id.to_string(),
        details: serde_json::json!({
            "kind": event.map(|e| e.kind.code()),
            "visit": case.visit.as_str(),
            "finding": case.finding.as_str(),
            "at": event.map(|e| e.at),
            "unit": event.and_then(|e| e.unit.clone()),
            "deadline": event.and_then(|e| e.deadline),
            "media": event.map(|e| e.media.iter().map(ToString::to_string).collect::<Vec<_>>()),
        }),
    }
}

impl BackOffice {
    /// Opens a case from a finding of a visit the user may see; a finding has at most one case
    /// (opening it again returns the existing one).
    pub async fn open_case(&self, user: &WebUser, visit: &str, finding: &str) -> Result<RecordId> {
        let detail = self.visit(user, visit).await?;
        if let Some(existing) = detail.cases.get(finding) {
            return existing.parse().map_err(internal);
        }
        let f = detail.visit.findings.get(finding).ok_or_else(|| {
            Error::InvalidInput(format!("visit {visit} has no finding {finding}"))
        })?;
        let _guard = self.case_lock.lock().await;
        let now = siteproof_core::now();
        let case = Case {
            id: RecordId::random(),
            visit: detail.visit.id.clone(),
            finding: f.id.clone(),
            site_name: detail.visit.site.name.clone(),
            sector: detail.visit.site.sector,
            severity: f.severity,
            description: f.description.clone(),
            events: vec![CaseEvent {
                kind: CaseEventKind::Opened,
                by: user.login.clone(),
                at: now,
                note: None,
                unit: None,
                deadline: None,
                media: vec![],
            }],
        };
        let header = RecordHeader {
            kind: RecordKind::Case,
            id: case.id.clone(),
            scope: detail.visit.scope.clone(),
        };
        let mut doc = header
            .create_with(ActorId::random(), "case", &case)
            .map_err(internal)?;
        self.store_office_record(&header, &mut doc, &[], 0).await?;
        self.index_case(user, &case, &header).await?;
        Ok(case.id)
    }

    /// A case the user may see: its ledger row and the record.
    pub async fn case(&self, user: &WebUser, id: &str) -> Result<(CaseRow, Case)> {
        let unknown = || Error::UnknownRecord { id: id.to_string() };
        let (vis, owned) = (Visibility::user(user), id.to_owned());
        let row = self
            .db
            .run(move |c| case_rows::get(c, &vis, &owned))
            .await?
            .ok_or_else(unknown)?;
        let (_, case, _) = self.load_case(&row.id).await?;
        Ok((row, case))
    }

    async fn load_case(&self, id: &str) -> Result<(AutoCommit, Case, u64)> {
        let (doc, seq) = self.load_record(id, RecordKind::Case).await?;
        let case: Case = autosurgeon::hydrate_prop(&doc, ROOT, "case").map_err(internal)?;
        Ok((doc, case, seq))
    }

    /// Appends an event to a case the user may see, if the lifecycle allows it now.
    pub async fn add_case_event(&self, user: &WebUser, id: &str, input: CaseInput) -> Result<Case> {
        let kind = input
            .kind
            .ok_or_else(|| Error::InvalidInput("say which event to record (kind)".into()))?;
        let _guard = self.case_lock.lock().await;
        let (row, _) = self.case(user, id).await?;
        let (mut doc, mut case, seq) = self.load_case(&row.id).await?;
        if !case.allows(kind) {
            return Err(Error::InvalidInput(format!(
                "a case that is {} cannot be {}",
                case.status().code(),
                kind.code()
            )));
        }
        if kind == CaseEventKind::Ordered
            && (input.unit.as_deref().is_none_or(|u| u.trim().is_empty())
                || input.deadline.is_none())
        {
            return Err(Error::InvalidInput(
                "an order needs the responsible unit and a deadline".into(),
            ));
        }
        case.events.push(CaseEvent {
            kind,
            by: user.login.clone(),
            at: siteproof_core::now(),
            note: input.note.filter(|n| !n.trim().is_empty()),
            unit: input.unit.filter(|u| !u.trim().is_empty()),
            deadline: input.deadline,
            media: input.media,
        });
        let heads = doc.get_heads();
        autosurgeon::reconcile_prop(&mut doc, ROOT, "case", &case).map_err(internal)?;
        doc.commit();
        let header = RecordHeader::read(&doc).map_err(internal)?;
        self.store_office_record(&header, &mut doc, &heads, seq)
            .await?;
        self.index_case(user, &case, &header).await?;
        Ok(case)
    }

    /// The ledger: every case the user may see, opened in `[from, to)` when given.
    pub async fn ledger(
        &self,
        user: &WebUser,
        from: Option<i64>,
        to: Option<i64>,
        status: Option<String>,
    ) -> Result<Vec<CaseRow>> {
        let vis = Visibility::user(user);
        self.db
            .run(move |c| case_rows::list(c, &vis, from, to, status.as_deref(), 100_000))
            .await
    }

    /// The case's ledger row and its custody entry, written together.
    async fn index_case(&self, user: &WebUser, case: &Case, header: &RecordHeader) -> Result<()> {
        let row = row_of(case, header);
        let event = case_custody(user, case);
        self.db
            .run(move |c| {
                case_rows::put(c, &row)?;
                custody::append(c, &event).map(drop)
            })
            .await
    }
}
