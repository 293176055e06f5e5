//! The demo's enterprise registry: a roster of ten enterprises across the sectors imported
//! as the office would (CSV), and the demo's name-only sites merged into theirs by the
//! reviewer, so each enterprise page has visits, hazards and repeat findings.

use siteproof_server::backoffice::{BackOffice, WebUser};

use super::{PASSWORD, SITES};
use crate::CliError;

/// The roster: one enterprise per demo site, then enterprises not yet visited.
const ROSTER: &str = "统一社会信用代码,名称,曾用名,地址,行业领域,负责部门
91130100MA0DEM001P,石家庄长安某商贸有限公司,长安区某商场,石家庄市长安区中山东路,消防,消防救援支队
91130100MA0DEM002T,石家庄藁城某化工有限公司,藁城区某化工厂,石家庄市藁城区化工园区,危险化学品,应急管理局
91130100MA0DEM003X,井陉矿区某煤业有限公司,井陉矿区某煤矿,石家庄市井陉矿区,煤矿,应急管理局
91130100MA0DEM0041,石家庄新华某燃气有限公司,新华区某燃气站,石家庄市新华区,燃气,住房和城乡建设局
91130100MA0DEM0054,石家庄裕华某建设工程有限公司,裕华区某建筑工地,石家庄市裕华区,房屋市政工程,住房和城乡建设局
91130100MA0DEM0067,石家庄桥西某酒店管理有限公司,桥西区某宾馆,石家庄市桥西区,消防;旅游,消防救援支队
91130100MA0DEM007A,石家庄某钢铁有限公司,,石家庄市鹿泉区,工贸,应急管理局
91130100MA0DEM008D,石家庄某客运有限公司,,石家庄市新华区,道路交通,交通运输局
91130100MA0DEM009G,平山县某铁矿有限公司,,石家庄市平山县,非煤矿山,应急管理局
91130100MA0DEM010M,石家庄某游乐园有限公司,,石家庄市桥西区,旅游;特种设备,文化广电和旅游局
";

/// Imports the roster and merges each demo site into its enterprise; returns how many
/// enterprises were registered.
pub(super) async fn seed(office: &BackOffice) -> Result<usize, CliError> {
    let (_, reviewer): (String, WebUser) = office.login("reviewer", PASSWORD, "demo").await?;
    let imported = office
        .import_enterprises(&reviewer, ROSTER.as_bytes().to_vec())
        .await?
        .map_err(|problems| {
            CliError::Usage(format!("the demo roster does not import: {problems:?}"))
        })?;
    for (line, (site, _, _)) in ROSTER.lines().skip(1).zip(SITES) {
        let code = line.split(',').next().unwrap_or_default();
        office.merge_site(&reviewer, code, site).await?;
    }
    Ok(imported)
}
