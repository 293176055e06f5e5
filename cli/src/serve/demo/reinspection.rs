//! The demo's re-inspection (复查): the office sends two of group 1's earlier open hazards
//! back to the group; group 1's first phone syncs, goes back on site, finds the first
//! rectified (with a photo) and the second not, and syncs and uploads. The results wait on
//! the ledger entries for the office to verify and close.

use std::path::Path;

use siteproof_core::{
    AssignmentKind, NewReinspection, ReinspectionOutcome, VisitFromAssignment, VisitMode,
};
use siteproof_server::backoffice::{BackOffice, LedgerFilter, WebUser};

use super::phone::{Phone, photo, photo_capture};
use super::{GROUPS, PASSWORD, core_err};
use crate::CliError;

/// The office sends the re-inspection; returns the hazards it names (none when group 1 has
/// fewer than two open hazards left).
pub(super) async fn send(office: &BackOffice) -> Result<Vec<String>, CliError> {
    let (_, reviewer): (String, WebUser) = office.login("reviewer", PASSWORD, "demo").await?;
    let filter = LedgerFilter {
        status: Some("open".into()),
        group: Some(GROUPS[0].0.into()),
        to: Some(siteproof_core::now() - 86_400_000 / 2),
        ..LedgerFilter::default()
    };
    let open = office.ledger(&reviewer, filter, 2).await?;
    if open.len() < 2 {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = open.into_iter().map(|r| r.id).collect();
    office
        .issue_reinspection(&reviewer, &ids, "请复查整改落实情况，拍照留证。", None)
        .await?;
    Ok(ids)
}

/// Group 1's first phone does the re-inspection (blocking); returns how many results it
/// recorded.
pub(super) fn on_site(phone_dir: &Path, files: &Path) -> Result<usize, CliError> {
    let mut phone = Phone::reopen(phone_dir)?;
    phone.store.sync().map_err(core_err)?;
    let Some(pushed) = phone
        .store
        .assignments()
        .map_err(core_err)?
        .into_iter()
        .find(|a| a.kind == AssignmentKind::Reinspection)
    else {
        return Ok(0);
    };
    let visit = phone
        .store
        .start_visit_from_assignment(
            &pushed.id,
            VisitFromAssignment {
                mode: VisitMode::Announced,
                team: vec!["张三".into()],
                template: None,
                location: None,
            },
        )
        .map_err(core_err)?;
    let tasks = phone
        .store
        .reinspection_tasks(&pushed.id, None)
        .map_err(core_err)?;
    for (i, task) in tasks.iter().enumerate() {
        let rectified = i == 0;
        let media = if rectified {
            let capture = photo_capture(None);
            let shot = photo(files, 500 + i)?;
            let attached = phone
                .store
                .add_evidence(&visit, &phone.media, &shot, capture)
                .map_err(core_err)?;
            vec![attached.hash]
        } else {
            Vec::new()
        };
        let input = NewReinspection {
            case: task.case.id.clone(),
            outcome: if rectified {
                ReinspectionOutcome::Rectified
            } else {
                ReinspectionOutcome::NotRectified
            },
            note: Some(if rectified {
                "现场复查：已整改到位".into()
            } else {
                "现场复查：仍未整改，建议约谈".into()
            }),
            media,
        };
        phone
            .store
            .record_reinspection(&visit, input)
            .map_err(core_err)?;
    }
    phone.store.finish_visit(&visit).map_err(core_err)?;
    phone.store.sync().map_err(core_err)?;
    phone.upload()?;
    Ok(tasks.len())
}
