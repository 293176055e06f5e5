//! Whistleblower leads (举报线索, source policy §9): anyone may report a hazard without signing
//! in, through the public form (`/report`) or the JSON API (`POST /v1/leads`). The reporter gets
//! a receipt code to check the lead's status later; nothing else ties the lead to them: no
//! address, no browser data, no cookie, the day of receipt rather than the moment, and the code
//! kept only as its SHA-256. Submissions are size-limited and rate-limited (per client address,
//! hashed with a per-process salt and forgotten after the window, and overall).
//!
//! The office triages a lead: dismissed with a reason, or turned into an assignment (of kind
//! `lead`) for one group, which the group's inspectors answer with a visit.
//!
//! Leads are stored through the storage's [`LeadStore`](crate::storage::LeadStore), shared by
//! every server process. Here: the service, a stored lead as the office sees it (`rows.rs`),
//! the submission gate (`gate.rs`), receipt codes
//! (`receipt.rs`), the office's routes and pages (`routes.rs`, `pages.rs`) and the public form's
//! (`public.rs`, `public_pages.rs`).

use serde::Serialize;
use siteproof_core::{AssignmentKind, RecordId, Sector, Site, TemplateRef};

use super::assignments::NewAssignment;
use super::{BackOffice, WebUser, dates};

mod gate;
mod pages;
pub(super) mod public;
mod public_pages;
mod receipt;
pub(super) mod routes;
mod rows;

pub use gate::LeadGate;
pub(crate) use public::LeadsApi;
use receipt::{receipt_code, receipt_hash};
use rows::{row, status};

use crate::error::{Error, Result};
use crate::identity::visibility::{Duty, Unsectored, Visibility};
use crate::storage::{LeadState, LeadTriage, NewLead};

/// Largest lead description, in characters.
pub const MAX_DESCRIPTION: usize = 4000;
/// Largest site name or address, in characters.
pub const MAX_FIELD: usize = 200;
/// Largest request body the lead routes read (form or JSON), in bytes.
pub const MAX_BODY: usize = 16 * 1024;

/// What a reporter sends.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    /// The region the hazard is in (a region code the server knows).
    pub region: String,
    /// The sector, if the reporter knows it (a sector code).
    #[serde(default)]
    pub sector: Option<String>,
    /// The enterprise or site.
    pub site: String,
    /// Where it is.
    #[serde(default)]
    pub address: String,
    /// What the reporter saw.
    pub description: String,
}

/// Where a lead stands, as its reporter may learn it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// Received, not yet triaged.
    Received,
    /// Passed to an inspection group.
    Assigned,
    /// The group has inspected the site.
    Inspected,
    /// Not taken further (the reason is for the office only).
    Dismissed,
}

impl LeadStatus {
    /// The snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            LeadStatus::Received => "received",
            LeadStatus::Assigned => "assigned",
            LeadStatus::Inspected => "inspected",
            LeadStatus::Dismissed => "dismissed",
        }
    }
}

/// What a receipt code reveals: the status and the day of receipt, nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LeadReceiptStatus {
    /// Where the lead stands.
    pub status: LeadStatus,
    /// The day it was received (YYYY-MM-DD, Beijing time).
    pub received_on: String,
}

/// A lead as the office sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadRow {
    /// Lead id (not the receipt code).
    pub id: String,
    /// Region.
    pub region: String,
    /// Sector code.
    pub sector: Option<String>,
    /// Site.
    pub site: String,
    /// Address.
    pub address: String,
    /// Description.
    pub description: String,
    /// Day of receipt, ms (start of the Beijing day).
    pub received_on: i64,
    /// `received`, `assigned`, `inspected` or `dismissed`.
    pub status: LeadStatus,
    /// Triage note (reason to dismiss, or instructions).
    pub triage_note: Option<String>,
    /// Who triaged it.
    pub triaged_by: Option<String>,
    /// The assignment made from it.
    pub assignment: Option<String>,
}

/// How the office decides on a lead.
#[derive(Clone, Debug)]
pub enum Triage {
    /// Assign it to a group.
    Assign {
        /// The group.
        group: String,
        /// Instructions added to the lead's text.
        note: Option<String>,
        /// The checklist to use.
        template: Option<TemplateRef>,
        /// Deadline, ms.
        due: Option<i64>,
    },
    /// Take it no further.
    Dismiss {
        /// Why (kept in the office).
        reason: String,
    },
}

fn clean(what: &str, text: &str, min: usize, max: usize) -> Result<String> {
    let text = text.trim();
    let n = text.chars().count();
    if n < min || n > max {
        return Err(Error::InvalidInput(format!(
            "{what} must be {min} to {max} characters long"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Error::InvalidInput(format!(
            "{what} contains control characters"
        )));
    }
    Ok(text.to_owned())
}

impl BackOffice {
    /// Takes a lead from the public (no sign-in); returns the receipt code to give the reporter,
    /// the only time it exists in the clear.
    pub async fn submit_lead(&self, input: LeadInput, address: &str) -> Result<String> {
        let site = clean("the site", &input.site, 2, MAX_FIELD)?;
        let location = clean("the address", &input.address, 0, MAX_FIELD)?;
        let description = clean("the description", &input.description, 10, MAX_DESCRIPTION)?;
        let sector = match input.sector.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => Some(
                Sector::from_code(code)
                    .ok_or_else(|| Error::InvalidInput(format!("unknown sector {code:?}")))?
                    .code()
                    .to_owned(),
            ),
        };
        let region = input.region.trim().to_owned();
        if !self.lead_regions().await?.contains(&region) {
            return Err(Error::InvalidInput(
                "choose one of the listed regions".into(),
            ));
        }
        // Counted only once the report is well-formed, so typing slips do not lock anyone out.
        self.lead_gate.admit(address).await?;
        let code = receipt_code();
        let lead = NewLead {
            id: RecordId::random().to_string(),
            receipt_hash: receipt_hash(&code),
            region,
            sector,
            site,
            address: location,
            description,
            received_on: dates::day_start(siteproof_core::now()),
        };
        self.storage.lead_store().insert_lead(&lead).await?;
        self.risks.changed();
        Ok(code)
    }

    /// What a receipt code reveals; `None` for a code that matches no lead.
    pub async fn lead_status(&self, receipt: &str) -> Result<Option<LeadReceiptStatus>> {
        self.refresh_index().await?;
        let store = self.storage.lead_store();
        let Some(lead) = store.lead_by_receipt(&receipt_hash(receipt)).await? else {
            return Ok(None);
        };
        let answered = self.answered_leads(vec![lead.id.clone()]).await?;
        Ok(Some(LeadReceiptStatus {
            status: status(lead.state, answered.contains(&lead.id)),
            received_on: dates::date(lead.received_on),
        }))
    }

    /// The leads `user` may see (only the one with id `only`, when given), newest first.
    async fn visible_leads(&self, user: &WebUser, only: Option<&str>) -> Result<Vec<LeadRow>> {
        self.refresh_index().await?;
        let visible = Visibility::user(user).rows(Unsectored::Shown);
        let leads = self.storage.lead_store().leads(&visible, only).await?;
        let assigned = leads
            .iter()
            .filter(|l| l.state == LeadState::Assigned)
            .map(|l| l.id.clone())
            .collect();
        let answered = self.answered_leads(assigned).await?;
        Ok(leads
            .into_iter()
            .map(|l| {
                let done = answered.contains(&l.id);
                row(l, done)
            })
            .collect())
    }

    /// The leads of the user's region (a sector department: of its sectors and those without
    /// a sector), newest first; `status` filters by status code.
    pub async fn leads(&self, user: &WebUser, status: Option<String>) -> Result<Vec<LeadRow>> {
        let rows = self.visible_leads(user, None).await?;
        Ok(rows
            .into_iter()
            .filter(|r| status.as_deref().is_none_or(|s| r.status.code() == s))
            .collect())
    }

    /// One lead the user may see.
    pub async fn lead(&self, user: &WebUser, id: &str) -> Result<LeadRow> {
        self.visible_leads(user, Some(id))
            .await?
            .pop()
            .ok_or_else(|| Error::UnknownRecord { id: id.to_string() })
    }

    /// Decides on a lead that is still `received`: assigns it to a group (returns the
    /// assignment's id) or dismisses it. The decision is recorded before the assignment is
    /// issued, so of several users (on any process) deciding at once exactly one goes on and
    /// the others get a conflict; an assignment that cannot be issued takes the decision back.
    pub async fn triage_lead(
        &self,
        user: &WebUser,
        id: &str,
        triage: Triage,
    ) -> Result<Option<RecordId>> {
        Visibility::user(user).require(Duty::TriageLeads)?;
        let lead = self.lead(user, id).await?;
        if lead.status != LeadStatus::Received {
            return Err(Error::Conflict(format!(
                "lead {id} is already {}",
                lead.status.code()
            )));
        }
        let store = self.storage.lead_store();
        let by = user.login.clone();
        let assignment = match triage {
            Triage::Dismiss { reason } => {
                let reason = clean("the reason", &reason, 2, 1000)?;
                let decision = LeadTriage {
                    assignment: None,
                    note: Some(reason),
                    by,
                };
                store.triage_lead(id, &decision).await?;
                None
            }
            Triage::Assign {
                group,
                note,
                template,
                due,
            } => {
                let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
                let mut body = lead.description.clone();
                if let Some(n) = &note {
                    body = format!("{body}\n\n{n}");
                }
                let sector = lead.sector.as_deref().and_then(Sector::from_code);
                let site = sector.map(|sector| Site {
                    name: lead.site.clone(),
                    credit_code: None,
                    address: lead.address.clone(),
                    sector,
                });
                let new = NewAssignment {
                    group,
                    kind: AssignmentKind::Lead,
                    title: lead.site.clone(),
                    body,
                    sector,
                    site,
                    template,
                    due,
                    experts: vec![],
                    lead: Some(lead.id.clone()),
                    cases: Vec::new(),
                };
                let assignment = RecordId::random();
                let decision = LeadTriage {
                    assignment: Some(assignment.to_string()),
                    note,
                    by,
                };
                store.triage_lead(id, &decision).await?;
                if let Err(e) = self
                    .issue_assignment_as(user, assignment.clone(), new)
                    .await
                {
                    if let Err(undo) = store.undo_triage(id, &decision).await {
                        tracing::error!(error = %undo, "taking back a lead's triage failed");
                    }
                    self.risks.changed();
                    return Err(e);
                }
                Some(assignment)
            }
        };
        self.risks.changed();
        Ok(assignment)
    }

    /// The regions the public form offers (those with at least one group).
    pub async fn lead_regions(&self) -> Result<Vec<String>> {
        let mut regions: Vec<String> = self
            .storage
            .list_groups()
            .await?
            .into_iter()
            .map(|g| g.region.as_str().to_owned())
            .collect();
        regions.sort();
        regions.dedup();
        Ok(regions)
    }
}
