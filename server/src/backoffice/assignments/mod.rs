//! Assignments (六推送, "pushes" in the source policy; not the sync push): the back office writes each as an `assignment` record with the
//! scope of the one group it is for, so that group's devices pull it and no other device can;
//! its row in the office is stored with it in one transaction, through the storage's
//! `AssignmentStore`. Visits started from an assignment name it, and the visit index keeps
//! that link. Routes in `routes.rs`, pages in `pages.rs`.

mod pages;
pub(super) mod routes;

use std::collections::HashSet;

use automerge::ActorId;
use siteproof_core::{
    Assignment, AssignmentKind, RecordHeader, RecordId, RecordKind, Scope, Sector, Site,
    TemplateRef,
};

use super::rows::VisitRow;
use super::{BackOffice, WebUser, office_write};
use crate::error::{Error, Result};
use crate::identity::visibility::{Duty, Unsectored, Visibility};
use crate::ids::GroupId;
use crate::storage::IssuedAssignment;

/// What the office fills in to issue an assignment to a group.
#[derive(Clone, Debug)]
pub struct NewAssignment {
    /// The group (of the user's region).
    pub group: String,
    /// What the assignment carries.
    pub kind: AssignmentKind,
    /// Title.
    pub title: String,
    /// Content.
    pub body: String,
    /// Sector concerned.
    pub sector: Option<Sector>,
    /// The site to inspect.
    pub site: Option<Site>,
    /// The checklist to use (a published version).
    pub template: Option<TemplateRef>,
    /// Deadline, ms.
    pub due: Option<i64>,
    /// Experts from the region's pool (their roster ids).
    pub experts: Vec<i64>,
    /// The lead it answers (set by lead triage).
    pub lead: Option<String>,
    /// The ledger entries to check again (a re-inspection, made by
    /// `BackOffice::issue_reinspection`).
    pub cases: Vec<RecordId>,
}

/// An assignment as the office lists it: as issued, with the visits started from it.
#[derive(Clone, Debug, PartialEq)]
pub struct AssignmentRow {
    /// The assignment as stored.
    pub issued: IssuedAssignment,
    /// Visits started from it (from the visit index).
    pub visits: i64,
}

const MAX_TITLE: usize = 200;
const MAX_BODY: usize = 20_000;

fn check_len(what: &str, text: &str, max: usize) -> Result<()> {
    if text.chars().count() > max {
        return Err(Error::InvalidInput(format!(
            "{what} is longer than {max} characters"
        )));
    }
    Ok(())
}

impl BackOffice {
    /// Pushes something to one group of the user's region; returns the assignment's id.
    /// A sector department issues only within its sectors.
    pub async fn issue_assignment(&self, user: &WebUser, new: NewAssignment) -> Result<RecordId> {
        self.issue_assignment_as(user, RecordId::random(), new)
            .await
    }

    /// [`BackOffice::issue_assignment`] under an id chosen beforehand (lead triage records
    /// the id before it issues the assignment).
    pub(super) async fn issue_assignment_as(
        &self,
        user: &WebUser,
        id: RecordId,
        new: NewAssignment,
    ) -> Result<RecordId> {
        let title = new.title.trim().to_owned();
        if title.is_empty() {
            return Err(Error::InvalidInput("a push needs a title".into()));
        }
        check_len("the title", &title, MAX_TITLE)?;
        check_len("the content", &new.body, MAX_BODY)?;
        if (new.kind == AssignmentKind::Reinspection) == new.cases.is_empty() {
            return Err(Error::InvalidInput(
                "a re-inspection, and only a re-inspection, names hazards of the ledger; send it from the ledger".into(),
            ));
        }
        Visibility::user(user).require(Duty::AssignInSector(new.sector))?;
        let group = new.group.parse::<GroupId>().ok();
        let known = match &group {
            Some(g) => self
                .storage
                .group(g)
                .await?
                .is_some_and(|g| g.region.as_str() == user.region),
            None => false,
        };
        if !known {
            return Err(Error::InvalidInput(format!(
                "there is no group {:?} in region {}",
                new.group, user.region
            )));
        }
        if let Some(t) = &new.template {
            let record = RecordId::for_template(&t.id, t.version);
            if self
                .storage
                .documents(std::slice::from_ref(&record))
                .await?
                .is_empty()
            {
                return Err(Error::InvalidInput(format!(
                    "template {record} is not published"
                )));
            }
        }
        let experts = if new.experts.is_empty() {
            Vec::new()
        } else {
            let found = self.expert_contacts(&user.region, &new.experts).await?;
            if found.len() != new.experts.len() {
                return Err(Error::InvalidInput(
                    "an expert chosen is not in the region's expert pool".into(),
                ));
            }
            found
        };
        let assignment = Assignment {
            id,
            kind: new.kind,
            title,
            body: new.body,
            sector: new.sector,
            site: new.site,
            template: new.template,
            due: new.due,
            experts,
            lead: new.lead,
            issued_by: user.login.clone(),
            issued_at: siteproof_core::now(),
            cases: new.cases,
        };
        let header = RecordHeader {
            kind: RecordKind::Assignment,
            id: assignment.id.clone(),
            scope: Scope::group(user.region.clone(), new.group),
        };
        let mut doc = header
            .create_with(ActorId::random(), "assignment", &assignment)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let row = IssuedAssignment {
            id: assignment.id.to_string(),
            region: header.scope.region.clone(),
            group: header.scope.group.clone(),
            kind: assignment.kind.code().into(),
            title: assignment.title.clone(),
            sector: assignment.sector.map(|s| s.code().into()),
            site: assignment.site.as_ref().map(|s| s.name.clone()),
            lead: assignment.lead.clone(),
            due: assignment.due,
            issued_by: assignment.issued_by.clone(),
            issued_at: assignment.issued_at,
        };
        let record = office_write(&header, &mut doc, &[], 0);
        // An assignment changes what the region's directory counts.
        self.directory_changed(&record.header.scope.region);
        self.storage
            .assignment_store()
            .issue_assignment(&record, &row)
            .await?;
        Ok(assignment.id)
    }

    /// The assignments of the user's region (a sector department: of its sectors), newest
    /// first, with how many visits each has led to.
    pub async fn assignments(&self, user: &WebUser) -> Result<Vec<AssignmentRow>> {
        self.refresh_index().await?;
        self.assignment_rows(user, None).await
    }

    /// One assignment the user may see, with the visits started from it.
    pub async fn assignment(
        &self,
        user: &WebUser,
        id: &str,
    ) -> Result<(AssignmentRow, Assignment, Vec<VisitRow>)> {
        self.refresh_index().await?;
        let row = self
            .assignment_rows(user, Some(id))
            .await?
            .pop()
            .ok_or_else(|| Error::UnknownRecord { id: id.to_string() })?;
        let (doc, _) = self.load_record(id, RecordKind::Assignment).await?;
        let assignment = siteproof_core::document::read_assignment(&doc)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let (vis, owned) = (Visibility::user(user), id.to_owned());
        let visits = self
            .storage
            .office_index_store()
            .visits_of_assignment(&vis.rows(Unsectored::Hidden), &owned)
            .await?;
        Ok((row, assignment, visits))
    }

    /// The stored assignments the user may see (only `only`, when given), each with the
    /// number of visits the index holds for it.
    async fn assignment_rows(
        &self,
        user: &WebUser,
        only: Option<&str>,
    ) -> Result<Vec<AssignmentRow>> {
        let visible = Visibility::user(user).rows(Unsectored::of(RecordKind::Assignment));
        let issued = self
            .storage
            .assignment_store()
            .assignments(&visible, only)
            .await?;
        let ids: Vec<String> = issued.iter().map(|a| a.id.clone()).collect();
        let counts = self
            .storage
            .office_index_store()
            .visits_per_assignment(&ids)
            .await?;
        Ok(issued
            .into_iter()
            .map(|issued| AssignmentRow {
                visits: counts.get(&issued.id).copied().unwrap_or(0),
                issued,
            })
            .collect())
    }

    /// Which of `leads` a visit has answered (a visit started from the assignment made from
    /// the lead), from the office index.
    pub(super) async fn answered_leads(&self, leads: Vec<String>) -> Result<HashSet<String>> {
        if leads.is_empty() {
            return Ok(HashSet::new());
        }
        let made = self
            .storage
            .assignment_store()
            .assignments_of_leads(&leads)
            .await?;
        let ids: Vec<String> = made.iter().map(|(_, a)| a.clone()).collect();
        let counts = self
            .storage
            .office_index_store()
            .visits_per_assignment(&ids)
            .await?;
        Ok(made
            .into_iter()
            .filter(|(_, a)| counts.get(a).is_some_and(|n| *n > 0))
            .map(|(lead, _)| lead)
            .collect())
    }
}
