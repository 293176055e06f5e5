//! The hazard ledger (台账) and one case with the forms that drive it to closure.

use std::collections::BTreeSet;

use maud::{Markup, html};
use siteproof_core::{Case, CaseEventKind, CaseStatus};

use super::routes::LedgerQuery;
use super::{days_overdue, escalated};
use crate::backoffice::dates::{date, date_time};
use crate::backoffice::i18n::Lang;
use crate::backoffice::layout::{BASE, layout};
use crate::backoffice::visits::pages::{sector_options, select};
use crate::backoffice::{CaseRow, WebUser};

/// The ledger: its filters, the count of every match, the first rows and the export links
/// (with the same filters).
pub fn ledger_page(
    lang: Lang,
    user: &WebUser,
    q: &LedgerQuery,
    groups: &[String],
    rows: &[CaseRow],
    total: i64,
) -> Markup {
    let now = siteproof_core::now();
    let opt = |v: &str, l: &str| (v.to_string(), l.to_string());
    let sectors = sector_options(lang, user);
    let statuses: Vec<_> = CaseStatus::ALL
        .iter()
        .map(|s| opt(s.code(), lang.status(s.code())))
        .collect();
    let groups: Vec<_> = groups.iter().map(|g| opt(g, g)).collect();
    let any = lang.t("全部", "All");
    let query = q.query_string();
    let body = html! {
        form #ledger-filters method="get" action={(BASE) "/ledger"} {
            label { (lang.t("状态", "Status")) " " (select("status", q.status.as_deref(), any, &statuses)) }
            label { (lang.t("行业领域", "Sector")) " " (select("sector", q.sector.as_deref(), any, &sectors)) }
            label { (lang.t("检查组", "Group")) " " (select("group", q.group.as_deref(), any, &groups)) }
            label { (lang.t("隐患等级", "Severity")) " " (select("severity", q.severity.as_deref(), any,
                &[opt("major", lang.severity("major")), opt("general", lang.severity("general"))])) }
            label { (lang.t("发现日期自", "Found from")) " " input type="date" name="from" value=[q.from.as_deref()]; }
            label { (lang.t("至", "to")) " " input type="date" name="to" value=[q.to.as_deref()]; }
            label { input type="checkbox" name="overdue" value="1" checked[q.filter().overdue]; " " (lang.t("超期", "Overdue")) }
            label { input type="checkbox" name="listed" value="1" checked[q.filter().listed]; " " (lang.t("挂牌督办", "Listed")) }
            button type="submit" { (lang.t("筛选", "Filter")) }
            " · " a #csv href={(BASE) "/ledger.csv?" (query)} { (lang.t("导出 CSV", "Export CSV")) }
            " · " a #xlsx href={(BASE) "/ledger.xlsx?" (query)} { (lang.t("导出 Excel", "Export XLSX")) }
        }
        p { (lang.t("共", "Total")) " " strong #case-count { (total) }
            @if total > rows.len() as i64 { " · " (lang.t("显示前", "showing the first")) " " (rows.len()) } }
        table #ledger {
            thead { tr {
                th { (lang.t("发现日期", "Found")) } th { (lang.t("被检查单位", "Site")) }
                th { (lang.t("检查组", "Group")) }
                th { (lang.t("行业领域", "Sector")) } th { (lang.t("等级", "Severity")) }
                th { (lang.t("隐患描述", "Hazard")) } th { (lang.t("责任单位", "Responsible unit")) }
                th { (lang.t("整改期限", "Deadline")) } th { (lang.t("超期天数", "Days overdue")) }
                th { (lang.t("状态", "Status")) }
            } }
            tbody {
                @for r in rows {
                    tr data-case=(r.id) data-status=(r.status) {
                        td { (date(r.opened_at)) }
                        td { a href={(BASE) "/cases/" (r.id)} { (r.site) } }
                        td { (r.group) }
                        td { (lang.sector(&r.sector)) }
                        td { @if r.severity == "major" { span.major { (lang.severity("major")) } } @else { (lang.severity("general")) } }
                        td { (r.description) }
                        td { (r.unit.as_deref().unwrap_or("—")) }
                        td { (r.deadline.map(date).unwrap_or_else(|| "—".into())) }
                        td { @let d = days_overdue(r, now); @if d > 0 { span.overdue { (d) } } @else { "0" } }
                        td.status {
                            (lang.status(&r.status))
                            @if escalated(r, now) { " " span.flag { (lang.t("挂牌督办", "Listed")) } }
                        }
                    }
                }
            }
        }
    };
    layout(
        lang,
        user,
        lang.t("问题隐患治理台账", "Hazard ledger"),
        body,
    )
}

fn event_form(lang: Lang, user: &WebUser, case: &Case, kind: CaseEventKind) -> Markup {
    let upload =
        (kind == CaseEventKind::Rectified).then(|| format!("{BASE}/cases/{}/evidence", case.id));
    html! {
        form.event method="post" action={(BASE) "/cases/" (case.id) "/events"} data-kind=(kind.code()) data-upload=[upload] {
            fieldset {
                legend { (lang.event(kind)) }
                input type="hidden" name="csrf" value=(user.csrf);
                input type="hidden" name="kind" value=(kind.code());
                @if kind == CaseEventKind::Ordered {
                    label { (lang.t("责任单位", "Responsible unit")) " " input name="unit" required; }
                    label { (lang.t("整改期限", "Deadline")) " " input type="date" name="deadline" required; }
                }
                @if kind == CaseEventKind::Rectified {
                    label { (lang.t("整改证据（照片或 PDF）", "Evidence (photos or PDFs)")) " "
                        input type="file" multiple accept="image/jpeg,image/png,application/pdf"; }
                    input type="hidden" name="media";
                    span.upload-error {}
                }
                label { (lang.t("说明", "Note")) " " input name="note" size="40"; }
                button type="submit" { (lang.event(kind)) }
            }
        }
    }
}

/// One case: its facts, its history, and a form for each event the lifecycle allows now.
pub fn case_page(
    lang: Lang,
    user: &WebUser,
    row: &CaseRow,
    case: &Case,
    uploads: &BTreeSet<String>,
) -> Markup {
    let now = siteproof_core::now();
    let body = html! {
        p {
            (lang.sector(&row.sector)) " · "
            @if row.severity == "major" { span.major { (lang.severity("major")) } } @else { (lang.severity("general")) }
            " · " a href={(BASE) "/visits/" (row.visit_id)} { (lang.t("来源检查", "Source visit")) }
        }
        p { (case.description) }
        @if case.fixed_on_spot { p #fixed-on-spot { (lang.t("检查时已立行立改，证据见来源检查。", "Fixed on the spot during the visit; the evidence is in the source visit.")) } }
        p {
            (lang.t("状态", "Status")) ": " strong #case-status data-status=(case.status().code()) { (lang.status(case.status().code())) }
            @if case.is_escalated(now) { " " span.flag { (lang.t("挂牌督办", "Listed supervision")) } }
            @if let Some(d) = case.deadline() { " · " (lang.t("整改期限", "Deadline")) ": " (date(d)) }
            @if case.days_overdue(now) > 0 { " · " span.overdue { (lang.t("超期", "Overdue")) " " (case.days_overdue(now)) " " (lang.t("天", "days")) } }
        }
        p { a #notice href={(BASE) "/cases/" (case.id) "/notice.pdf"} { (lang.t("整改通知书 (PDF)", "Rectification notice (PDF)")) } }
        h2 { (lang.t("处理记录", "History")) }
        table #events {
            thead { tr { th { (lang.t("时间", "At")) } th { (lang.t("事项", "Event")) } th { (lang.t("操作人", "By")) } th { (lang.t("内容", "Details")) } } }
            tbody {
                @for e in &case.events {
                    tr {
                        td { (date_time(e.at)) }
                        td { (lang.event(e.kind)) }
                        td { (e.by) }
                        td {
                            @if let Some(u) = &e.unit { (lang.t("责任单位", "Unit")) ": " (u) " " }
                            @if let Some(d) = e.deadline { (lang.t("期限", "Deadline")) ": " (date(d)) " " }
                            @if let Some(n) = &e.note { (n) " " }
                            @for m in &e.media {
                                @let through = if uploads.contains(m.as_str()) { case.id.as_str() } else { case.visit.as_str() };
                                a.evidence href={"/v1/media/" (m) "?record=" (through)} { (&m.as_str()[..8]) } " "
                            }
                        }
                    }
                }
            }
        }
        @if !uploads.is_empty() {
            h2 { (lang.t("整改证据", "Rectification evidence")) }
            ul #uploads { @for h in uploads { li { a.evidence href={"/v1/media/" (h) "?record=" (case.id)} { (&h[..12]) } } } }
        }
        h2 { (lang.t("办理", "Actions")) }
        @for kind in CaseEventKind::ALL {
            @if kind != CaseEventKind::Opened && case.allows(kind) { (event_form(lang, user, case, kind)) }
        }
    };
    layout(
        lang,
        user,
        &format!("{} · {}", lang.t("隐患", "Case"), row.site),
        body,
    )
}
