//! The collections (三收集): work updates and practices the groups' devices write (records
//! of kind `report`), listed for the office. The third collection, the hazard ledger, is
//! `ledger/`. Not to be confused with the period reports (`reports/`) or the public leads
//! (`leads/`).

use axum::routing::get;

use crate::backoffice::extract::{Office, PageResult, RouteTable, page};
use maud::{Markup, html};

use crate::backoffice::dates::date_time;
use crate::backoffice::i18n::Lang;
use crate::backoffice::layout::{BASE, layout};
use crate::backoffice::{CollectionRow, WebUser};

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default().route("/office/collections", get(collections))
}

async fn collections(o: Office) -> PageResult {
    let rows = o.office.collections(&o.user).await?;
    Ok(page(o.lang, collections_page(o.lang, &o.user, &rows)))
}

/// Work updates and practices from the groups.
pub fn collections_page(lang: Lang, user: &WebUser, rows: &[CollectionRow]) -> Markup {
    let body = html! {
        p { (lang.t("问题隐患台账见", "The hazard ledger is at")) " " a href={(BASE) "/ledger"} { (lang.t("隐患台账", "Hazard ledger")) } }
        table #collections {
            thead { tr {
                th { (lang.t("时间", "At")) } th { (lang.t("督查组", "Group")) } th { (lang.t("类别", "Kind")) }
                th { (lang.t("标题", "Title")) } th { (lang.t("内容", "Text")) } th { (lang.t("报送人", "By")) }
            } }
            tbody {
                @for r in rows {
                    tr data-collection=(r.id) {
                        td { (date_time(r.written_at)) } td { (r.group) } td { (lang.collection(&r.kind)) }
                        td { strong { (r.title) } } td { (r.body) } td { (r.author) }
                    }
                }
            }
        }
    };
    layout(
        lang,
        user,
        lang.t("工作收集（三收集）", "Collections from groups"),
        body,
    )
}
