//! The demo's tiered supervision: besides the sites the phones visit every day (many major
//! hazards: tier A), three enterprises with a chosen history land in tiers B, C and D; the
//! reviewer blacklists the chemical plant and puts the never covertly visited hotel on the key
//! list by hand, so the planning view proposes covert visits to group 1.

use siteproof_core::{Tier, VisitMode};
use siteproof_server::backoffice::{BackOffice, List, WebUser};

use super::phone::{Backdated, Phone, backdated_visit};
use super::{GROUPS, PASSWORD, core_err, site_code};
use crate::CliError;

/// The enterprises with a chosen history: name, credit code, address, template, days ago,
/// mode, failed items. The gas operator (one major hazard, covertly visited 120 days ago)
/// scores 20, 15 and 5: 40, tier B. The hotel (an announced visit only) scores 10 and 15: 25,
/// tier C. The supermarket (covertly visited 10 days ago, nothing found) scores 10: tier D.
const HISTORY: &[(&str, &str, &str, &str, i64, VisitMode, usize)] = &[
    (
        "鹿泉区某液化气站",
        "91130100000001006M",
        "石家庄市鹿泉区",
        "gas-operator-major",
        120,
        VisitMode::Covert,
        1,
    ),
    (
        "正定县某酒店",
        "91130100000001007Q",
        "石家庄市正定县",
        "fire-major",
        20,
        VisitMode::Announced,
        0,
    ),
    (
        "栾城区某超市",
        "91130100000001008U",
        "石家庄市栾城区",
        "fire-major",
        10,
        VisitMode::Covert,
        0,
    ),
];

/// Group 1's first phone brings these visits (as a peer's), then syncs; returns how many.
pub(super) fn history(phone: &mut Phone) -> Result<usize, CliError> {
    for (n, (site, code, address, template, days_ago, mode, failed)) in HISTORY.iter().enumerate() {
        backdated_visit(
            phone,
            &Backdated {
                site,
                credit_code: Some(code),
                address,
                template,
                days_ago: *days_ago,
                n,
                mode: *mode,
                failed: Some(*failed),
            },
        )?;
    }
    phone.store.sync().map_err(core_err)?;
    Ok(HISTORY.len())
}

/// The reviewer's decisions: the chemical plant blacklisted, the hotel on the key list. Returns
/// the count per tier (as text) and how many covert visits the planning view proposes to
/// group 1.
pub(super) async fn decide(office: &BackOffice) -> Result<(String, usize), CliError> {
    let (_, reviewer): (String, WebUser) = office.login("reviewer", PASSWORD, "demo").await?;
    office
        .add_to_list(
            &reviewer,
            List::Blacklist,
            site_code(1),
            "重大事故隐患屡查屡犯，拒不整改（屡禁不止、屡罚不改）",
            None,
        )
        .await?;
    office
        .add_to_list(
            &reviewer,
            List::KeyList,
            HISTORY[1].1,
            "节前人员密集场所专项检查，从未暗访",
            None,
        )
        .await?;
    let now = siteproof_core::now();
    let all = office.enterprise_risks_at(&reviewer, now).await?;
    let tiers = Tier::ALL
        .iter()
        .map(|t| {
            format!(
                "{} {}",
                t.code(),
                all.iter().filter(|e| e.risk.tier == *t).count()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let planned = office
        .planning_at(&reviewer, GROUPS[0].0, false, now)
        .await?
        .len();
    Ok((tiers, planned))
}
