//! The registry's pages: the list with search, import and export, and an enterprise's
//! history (visits, hazards by status, leads, repeat findings, merges with their undo).

use maud::{Markup, html};

use super::routes::ListQuery;
use super::{EnterpriseHistory, EnterpriseListRow, PAGE_SIZE};
use crate::backoffice::WebUser;
use crate::backoffice::dates::{date, date_time};
use crate::backoffice::i18n::Lang;
use crate::backoffice::layout::{BASE, layout, sector_names};

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The list: search, a page of enterprises, import and export.
pub fn list_page(
    lang: Lang,
    user: &WebUser,
    q: &ListQuery,
    rows: &[EnterpriseListRow],
    total: i64,
) -> Markup {
    let page = q.page.unwrap_or(0).max(0);
    let term = q.q.as_deref().unwrap_or("");
    let body = html! {
        form #enterprise-search method="get" action={(BASE) "/enterprises"} {
            label { (lang.t("名称或信用代码", "Name or credit code")) " " input name="q" value=(term) size="30"; }
            button type="submit" { (lang.t("查找", "Search")) }
            " · " a #csv href={(BASE) "/enterprises.csv"} { (lang.t("导出 CSV", "Export CSV")) }
            " · " a #xlsx href={(BASE) "/enterprises.xlsx"} { (lang.t("导出 Excel", "Export XLSX")) }
        }
        form #enterprise-import method="post" data-import={(BASE) "/enterprises/import"} {
            input type="hidden" name="csrf" value=(user.csrf);
            label { (lang.t("导入企业名录（CSV 或 Excel）", "Import a roster (CSV or XLSX)")) " "
                input type="file" name="roster" accept=".csv,.xlsx"; }
            button type="submit" { (lang.t("导入", "Import")) }
            pre.import-result {}
        }
        p { (lang.t("共", "Total")) " " strong #enterprise-count { (total) } }
        table #enterprises {
            thead { tr {
                th { (lang.t("名称", "Name")) } th { (lang.t("统一社会信用代码", "Credit code")) }
                th { (lang.t("地址", "Address")) } th { (lang.t("行业领域", "Sectors")) }
                th { (lang.t("负责部门", "Department")) } th { (lang.t("未闭环隐患", "Open hazards")) }
            } }
            tbody { @for r in rows {
                tr {
                    td { a href={(BASE) "/enterprises/" (r.enterprise.credit_code)} { (r.enterprise.name) } }
                    td { (r.enterprise.credit_code) }
                    td { (r.enterprise.address) }
                    td { (sector_names(lang, &r.enterprise.sectors)) }
                    td { (r.enterprise.department) }
                    td.open-hazards { (r.open_hazards) }
                }
            } }
        }
        p {
            @if page > 0 { a href={"?page=" (page - 1) "&q=" (encode(term))} { (lang.t("上一页", "Previous")) } " " }
            @if (page + 1) * PAGE_SIZE < total { a #next href={"?page=" (page + 1) "&q=" (encode(term))} { (lang.t("下一页", "Next")) } }
        }
    };
    layout(lang, user, lang.t("企业库", "Enterprises"), body)
}

/// One enterprise's history, with `risk` (tiered supervision's panel: tier, score, reasons,
/// lists) under its registration.
pub fn enterprise_page(lang: Lang, user: &WebUser, h: &EnterpriseHistory, risk: Markup) -> Markup {
    let e = &h.enterprise;
    let body = html! {
        dl #enterprise {
            dt { (lang.t("统一社会信用代码", "Credit code")) } dd #credit-code { (e.credit_code) }
            @if !e.former_names.is_empty() { dt { (lang.t("曾用名", "Former names")) } dd { (e.former_names.join("、")) } }
            dt { (lang.t("地址", "Address")) } dd { (e.address) }
            dt { (lang.t("行业领域", "Sectors")) } dd { (sector_names(lang, &e.sectors)) }
            dt { (lang.t("负责部门", "Department")) } dd { (e.department) }
        }
        (risk)
        h2 { (lang.t("检查记录", "Visits")) " (" span #visit-count { (h.visit_counts.0) } ", "
            (lang.t("暗访", "covert")) " " (h.visit_counts.1) ")" }
        table #enterprise-visits {
            thead { tr { th { (lang.t("开始", "Started")) } th { (lang.t("方式", "Mode")) } th { (lang.t("现场名称", "Site")) }
                th { (lang.t("检查组", "Group")) } th { (lang.t("重大", "Major")) } th { (lang.t("一般", "General")) } } }
            tbody { @for v in &h.visits { tr {
                td { a href={(BASE) "/visits/" (v.id)} { (date_time(v.started_at)) } }
                td.mode { (lang.mode(&v.mode)) } td { (v.site) } td { (v.group) }
                td { (v.major) } td { (v.general) }
            } } }
        }
        h2 { (lang.t("隐患", "Hazards")) }
        p #hazards-by-status { @for (status, n) in &h.by_status {
            span.status { (lang.status(status)) " " strong { (n) } } " "
        } }
        table #enterprise-hazards {
            thead { tr { th { (lang.t("发现", "Found")) } th { (lang.t("等级", "Severity")) } th { (lang.t("描述", "Description")) }
                th { (lang.t("状态", "Status")) } th { (lang.t("整改期限", "Deadline")) } } }
            tbody { @for c in &h.hazards { tr {
                td { a href={(BASE) "/cases/" (c.id)} { (date(c.opened_at)) } }
                td { (lang.severity(&c.severity)) } td { (c.description) }
                td { (lang.status(&c.status)) } td { @if let Some(d) = c.deadline { (date(d)) } }
            } } }
        }
        h2 { (lang.t("同一检查项重复发现", "Repeat findings of the same item")) }
        table #enterprise-repeats {
            thead { tr { th { (lang.t("检查项", "Item")) } th { (lang.t("次检查", "Visits")) } th { (lang.t("问题数", "Findings")) } th { (lang.t("最近", "Latest")) } } }
            tbody { @for r in &h.repeats { tr { td { (r.item) } td { (r.visits) } td { (r.findings) } td { (date(r.last_at)) } } } }
        }
        h2 { (lang.t("线索", "Leads")) }
        table #enterprise-leads {
            thead { tr { th { (lang.t("收到", "Received")) } th { (lang.t("名称", "Site")) } th { (lang.t("内容", "Report")) } th { (lang.t("状态", "Status")) } } }
            tbody { @for l in &h.leads { tr {
                td { (date(l.received_on)) } td { (l.site) } td { (l.description) } td { (lang.lead_status(&l.status)) }
            } } }
        }
        h2 { (lang.t("合并的现场名称", "Site names merged in")) }
        table #enterprise-merges {
            thead { tr { th { (lang.t("现场名称", "Site")) } th { (lang.t("合并人", "Merged by")) } th { (lang.t("时间", "At")) }
                th { (lang.t("撤销", "Undone")) } } }
            tbody { @for m in &h.merges { tr {
                td { (m.site) } td { (m.merged_by) } td { (date_time(m.merged_at)) }
                td { @if let (Some(by), Some(at)) = (&m.undone_by, m.undone_at) { (by) " " (date_time(at)) } @else {
                    form.inline method="post" action={(BASE) "/enterprises/merges/" (m.id) "/undo"} {
                        input type="hidden" name="csrf" value=(user.csrf);
                        button type="submit" { (lang.t("撤销合并", "Undo")) }
                    }
                } }
            } } }
        }
        form #merge-form method="post" action={(BASE) "/enterprises/" (e.credit_code) "/merge"} {
            input type="hidden" name="csrf" value=(user.csrf);
            label { (lang.t("把只有名称的现场合并进本企业", "Merge a name-only site into this enterprise")) " "
                input name="site" list="merge-candidates" size="30"; }
            datalist #merge-candidates { @for c in &h.candidates { option value=(c) {} } }
            button type="submit" { (lang.t("合并", "Merge")) }
        }
        @if !h.candidates.is_empty() {
            p #candidates { (lang.t("可能是本企业的现场：", "Sites that may be this enterprise: ")) (h.candidates.join("、")) }
        }
    };
    layout(lang, user, &e.name, body)
}
