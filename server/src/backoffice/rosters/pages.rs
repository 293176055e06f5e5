//! The roster page: inspectors, the expert pool and the forms to add to them.

use maud::{Markup, html};

use crate::backoffice::i18n::Lang;
use crate::backoffice::layout::{BASE, layout, sector_boxes, sector_names};
use crate::backoffice::{Expert, Inspector, WebUser};

/// The inspector roster and the expert pool, with the forms to add to them.
pub fn roster_page(
    lang: Lang,
    user: &WebUser,
    inspectors: &[Inspector],
    experts: &[Expert],
    groups: &[String],
) -> Markup {
    let group_select = |name: &str, current: Option<&str>| {
        html! {
            select name=(name) {
                option value="" { (lang.t("未编组", "No group")) }
                @for g in groups { option value=(g) selected[current == Some(g.as_str())] { (g) } }
            }
        }
    };
    let body = html! {
        h2 { (lang.t("督导检查人员库", "Inspector roster")) }
        table #inspectors {
            thead { tr {
                th { (lang.t("姓名", "Name")) } th { (lang.t("单位", "Unit")) } th { (lang.t("电话", "Phone")) }
                th { (lang.t("擅长领域", "Sectors")) } th { (lang.t("督查组", "Group")) }
            } }
            tbody {
                @for i in inspectors {
                    tr data-inspector=(i.id) {
                        td { (i.name) } td { (i.unit) } td { (i.phone.as_deref().unwrap_or("—")) }
                        td { (sector_names(lang, &i.sectors)) }
                        td {
                            form.inline method="post" action={(BASE) "/roster/inspectors/" (i.id) "/group"} {
                                input type="hidden" name="csrf" value=(user.csrf);
                                (group_select("group", i.group.as_deref()))
                                button type="submit" { (lang.t("编组", "Set")) }
                            }
                        }
                    }
                }
            }
        }
        form #new-inspector method="post" action={(BASE) "/roster/inspectors"} {
            input type="hidden" name="csrf" value=(user.csrf);
            fieldset {
                legend { (lang.t("新增检查人员", "Add an inspector")) }
                label { (lang.t("姓名", "Name")) " " input name="name" required; }
                label { (lang.t("单位", "Unit")) " " input name="unit" required; }
                label { (lang.t("电话", "Phone")) " " input name="phone"; }
                label { (lang.t("督查组", "Group")) " " (group_select("group", None)) }
                br; (sector_boxes(lang, "sector"))
                button type="submit" { (lang.t("新增", "Add")) }
            }
        }
        h2 { (lang.t("专家库", "Expert pool")) }
        table #experts {
            thead { tr {
                th { (lang.t("姓名", "Name")) } th { (lang.t("专业", "Specialty")) } th { (lang.t("单位", "Unit")) }
                th { (lang.t("领域", "Sectors")) } th { (lang.t("电话", "Phone")) }
            } }
            tbody {
                @for e in experts {
                    tr data-expert=(e.id) {
                        td { (e.name) } td { (e.specialty) } td { (e.unit) }
                        td { (sector_names(lang, &e.sectors)) } td { (e.phone.as_deref().unwrap_or("—")) }
                    }
                }
            }
        }
        form #new-expert method="post" action={(BASE) "/roster/experts"} {
            input type="hidden" name="csrf" value=(user.csrf);
            fieldset {
                legend { (lang.t("新增专家", "Add an expert")) }
                label { (lang.t("姓名", "Name")) " " input name="name" required; }
                label { (lang.t("专业", "Specialty")) " " input name="specialty" required; }
                label { (lang.t("单位", "Unit")) " " input name="unit" required; }
                label { (lang.t("电话", "Phone")) " " input name="phone"; }
                br; (sector_boxes(lang, "sector"))
                button type="submit" { (lang.t("新增", "Add")) }
            }
        }
    };
    layout(lang, user, lang.t("人员与专家库", "Rosters"), body)
}
