//! Re-inspection (复查) on the phone: the hazards a re-inspection assignment names, with the
//! original finding and evidence the store holds, and the results recorded in the
//! re-inspection visit.

use super::Store;
use super::visits::require_media;
use crate::document::RecordKind;
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::{
    Assignment, AssignmentKind, NewReinspection, Reinspection, ReinspectionTask, now,
};
use crate::visit_doc;

impl Store {
    /// The hazards a re-inspection assignment names, each with its ledger entry, the original
    /// finding and its evidence (as far as the store holds them: all of it is read offline),
    /// and the results already recorded for it in `visit` (a re-inspection visit started from
    /// the assignment), if one is given.
    pub fn reinspection_tasks(
        &mut self,
        assignment: &RecordId,
        visit: Option<&RecordId>,
    ) -> Result<Vec<ReinspectionTask>> {
        let pushed = self.reinspection_assignment(assignment)?;
        let results = match visit {
            Some(v) => self.reinspections(v)?,
            None => Vec::new(),
        };
        let mut tasks = Vec::with_capacity(pushed.cases.len());
        for id in &pushed.cases {
            let case = self.case(id)?;
            let original = match self.record_kind(&case.visit)? {
                Some(RecordKind::Visit) => Some(self.visit(&case.visit)?),
                _ => None,
            };
            let finding = original
                .as_ref()
                .and_then(|v| v.findings.get(case.finding.as_str()).cloned());
            let evidence = match (&original, &finding) {
                (Some(v), Some(f)) => f
                    .media
                    .iter()
                    .filter_map(|h| v.media.get(h.as_str()).cloned())
                    .collect(),
                _ => Vec::new(),
            };
            tasks.push(ReinspectionTask {
                site: original.map(|v| v.site),
                finding,
                evidence,
                results: results.iter().filter(|r| &r.case == id).cloned().collect(),
                case,
            });
        }
        Ok(tasks)
    }

    /// Records what the inspector found for one hazard of the re-inspection visit's
    /// assignment; photos must be attached to the visit first. Returns the result's id.
    pub fn record_reinspection(
        &mut self,
        visit: &RecordId,
        input: NewReinspection,
    ) -> Result<RecordId> {
        let entry = self.loaded_record(visit, RecordKind::Visit, "visit")?;
        if !visit_doc::is_reinspection(&entry.doc)? {
            return Err(Error::InvalidInput(format!(
                "visit {visit} is not a re-inspection; start one from a re-inspection assignment"
            )));
        }
        let assignment: Option<RecordId> =
            autosurgeon::hydrate_prop(&entry.doc, automerge::ROOT, "assignment")?;
        let assignment = assignment.ok_or_else(|| {
            Error::Malformed(format!("re-inspection visit {visit} names no assignment"))
        })?;
        if !self
            .reinspection_assignment(&assignment)?
            .cases
            .contains(&input.case)
        {
            return Err(Error::InvalidInput(format!(
                "hazard {} is not one this re-inspection was sent for",
                input.case
            )));
        }
        let profile = self.profile()?;
        let result = Reinspection {
            id: RecordId::random(),
            case: input.case,
            outcome: input.outcome,
            note: input.note.filter(|n| !n.trim().is_empty()),
            media: input.media,
            by: profile.inspector,
            device: self.device.clone(),
            at: now(),
        };
        self.edit_record(visit, RecordKind::Visit, |doc| {
            require_media(doc, visit, &result.media)?;
            visit_doc::put_reinspection(doc, &result)
        })?;
        Ok(result.id)
    }

    /// The re-inspection results a visit holds, oldest first (none for an ordinary visit).
    pub fn reinspections(&mut self, visit: &RecordId) -> Result<Vec<Reinspection>> {
        let entry = self.loaded_record(visit, RecordKind::Visit, "visit")?;
        visit_doc::reinspections(&entry.doc)
    }

    fn reinspection_assignment(&mut self, id: &RecordId) -> Result<Assignment> {
        let pushed = self.assignment(id)?;
        if pushed.kind != AssignmentKind::Reinspection {
            return Err(Error::InvalidInput(format!(
                "assignment {id} is not a re-inspection"
            )));
        }
        Ok(pushed)
    }
}
