//! Assignments (六推送, "pushes" in the source policy; not the sync push): the back office writes each as an `assignment` record with the
//! scope of the one group it is for, so that group's devices pull it and no other device can;
//! `bo_assignments` is its row in the office, written with it. Visits started from an
//! assignment name it, and the visit index keeps that link. Routes in `routes.rs`, pages in
//! `pages.rs`.

mod pages;
pub(super) mod routes;

use std::collections::HashSet;

use automerge::ActorId;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use siteproof_core::{
    Assignment, AssignmentKind, RecordHeader, RecordId, RecordKind, Scope, Sector, Site,
    TemplateRef,
};

use super::db::{self, VisitRow};
use super::{BackOffice, WebUser};
use crate::error::{Error, Result};
use crate::identity::visibility::{Duty, Unsectored, Visibility};

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
    /// Experts from the region's pool (ids in `bo_experts`).
    pub experts: Vec<i64>,
    /// The lead it answers (set by lead triage).
    pub lead: Option<String>,
    /// The ledger entries to check again (a re-inspection, made by
    /// `BackOffice::issue_reinspection`).
    pub cases: Vec<RecordId>,
}

/// An assignment as the office lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct AssignmentRow {
    /// Record id.
    pub id: String,
    /// Region.
    pub region: String,
    /// Group.
    pub group: String,
    /// Assignment kind code.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Sector code.
    pub sector: Option<String>,
    /// Site name.
    pub site: Option<String>,
    /// The lead it came from.
    pub lead: Option<String>,
    /// Deadline, ms.
    pub due: Option<i64>,
    /// Who issued it.
    pub issued_by: String,
    /// When, ms.
    pub issued_at: i64,
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
        let (region, group) = (user.region.clone(), new.group.clone());
        let known = self
            .db
            .run(move |c| db::group_in_region(c, &group, &region))
            .await?;
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
        self.store_office_record(&header, &mut doc, &[], 0).await?;
        let row = AssignmentRow {
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
            visits: 0,
        };
        self.db.run(move |c| put(c, &row)).await?;
        Ok(assignment.id)
    }

    /// The assignments of the user's region (a sector department: of its sectors), newest
    /// first, with how many visits each has led to.
    pub async fn assignments(&self, user: &WebUser) -> Result<Vec<AssignmentRow>> {
        self.refresh_index().await?;
        let vis = Visibility::user(user);
        self.db.run(move |c| list(c, &vis, None)).await
    }

    /// One assignment the user may see, with the visits started from it.
    pub async fn assignment(
        &self,
        user: &WebUser,
        id: &str,
    ) -> Result<(AssignmentRow, Assignment, Vec<VisitRow>)> {
        self.refresh_index().await?;
        let unknown = || Error::UnknownRecord { id: id.to_string() };
        let vis = Visibility::user(user);
        let (v, owned) = (vis.clone(), id.to_owned());
        let row = self
            .db
            .run(move |c| list(c, &v, Some(&owned)))
            .await?
            .pop()
            .ok_or_else(unknown)?;
        let (doc, _) = self.load_record(id, RecordKind::Assignment).await?;
        let assignment = siteproof_core::document::read_assignment(&doc)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let owned = id.to_owned();
        let visits = self
            .db
            .run(move |c| super::visits::sql::visits_of_assignment(c, &vis, &owned))
            .await?;
        Ok((row, assignment, visits))
    }
}

fn put(conn: &Connection, a: &AssignmentRow) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO bo_assignments
         (id, region, grp, kind, title, sector, site, lead_id, due, issued_by, issued_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            a.id,
            a.region,
            a.group,
            a.kind,
            a.title,
            a.sector,
            a.site,
            a.lead,
            a.due,
            a.issued_by,
            a.issued_at
        ],
    )?;
    Ok(())
}

fn list(
    conn: &Connection,
    vis: &Visibility,
    id: Option<&str>,
) -> rusqlite::Result<Vec<AssignmentRow>> {
    let mut sql = String::from(
        "SELECT a.id, a.region, a.grp, a.kind, a.title, a.sector, a.site, a.lead_id, a.due,
                a.issued_by, a.issued_at,
                (SELECT COUNT(*) FROM bo_visits v WHERE v.assignment = a.id)
         FROM bo_assignments a WHERE 1=1",
    );
    let mut args = Vec::new();
    vis.rows(Unsectored::of(RecordKind::Assignment))
        .to_sqlite("a")
        .append_to(&mut sql, &mut args);
    if let Some(id) = id {
        sql.push_str(" AND a.id = ?");
        args.push(Value::Text(id.into()));
    }
    sql.push_str(" ORDER BY a.issued_at DESC, a.id LIMIT 1000");
    let mut stmt = conn.prepare(&sql)?;
    stmt.query_map(params_from_iter(args.iter()), |r| {
        Ok(AssignmentRow {
            id: r.get(0)?,
            region: r.get(1)?,
            group: r.get(2)?,
            kind: r.get(3)?,
            title: r.get(4)?,
            sector: r.get(5)?,
            site: r.get(6)?,
            lead: r.get(7)?,
            due: r.get(8)?,
            issued_by: r.get(9)?,
            issued_at: r.get(10)?,
            visits: r.get(11)?,
        })
    })?
    .collect()
}

impl BackOffice {
    /// Which of `leads` a visit has answered (a visit started from the assignment made from
    /// the lead), from the office index.
    pub(super) async fn answered_leads(&self, leads: Vec<String>) -> Result<HashSet<String>> {
        if leads.is_empty() {
            return Ok(HashSet::new());
        }
        self.db
            .run(move |c| {
                let mut answered = HashSet::new();
                for lead in leads {
                    if visits_for_lead(c, &lead)? > 0 {
                        answered.insert(lead);
                    }
                }
                Ok(answered)
            })
            .await
    }
}

/// How many visits answer the assignment made from a lead.
fn visits_for_lead(conn: &Connection, lead: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM bo_visits v JOIN bo_assignments a ON v.assignment = a.id
         WHERE a.lead_id = ?1",
        [lead],
        |r| r.get(0),
    )
    .optional()
    .map(Option::unwrap_or_default)
}
