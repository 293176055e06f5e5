//! [`VisitRow`]: a visit as the back office's index stores it (`bo_visits`), the row the
//! office's pages list and the stores that read the index return.

/// A visit as the list shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct VisitRow {
    /// Record id.
    pub id: String,
    /// Region.
    pub region: String,
    /// Group.
    pub group: String,
    /// Site name.
    pub site: String,
    /// Sector code.
    pub sector: String,
    /// Mode code.
    pub mode: String,
    /// Start, ms.
    pub started_at: i64,
    /// End, ms.
    pub ended_at: Option<i64>,
    /// Major findings.
    pub major: i64,
    /// General findings.
    pub general: i64,
    /// Items with conflicting answers.
    pub conflicts: i64,
    /// The assignment the visit was started from.
    pub assignment: Option<String>,
    /// The credit code typed for the site (trimmed, upper case), if any.
    pub credit_code: Option<String>,
}
