//! Re-inspection (复查) from the office's side: the office sends hazards of the ledger to the
//! group that found them as a re-inspection assignment (their case records written first, so
//! the phones hold them); the phones' results come back in re-inspection visits, which the
//! visit index reads into its re-inspection results (`OfficeIndexStore`); the case page shows them with their
//! photos, and a result that found the hazard rectified lets the office verify it (then close
//! it as any verified hazard).

use siteproof_core::{
    AssignmentKind, Case, CaseEvent, CaseEventKind, CaseStatus, RecordId, ReinspectionOutcome,
    Sector,
};

use super::{BackOffice, Evidence, WebUser, internal};
use crate::backoffice::NewAssignment;
use crate::backoffice::rows::{CaseRow, ReinspectionRow};
use crate::error::{Error, Result};

/// How many hazards one re-inspection may name.
const MAX_CASES: usize = 100;

impl BackOffice {
    /// Sends a re-inspection of ledger entries `ids` (all found by one group, none closed) to
    /// that group; returns the assignment's id. The visit that found the first names the
    /// site and the checklist the phone's re-inspection visit takes.
    pub async fn issue_reinspection(
        &self,
        user: &WebUser,
        ids: &[String],
        note: &str,
        due: Option<i64>,
    ) -> Result<RecordId> {
        if ids.is_empty() || ids.len() > MAX_CASES {
            return Err(Error::InvalidInput(format!(
                "choose between 1 and {MAX_CASES} hazards to re-inspect"
            )));
        }
        let mut rows: Vec<CaseRow> = Vec::with_capacity(ids.len());
        for id in ids {
            let (row, case) = self.case(user, id).await?;
            if case.status() == CaseStatus::Closed {
                return Err(Error::InvalidInput(format!("hazard {id} is closed")));
            }
            if rows.first().is_some_and(|first| first.group != row.group) {
                return Err(Error::InvalidInput(
                    "a re-inspection goes to one group: choose hazards that group found".into(),
                ));
            }
            // The phones read the hazard from its case record: write it now if the office
            // has not acted on the entry yet (a case opened meanwhile elsewhere stands).
            if !row.recorded {
                self.record_case(user, &row).await?;
            }
            if !rows.iter().any(|r| r.id == row.id) {
                rows.push(row);
            }
        }
        let first = &rows[0];
        let source = self.visit(user, &first.visit_id).await?.visit;
        let lines: Vec<String> = rows
            .iter()
            .map(|r| format!("· {}：{}", r.site, r.description))
            .collect();
        let body = format!("{}\n\n{}", note.trim(), lines.join("\n"));
        // The source visit's checklist, when the server holds it (a phone's own template
        // otherwise: the phone then chooses one).
        let record = RecordId::for_template(&source.template.id, source.template.version);
        let published = !self
            .storage
            .documents(std::slice::from_ref(&record))
            .await?
            .is_empty();
        let new = NewAssignment {
            group: first.group.clone(),
            kind: AssignmentKind::Reinspection,
            title: format!("复查 / Re-inspection: {} ({})", first.site, rows.len()),
            body: body.trim().to_owned(),
            sector: Sector::from_code(&first.sector),
            site: Some(source.site),
            template: published.then_some(source.template),
            due,
            experts: Vec::new(),
            lead: None,
            cases: rows
                .iter()
                .map(|r| r.id.parse().map_err(internal))
                .collect::<Result<_>>()?,
        };
        self.issue_assignment(user, new).await
    }

    /// The re-inspection results for a ledger entry the user may see, oldest first.
    pub async fn reinspection_results(
        &self,
        user: &WebUser,
        id: &str,
    ) -> Result<Vec<ReinspectionRow>> {
        let (row, _) = self.case(user, id).await?;
        Ok(self
            .storage
            .office_index_store()
            .reinspections_of(&row.id)
            .await?)
    }

    /// Verifies an entry on the strength of re-inspection result `result`, which found it
    /// rectified: a `verified` event naming the result and its photos.
    pub async fn verify_by_reinspection(
        &self,
        user: &WebUser,
        id: &str,
        result: &str,
    ) -> Result<Case> {
        let row = self.entry(user, id).await?;
        let found = self
            .storage
            .office_index_store()
            .reinspections_of(&row.id)
            .await?
            .into_iter()
            .find(|r| r.id == result)
            .ok_or_else(|| Error::UnknownRecord {
                id: result.to_owned(),
            })?;
        if found.outcome != ReinspectionOutcome::Rectified.code() {
            return Err(Error::InvalidInput(
                "the re-inspection found the hazard not rectified".into(),
            ));
        }
        let note = format!(
            "复查已整改 / Re-inspected, rectified: {} ({}){}",
            found.by,
            found.id,
            found
                .note
                .as_deref()
                .map(|n| format!(" — {n}"))
                .unwrap_or_default()
        );
        let media: Vec<_> = found
            .media
            .iter()
            .map(|m| m.parse().map_err(internal))
            .collect::<Result<_>>()?;
        let decide = |case: &Case| {
            if !case.allows_verification_on_site() {
                return Err(Error::InvalidInput(format!(
                    "a case that is {} cannot be verified",
                    case.status().code()
                )));
            }
            Ok(CaseEvent {
                kind: CaseEventKind::Verified,
                by: user.login.clone(),
                at: siteproof_core::now(),
                note: Some(note.clone()),
                unit: None,
                deadline: None,
                media: media.clone(),
            })
        };
        self.advance_case(user, id, Evidence::Reinspection, decide)
            .await
    }
}
