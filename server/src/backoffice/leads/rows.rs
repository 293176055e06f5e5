//! A stored lead ([`LeadRecord`]) as the office and its reporter see it: an assigned lead
//! reads as inspected once a visit answers it, which only the office index knows.

use super::{LeadRow, LeadStatus};
use crate::storage::{LeadRecord, LeadState};

/// The status of a lead in `state`; `answered`: a visit answers its assignment.
pub(super) fn status(state: LeadState, answered: bool) -> LeadStatus {
    match state {
        LeadState::Received => LeadStatus::Received,
        LeadState::Dismissed => LeadStatus::Dismissed,
        LeadState::Assigned if answered => LeadStatus::Inspected,
        LeadState::Assigned => LeadStatus::Assigned,
    }
}

/// The office's row of a stored lead.
pub(super) fn row(lead: LeadRecord, answered: bool) -> LeadRow {
    LeadRow {
        status: status(lead.state, answered),
        id: lead.id,
        region: lead.region,
        sector: lead.sector,
        site: lead.site,
        address: lead.address,
        description: lead.description,
        received_on: lead.received_on,
        triage_note: lead.triage_note,
        triaged_by: lead.triaged_by,
        assignment: lead.assignment,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_assigned_lead_reads_as_inspected_once_answered() {
        assert_eq!(status(LeadState::Assigned, true), LeadStatus::Inspected);
        assert_eq!(status(LeadState::Assigned, false), LeadStatus::Assigned);
        for answered in [false, true] {
            assert_eq!(status(LeadState::Received, answered), LeadStatus::Received);
            assert_eq!(
                status(LeadState::Dismissed, answered),
                LeadStatus::Dismissed
            );
        }
    }
}
