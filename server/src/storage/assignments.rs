//! [`AssignmentStore`]: the office's row of each assignment it issued, kept with the
//! `assignment` record itself. Issuing is one create-only write: the record (under an id the
//! office may have chosen beforehand, as lead triage does) and its row are stored in one
//! transaction, or neither is, and an id already stored is a `Conflict` that overwrites
//! nothing. Which rows a reader sees is a [`RowFilter`]; how many visits an assignment led to
//! comes from the office's visit index, not from here.

use async_trait::async_trait;

use super::{RecordWrite, RowFilter, StorageResult};

/// The most assignments one listing returns, newest first.
pub const ASSIGNMENT_LIST_LIMIT: u32 = 1000;

/// An assignment as the office lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedAssignment {
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
}

/// The assignments the office issued.
#[async_trait]
pub trait AssignmentStore: Send + Sync + 'static {
    /// Stores a new `assignment` record (from the back office) and its row in one
    /// transaction. A record with that id already stored is a `Conflict`; nothing is written
    /// then.
    async fn issue_assignment(
        &self,
        record: &RecordWrite,
        row: &IssuedAssignment,
    ) -> StorageResult<()>;
    /// The assignments `rows` admits (only the one with id `only`, when given), newest first
    /// then by id, at most [`ASSIGNMENT_LIST_LIMIT`].
    async fn assignments(
        &self,
        rows: &RowFilter,
        only: Option<&str>,
    ) -> StorageResult<Vec<IssuedAssignment>>;
    /// The ids of the assignments made from these leads, as `(lead, assignment)` pairs.
    async fn assignments_of_leads(&self, leads: &[String]) -> StorageResult<Vec<(String, String)>>;
}
