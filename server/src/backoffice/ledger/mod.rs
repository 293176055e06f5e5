//! The hazard ledger (问题隐患治理台账): every finding is an entry from the moment it is synced
//! (the visit index enters it, `rows.rs`), with the status the finding gives it (fixed on the
//! spot, or open). When the office first acts on an entry it writes the `case` record (an
//! Automerge document with the scope of the visit's group, so it syncs read-only to that
//! group, under the id `RecordId::for_finding_case`) through core's document functions, and
//! keeps the ledger row in step: the record, the row and the custody entry are one write of the
//! storage's `CaseStore`, conditional on the record being as the office read it. Opening is
//! create-only, so a finding has one case whoever opens it on whichever process; an event is
//! decided on the case as read and stored only if nobody wrote the case since, else the case
//! is read and the event decided again. Events are only appended; the status is derived from
//! them by [`Case::status`], listing (挂牌督办) by [`siteproof_core::is_listed`].

mod evidence;
pub(super) mod pages;
pub(crate) mod reinspection;
pub(super) mod routes;

use automerge::{ActorId, AutoCommit, ChangeHash, ROOT};
use siteproof_core::{
    Case, CaseEvent, CaseEventKind, CaseStatus, MediaHash, RecordHeader, RecordId, RecordKind,
    Sector, Severity,
};

use super::rows::{CaseRow, LedgerFilter};
use super::visits::severity_code;
use super::{BackOffice, WebUser};
use crate::error::{Error, Result};
use crate::evidence::CustodyEvent;
use crate::identity::visibility::{Unsectored, Visibility};

/// How many times a case write is decided again after losing to another writer of the case
/// before the caller gets the conflict.
const CASE_WRITE_ATTEMPTS: usize = 8;

/// Whether a row's deadline has passed at `now` without the rectification reported.
fn overdue(row: &CaseRow, now: i64) -> bool {
    CaseStatus::from_code(&row.status).is_some_and(CaseStatus::awaits_rectification)
        && row.deadline.is_some_and(|d| d < now)
}

/// Whole days a row is past its deadline at `now` (0 when not overdue).
pub(crate) fn days_overdue(row: &CaseRow, now: i64) -> i64 {
    match row.deadline {
        Some(d) if overdue(row, now) => (now - d) / crate::backoffice::dates::DAY_MS + 1,
        _ => 0,
    }
}

/// Whether a row is under listed supervision (挂牌督办) at `now`.
pub(crate) fn escalated(row: &CaseRow, now: i64) -> bool {
    CaseStatus::from_code(&row.status).is_some_and(|status| {
        siteproof_core::is_listed(
            status,
            row.escalated,
            overdue(row, now),
            row.severity == "major",
            row.fixed_on_spot,
        )
    })
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
pub(crate) fn row_of(case: &Case, header: &RecordHeader) -> CaseRow {
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
        escalated: case.listed_by_hand(),
        opened_at: case.events.first().map_or(0, |e| e.at),
        closed_at: (status == CaseStatus::Closed).then(|| case.events.last().map_or(0, |e| e.at)),
        fixed_on_spot: case.fixed_on_spot,
        recorded: true,
    }
}

/// The case of an entry the office has not acted on yet: the finding, no events.
fn unrecorded_case(row: &CaseRow) -> Result<Case> {
    Ok(Case {
        id: row.id.parse().map_err(internal)?,
        visit: row.visit_id.parse().map_err(internal)?,
        finding: row.finding_id.parse().map_err(internal)?,
        site_name: row.site.clone(),
        sector: Sector::from_code(&row.sector)
            .ok_or_else(|| internal(format!("sector {}", row.sector)))?,
        severity: if row.severity == "major" {
            Severity::Major
        } else {
            Severity::General
        },
        description: row.description.clone(),
        events: Vec::new(),
        fixed_on_spot: row.fixed_on_spot,
    })
}

/// Where the files an event names must come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Evidence {
    /// Uploaded to the case in the browser (a rectification report).
    UploadedToCase,
    /// Captured on a re-inspection (the re-inspection visit's media, checked by the caller).
    Reinspection,
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
    /// Records that the office takes up a finding (立案): writes its case record if it has
    /// none yet. Returns the ledger entry's id, which every finding has from the moment it is
    /// synced.
    pub async fn open_case(&self, user: &WebUser, visit: &str, finding: &str) -> Result<RecordId> {
        self.refresh_index().await?;
        let rows = Visibility::user(user).rows(Unsectored::Hidden);
        let row = self
            .storage
            .case_store()
            .case_of_finding(&rows, visit, finding)
            .await?
            .ok_or_else(|| {
                Error::InvalidInput(format!("visit {visit} has no finding {finding}"))
            })?;
        if !row.recorded {
            self.record_case(user, &row).await?;
        }
        row.id.parse().map_err(internal)
    }

    /// Writes the case record of an entry that has none, opened now by `user`. When another
    /// writer opened it meanwhile (here or on another process) its case stands: a finding has
    /// one case.
    async fn record_case(&self, user: &WebUser, row: &CaseRow) -> Result<()> {
        let detail = self.visit(user, &row.visit_id).await?;
        let f = detail.visit.findings.get(&row.finding_id).ok_or_else(|| {
            Error::InvalidInput(format!(
                "visit {} has no finding {}",
                row.visit_id, row.finding_id
            ))
        })?;
        let case = Case {
            id: row.id.parse().map_err(internal)?,
            visit: detail.visit.id.clone(),
            finding: f.id.clone(),
            site_name: detail.visit.site.name.clone(),
            sector: detail.visit.site.sector,
            severity: f.severity,
            description: f.description.clone(),
            events: vec![CaseEvent {
                kind: CaseEventKind::Opened,
                by: user.login.clone(),
                at: siteproof_core::now(),
                note: f.interim_measures.clone(),
                unit: None,
                deadline: None,
                media: if f.fixed_on_spot {
                    f.media.clone()
                } else {
                    vec![]
                },
            }],
            fixed_on_spot: f.fixed_on_spot,
        };
        let header = RecordHeader {
            kind: RecordKind::Case,
            id: case.id.clone(),
            scope: detail.visit.scope.clone(),
        };
        let mut doc = header
            .create_with(ActorId::random(), "case", &case)
            .map_err(internal)?;
        let custody = case_custody(user, &case);
        match self
            .write_case(&header, &mut doc, &[], 0, row_of(&case, &header), custody)
            .await
        {
            Ok(()) | Err(Error::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The ledger row of an entry the user may see.
    async fn entry(&self, user: &WebUser, id: &str) -> Result<CaseRow> {
        self.refresh_index().await?;
        let rows = Visibility::user(user).rows(Unsectored::Hidden);
        self.storage
            .case_store()
            .case_row(&rows, id)
            .await?
            .ok_or_else(|| Error::UnknownRecord { id: id.to_string() })
    }

    /// A ledger entry the user may see: its row and its case (with no events when the office
    /// has not acted on it yet).
    pub async fn case(&self, user: &WebUser, id: &str) -> Result<(CaseRow, Case)> {
        let row = self.entry(user, id).await?;
        if !row.recorded {
            let case = unrecorded_case(&row)?;
            return Ok((row, case));
        }
        let (_, case, _) = self.load_case(&row.id).await?;
        Ok((row, case))
    }

    async fn load_case(&self, id: &str) -> Result<(AutoCommit, Case, u64)> {
        let (doc, seq) = self.load_record(id, RecordKind::Case).await?;
        let case: Case = autosurgeon::hydrate_prop(&doc, ROOT, "case").map_err(internal)?;
        Ok((doc, case, seq))
    }

    /// Appends an event to an entry the user may see, if the lifecycle allows it now; the
    /// entry's case record is written first when it has none.
    pub async fn add_case_event(&self, user: &WebUser, id: &str, input: CaseInput) -> Result<Case> {
        let kind = input
            .kind
            .ok_or_else(|| Error::InvalidInput("say which event to record (kind)".into()))?;
        let decide = |case: &Case| {
            let status = case.status();
            // An entry without a record has no events: its status is the finding's, and
            // `allows` judges every kind but the opening (which the record write makes) by it.
            if kind == CaseEventKind::Opened || !case.allows(kind) {
                return Err(Error::InvalidInput(format!(
                    "a case that is {} cannot be {}",
                    status.code(),
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
            Ok(CaseEvent {
                kind,
                by: user.login.clone(),
                at: siteproof_core::now(),
                note: input.note.clone().filter(|n| !n.trim().is_empty()),
                unit: input.unit.clone().filter(|u| !u.trim().is_empty()),
                deadline: input.deadline,
                media: input.media.clone(),
            })
        };
        self.advance_case(user, id, Evidence::UploadedToCase, decide)
            .await
    }

    /// Appends the event `decide` makes of an entry's case as it stands, writing the case
    /// record first when the entry has none. `decide` refuses what the lifecycle does not
    /// allow; it judges the case as read, and the write is stored only if nobody wrote the
    /// case since, else the case is read and judged again.
    async fn advance_case(
        &self,
        user: &WebUser,
        id: &str,
        evidence: Evidence,
        decide: impl Fn(&Case) -> Result<CaseEvent>,
    ) -> Result<Case> {
        for attempt in 1..=CASE_WRITE_ATTEMPTS {
            let row = self.entry(user, id).await?;
            if !row.recorded {
                // Judged on the finding first, so a refused event writes no record.
                decide(&unrecorded_case(&row)?)?;
                self.record_case(user, &row).await?;
                continue;
            }
            let (mut doc, mut case, seq) = self.load_case(&row.id).await?;
            let event = decide(&case)?;
            if evidence == Evidence::UploadedToCase {
                let uploaded = evidence::uploads(&doc);
                if let Some(m) = event.media.iter().find(|m| !uploaded.contains(m.as_str())) {
                    return Err(Error::InvalidInput(format!(
                        "evidence {m} was not uploaded to this case"
                    )));
                }
            }
            case.events.push(event);
            let heads = doc.get_heads();
            autosurgeon::reconcile_prop(&mut doc, ROOT, "case", &case).map_err(internal)?;
            doc.commit();
            let header = RecordHeader::read(&doc).map_err(internal)?;
            let custody = case_custody(user, &case);
            match self
                .write_case(
                    &header,
                    &mut doc,
                    &heads,
                    seq,
                    row_of(&case, &header),
                    custody,
                )
                .await
            {
                Ok(()) => return Ok(case),
                Err(Error::Conflict(_)) if attempt < CASE_WRITE_ATTEMPTS => {}
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!(
            "case {id} kept changing while this event was decided: try again"
        )))
    }

    /// The ledger: the entries matching `filter` the user may see, newest found first, at
    /// most `limit`.
    pub async fn ledger(
        &self,
        user: &WebUser,
        filter: LedgerFilter,
        limit: i64,
    ) -> Result<Vec<CaseRow>> {
        self.refresh_index().await?;
        let rows = Visibility::user(user).rows(Unsectored::Hidden);
        let now = siteproof_core::now();
        Ok(self
            .storage
            .office_index_store()
            .ledger(&rows, &filter, now, limit)
            .await?)
    }

    /// How many ledger entries match `filter`.
    pub async fn ledger_count(&self, user: &WebUser, filter: LedgerFilter) -> Result<i64> {
        self.refresh_index().await?;
        let rows = Visibility::user(user).rows(Unsectored::Hidden);
        let now = siteproof_core::now();
        Ok(self
            .storage
            .office_index_store()
            .ledger_count(&rows, &filter, now)
            .await?)
    }

    /// Stores what the office wrote to a case record (the changes of `doc` after `heads`, read
    /// at log position `known_through`, 0 for a new case) with its ledger row and a custody
    /// entry, in one transaction; a `Conflict` when the record is no longer as read.
    async fn write_case(
        &self,
        header: &RecordHeader,
        doc: &mut AutoCommit,
        heads: &[ChangeHash],
        known_through: u64,
        row: CaseRow,
        custody: CustodyEvent,
    ) -> Result<()> {
        // A case changes what the region's directory counts.
        self.directory_changed(&header.scope.region);
        let record = super::office_write(header, doc, heads, known_through);
        self.storage
            .case_store()
            .write_case(&record, &row, &custody)
            .await?;
        Ok(())
    }
}
