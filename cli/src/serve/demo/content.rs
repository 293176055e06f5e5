//! The demo's inspection content on the office side: the rosters, pushes to both groups, and
//! two whistleblower leads (one passed to group 1, one awaiting triage).

use siteproof_core::{AssignmentKind, Sector, Site, TemplateRef};
use siteproof_server::backoffice::{
    BackOffice, Expert, Inspector, LeadInput, NewAssignment, Triage, WebUser,
};

use super::{GROUPS, PASSWORD};
use crate::CliError;

/// The title of the push the demo phones answer with a visit.
pub(super) const PLANNED_TITLE: &str = "计划暗访：鹿泉区某危化品仓库";

fn inspector(name: &str, unit: &str, group: &str, sectors: &[Sector]) -> Inspector {
    Inspector {
        id: 0,
        name: name.into(),
        unit: unit.into(),
        phone: None,
        sectors: sectors.to_vec(),
        group: Some(group.into()),
    }
}

fn expert(name: &str, specialty: &str, unit: &str, sectors: &[Sector]) -> Expert {
    Expert {
        id: 0,
        name: name.into(),
        specialty: specialty.into(),
        sectors: sectors.to_vec(),
        unit: unit.into(),
        phone: Some("0311-0000000".into()),
    }
}

fn push(group: &str, kind: AssignmentKind, title: &str, body: &str) -> NewAssignment {
    NewAssignment {
        group: group.into(),
        kind,
        title: title.into(),
        body: body.into(),
        sector: None,
        site: None,
        template: None,
        due: None,
        experts: vec![],
        lead: None,
        cases: Vec::new(),
    }
}

/// Seeds the rosters, the pushes and the leads, as the administrator.
pub(super) async fn seed(office: &BackOffice) -> Result<(), CliError> {
    let (_, admin): (String, WebUser) = office.login("admin", PASSWORD, "demo").await?;
    let (g1, g2) = (GROUPS[0].0, GROUPS[1].0);
    use Sector::*;
    for person in [
        inspector(
            "张三",
            "市应急管理局",
            g1,
            &[HazardousChemicals, FireSafety],
        ),
        inspector("李四", "市消防救援支队", g1, &[FireSafety]),
        inspector("王五", "市应急管理局", g2, &[CoalMine, NonCoalMine]),
        inspector(
            "赵六",
            "市住房和城乡建设局",
            g2,
            &[BuildingConstruction, Gas],
        ),
    ] {
        office.add_inspector(&admin, person).await?;
    }
    let mut experts = Vec::new();
    for e in [
        expert(
            "陈工",
            "危险化学品工艺安全",
            "省安全生产专家组",
            &[HazardousChemicals],
        ),
        expert("刘工", "电气防火", "省消防协会", &[FireSafety]),
        expert(
            "周工",
            "矿山通风与瓦斯防治",
            "省煤矿安全专家库",
            &[CoalMine],
        ),
    ] {
        experts.push(office.add_expert(&admin, e).await?);
    }
    let hazchem = TemplateRef {
        id: "hazchem-major".parse()?,
        version: 1,
    };
    let mut planned = push(
        g1,
        AssignmentKind::PlannedTarget,
        PLANNED_TITLE,
        "群众反映夜间有车辆进出装卸，重点核查储存品种与数量、重大危险源监控和特殊作业管理。",
    );
    planned.sector = Some(HazardousChemicals);
    planned.site = Some(Site {
        name: "鹿泉区某危化品仓库".into(),
        credit_code: None,
        address: "石家庄市鹿泉区".into(),
        sector: HazardousChemicals,
    });
    planned.template = Some(hazchem.clone());
    planned.due = Some(siteproof_core::now() + 7 * 86_400_000);
    office.issue_assignment(&admin, planned).await?;
    let mut support = push(
        g1,
        AssignmentKind::Experts,
        "危化与消防专家支持",
        "暗访中遇到工艺和电气问题可电话咨询。",
    );
    support.experts = experts[..2].to_vec();
    office.issue_assignment(&admin, support).await?;
    office
        .issue_assignment(
            &admin,
            push(
                g1,
                AssignmentKind::GroupInfo,
                "第一督导组组情",
                "负责长安区、藁城区、鹿泉区；每周报送工作动态。",
            ),
        )
        .await?;
    office
        .issue_assignment(
            &admin,
            push(
                g2,
                AssignmentKind::KeyFocus,
                "本周重点：燃气用户与建筑工地",
                "重点检查餐饮场所燃气报警装置、建筑工地起重机械和深基坑。",
            ),
        )
        .await?;
    office
        .issue_assignment(
            &admin,
            push(
                g2,
                AssignmentKind::RiskPoint,
                "风险点位：井陉矿区老旧采空区",
                "雨季前核查采空区治理和地表塌陷监测。",
            ),
        )
        .await?;

    let lead = |site: &str, sector: Sector, description: &str| LeadInput {
        region: super::REGION.into(),
        sector: Some(sector.code().into()),
        site: site.into(),
        address: "石家庄市".into(),
        description: description.into(),
    };
    office
        .submit_lead(
            lead(
                "新华区某餐馆",
                Gas,
                "后厨液化气瓶放在地下室，没有燃气报警器，员工说报警器坏了很久。",
            ),
            "demo",
        )
        .await?;
    let _receipt = office
        .submit_lead(
            lead(
                "裕华区某仓储中心",
                FireSafety,
                "仓库夜间锁闭安全出口，消防通道堆满货物，多次反映无人处理。",
            ),
            "demo",
        )
        .await?;
    let received = office.leads(&admin, None).await?;
    if let Some(first) = received.iter().find(|l| l.site == "裕华区某仓储中心") {
        office
            .triage_lead(
                &admin,
                &first.id,
                Triage::Assign {
                    group: g1.into(),
                    note: Some("请一周内暗访核查，核实后拍照取证。".into()),
                    template: Some(TemplateRef {
                        id: "fire-major".parse()?,
                        version: 1,
                    }),
                    due: None,
                },
            )
            .await?;
    }
    Ok(())
}
