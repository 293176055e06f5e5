//! The demo's hazard ledger: once the phones have synced, the office drives some of the
//! earlier days' hazards through their lifecycle, so the ledger shows every status, an
//! overdue hazard (listed by itself) and one listed by hand. Today's hazards stay as found.

use siteproof_core::CaseEventKind as K;
use siteproof_server::backoffice::{BackOffice, CaseInput, LedgerFilter, WebUser};

use super::PASSWORD;
use crate::CliError;

const DAY_MS: i64 = 86_400_000;

/// The events each driven hazard gets, in order; `Ordered` carries a deadline `days` from now.
const PATHS: &[&[K]] = &[
    &[K::Ordered, K::InterimMeasures],
    &[K::Ordered],
    &[K::Ordered, K::Rectified],
    &[K::Ordered, K::Rectified, K::Verified],
    &[K::Ordered, K::Rectified, K::Verified, K::Closed],
    &[K::Ordered, K::Rectified, K::Verified, K::Closed],
    &[K::Ordered, K::Rectified, K::Reopened],
    &[K::Escalated],
];

/// Deadline of each path's order, in days from now (negative: already past).
const DEADLINE_DAYS: [i64; 8] = [10, -3, 7, 7, 7, 7, 5, 0];

fn input(kind: K, deadline_days: i64) -> CaseInput {
    let now = siteproof_core::now();
    let (note, unit, deadline) = match kind {
        K::Ordered => (
            Some("限期整改，整改完成后书面报告".to_owned()),
            Some("被检查单位".to_owned()),
            Some(now + deadline_days * DAY_MS),
        ),
        K::InterimMeasures => (Some("设置警戒区，专人值守".to_owned()), None, None),
        K::Rectified => (Some("企业报告已整改".to_owned()), None, None),
        K::Reopened => (Some("复核发现整改不到位".to_owned()), None, None),
        K::Escalated => (Some("市安委办挂牌督办".to_owned()), None, None),
        _ => (None, None, None),
    };
    CaseInput {
        kind: Some(kind),
        note,
        unit,
        deadline,
        media: vec![],
    }
}

/// Drives the earlier days' hazards; returns how many it touched.
pub(super) async fn drive(office: &BackOffice) -> Result<usize, CliError> {
    let (_, reviewer): (String, WebUser) = office.login("reviewer", PASSWORD, "demo").await?;
    let today = siteproof_core::now() - DAY_MS / 2;
    let earlier = |status: &str| LedgerFilter {
        status: Some(status.to_owned()),
        to: Some(today),
        ..LedgerFilter::default()
    };
    let open = office.ledger(&reviewer, earlier("open"), 1_000).await?;
    let mut touched = 0;
    for ((entry, path), days) in open.iter().zip(PATHS).zip(DEADLINE_DAYS) {
        for kind in path.iter() {
            office
                .add_case_event(&reviewer, &entry.id, input(*kind, days))
                .await?;
        }
        touched += 1;
    }
    // Fixed on the spot: one verified and closed, one verified.
    let fixed = office
        .ledger(&reviewer, earlier("fixed_on_spot"), 1_000)
        .await?;
    for (entry, path) in fixed
        .iter()
        .zip([&[K::Verified, K::Closed][..], &[K::Verified]])
    {
        for kind in path {
            office
                .add_case_event(&reviewer, &entry.id, input(*kind, 0))
                .await?;
        }
        touched += 1;
    }
    Ok(touched)
}
