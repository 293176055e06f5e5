//! [`LeadStore`]: whistleblower leads as stored, in the database every server process shares,
//! so a lead submitted through one process is listed by all of them and triaged once. Only
//! the SHA-256 of a lead's receipt code is stored. Which leads a reader sees is a
//! [`RowFilter`] from the visibility policy; the back office adds what depends on its index
//! (a lead whose group has visited the site reads as inspected).

use async_trait::async_trait;

use super::{RowFilter, StorageResult};

/// The most leads one listing returns, newest first.
pub const LEAD_LIST_LIMIT: u32 = 1000;

/// Where a lead stands as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadState {
    /// Not yet triaged.
    Received,
    /// Passed to a group through an assignment.
    Assigned,
    /// Taken no further.
    Dismissed,
}

impl LeadState {
    /// The code stored in the `status` column.
    pub fn code(self) -> &'static str {
        match self {
            LeadState::Received => "received",
            LeadState::Assigned => "assigned",
            LeadState::Dismissed => "dismissed",
        }
    }

    /// The state of a stored code; an unknown code reads as received, as it always has.
    pub fn from_code(code: &str) -> Self {
        match code {
            "assigned" => LeadState::Assigned,
            "dismissed" => LeadState::Dismissed,
            _ => LeadState::Received,
        }
    }
}

/// A lead to store, in the `received` state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLead {
    /// Its id (not the receipt code).
    pub id: String,
    /// SHA-256 of the receipt code given to the reporter.
    pub receipt_hash: [u8; 32],
    /// Region code.
    pub region: String,
    /// Sector code, if the reporter gave one.
    pub sector: Option<String>,
    /// Site.
    pub site: String,
    /// Address.
    pub address: String,
    /// What the reporter saw.
    pub description: String,
    /// The day of receipt, ms (start of the Beijing day).
    pub received_on: i64,
}

/// A stored lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadRecord {
    /// Its id.
    pub id: String,
    /// Region code.
    pub region: String,
    /// Sector code.
    pub sector: Option<String>,
    /// Site.
    pub site: String,
    /// Address.
    pub address: String,
    /// Description.
    pub description: String,
    /// The day of receipt, ms.
    pub received_on: i64,
    /// Where it stands.
    pub state: LeadState,
    /// The triage note (a reason to dismiss, or instructions).
    pub triage_note: Option<String>,
    /// Who triaged it.
    pub triaged_by: Option<String>,
    /// The assignment made from it.
    pub assignment: Option<String>,
}

/// The office's decision on a lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadTriage {
    /// The assignment made from it (the lead becomes `assigned`); `None`: dismissed.
    pub assignment: Option<String>,
    /// The note kept with it.
    pub note: Option<String>,
    /// The login of who decided.
    pub by: String,
}

impl LeadTriage {
    /// The state the lead takes.
    pub fn state(&self) -> LeadState {
        if self.assignment.is_some() {
            LeadState::Assigned
        } else {
            LeadState::Dismissed
        }
    }
}

/// Whistleblower leads.
#[async_trait]
pub trait LeadStore: Send + Sync + 'static {
    /// Stores a new lead as received. A duplicate id or receipt hash is a `Conflict`.
    async fn insert_lead(&self, lead: &NewLead) -> StorageResult<()>;
    /// The lead a receipt code's hash belongs to.
    async fn lead_by_receipt(&self, receipt_hash: &[u8; 32]) -> StorageResult<Option<LeadRecord>>;
    /// The leads `rows` admits (only the one with id `only`, when given), newest day first
    /// then by id, at most [`LEAD_LIST_LIMIT`].
    async fn leads(&self, rows: &RowFilter, only: Option<&str>) -> StorageResult<Vec<LeadRecord>>;
    /// Records the decision on a lead that is still received. Of several deciding at once
    /// (on any process) exactly one succeeds; the others, and any later decision, get a
    /// `Conflict` naming the state found. `NotFound` for an unknown id.
    async fn triage_lead(&self, id: &str, triage: &LeadTriage) -> StorageResult<()>;
    /// Takes back a decision whose follow-up failed (the assignment could not be issued): the
    /// lead is received again if it still holds exactly `triage`. Whether it was taken back.
    async fn undo_triage(&self, id: &str, triage: &LeadTriage) -> StorageResult<bool>;
}
