//! The demo's enterprise registry: a roster imported as the office would (CSV) with the six
//! demo sites, the three enterprises of the supervision history (`demo/supervision.rs`) and
//! three not yet visited; then the reviewer merges the guesthouse, whose inspectors typed
//! only its name, into its enterprise, so every enterprise page with visits has its history.

use siteproof_server::backoffice::{BackOffice, WebUser};

use super::{GUESTHOUSE_CODE, PASSWORD, SITES, site_code};
use crate::CliError;

/// Per demo site (by index): registered name, sectors and the responsible department; the
/// site name is kept as the former name, its address as the address.
const SITE_ENTERPRISES: [(&str, &str, &str); 6] = [
    ("石家庄长安某商贸有限公司", "消防", "消防救援支队"),
    ("石家庄藁城某化工有限公司", "危险化学品", "应急管理局"),
    ("井陉矿区某煤业有限公司", "煤矿", "应急管理局"),
    ("石家庄新华某燃气有限公司", "燃气", "住房和城乡建设局"),
    (
        "石家庄裕华某建设工程有限公司",
        "房屋市政工程",
        "住房和城乡建设局",
    ),
    ("石家庄桥西某宾馆有限公司", "消防;旅游", "消防救援支队"),
];

/// The rest of the roster: the supervision history's enterprises, then ones not yet visited.
const OTHERS: &str = "91130100000001006M,鹿泉区某液化气站,,石家庄市鹿泉区,燃气,住房和城乡建设局
91130100000001007Q,正定县某酒店,,石家庄市正定县,消防,消防救援支队
91130100000001008U,栾城区某超市,,石家庄市栾城区,消防,消防救援支队
91130100MA0DEM007A,石家庄某钢铁有限公司,,石家庄市鹿泉区,工贸,应急管理局
91130100MA0DEM009G,平山县某铁矿有限公司,,石家庄市平山县,非煤矿山,应急管理局
91130100MA0DEM010M,石家庄某游乐园有限公司,,石家庄市桥西区,旅游;特种设备,文化广电和旅游局
";

/// The roster as the office's CSV.
fn roster() -> String {
    let mut csv = String::from("统一社会信用代码,名称,曾用名,地址,行业领域,负责部门\n");
    for (n, ((site, address, _), (name, sectors, department))) in
        SITES.iter().zip(SITE_ENTERPRISES).enumerate()
    {
        csv.push_str(&format!(
            "{},{name},{site},{address},{sectors},{department}\n",
            site_code(n)
        ));
    }
    csv.push_str(OTHERS);
    csv
}

/// Imports the roster and merges the guesthouse's name-only site into its enterprise;
/// returns how many enterprises were registered.
pub(super) async fn seed(office: &BackOffice) -> Result<usize, CliError> {
    let (_, reviewer): (String, WebUser) = office.login("reviewer", PASSWORD, "demo").await?;
    let imported = office
        .import_enterprises(&reviewer, roster().into_bytes())
        .await?
        .map_err(|problems| {
            CliError::Usage(format!("the demo roster does not import: {problems:?}"))
        })?;
    office
        .merge_site(&reviewer, GUESTHOUSE_CODE, SITES[5].0)
        .await?;
    Ok(imported)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_roster_code_is_valid() {
        for line in super::roster().lines().skip(1) {
            let code = line.split(',').next().unwrap_or_default();
            assert!(
                code.parse::<siteproof_core::CreditCode>().is_ok(),
                "{code} in the demo roster"
            );
        }
    }
}
