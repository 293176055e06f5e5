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
use crate::backoffice::{CaseRow, ReinspectionRow, WebUser};

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
        form #reinspection-form method="post" action={(BASE) "/ledger/reinspection"} {
            input type="hidden" name="csrf" value=(user.csrf);
            label { (lang.t("复查要求", "Re-inspection instructions")) " " input name="note" size="30"; }
            label { (lang.t("完成期限", "Due")) " " input type="date" name="due"; }
            button type="submit" { (lang.t("对勾选的隐患派发复查", "Send a re-inspection of the ticked hazards")) }
        }
        p { (lang.t("共", "Total")) " " strong #case-count { (total) }
            @if total > rows.len() as i64 { " · " (lang.t("显示前", "showing the first")) " " (rows.len()) } }
        table #ledger {
            thead { tr {
                th { (lang.t("复查", "Re-inspect")) }
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
                        td { @if r.status != "closed" { input type="checkbox" form="reinspection-form" name="case" value=(r.id); } }
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

/// What a case page shows besides the case: files uploaded to it and re-inspection results.
pub struct CaseShown<'a> {
    /// Rectification evidence uploaded in the browser (hashes).
    pub uploads: &'a BTreeSet<String>,
    /// Re-inspection (复查) results from phones, oldest first.
    pub results: &'a [ReinspectionRow],
}

/// The re-inspection results with their photos, a button to verify by one that found the
/// hazard rectified, and the form that sends a re-inspection.
fn reinspection_section(
    lang: Lang,
    user: &WebUser,
    case: &Case,
    results: &[ReinspectionRow],
) -> Markup {
    let open = case.status() != CaseStatus::Closed;
    html! {
        h2 { (lang.t("复查", "Re-inspection")) }
        @if !results.is_empty() {
            table #reinspections {
                thead { tr { th { (lang.t("时间", "At")) } th { (lang.t("复查人", "Inspector")) } th { (lang.t("结论", "Outcome")) } th { (lang.t("说明", "Note")) } th { (lang.t("照片", "Photos")) } th {} } }
                tbody {
                    @for r in results {
                        tr.reinspection data-result=(r.id) data-outcome=(r.outcome) {
                            td { (date_time(r.at)) }
                            td { (r.by) }
                            td { @if r.outcome == "rectified" { (lang.t("已整改", "Rectified")) } @else { span.overdue { (lang.t("未整改", "Not rectified")) } } }
                            td { (r.note.as_deref().unwrap_or("")) }
                            td { @for m in &r.media {
                                a.evidence href={"/v1/media/" (m) "?record=" (r.visit_id)} {
                                    img.reinspection-photo src={"/v1/media/" (m) "?record=" (r.visit_id)} alt=(&m[..8]) width="120";
                                } " "
                            } }
                            td { @if r.outcome == "rectified" && case.allows_verification_on_site() {
                                form method="post" action={(BASE) "/cases/" (case.id) "/reinspections/" (r.id) "/verify"} {
                                    input type="hidden" name="csrf" value=(user.csrf);
                                    button.verify-reinspection type="submit" { (lang.t("据此核查通过", "Verify by this")) }
                                }
                            } }
                        }
                    }
                }
            }
        }
        @if open {
            form #send-reinspection method="post" action={(BASE) "/ledger/reinspection"} {
                input type="hidden" name="csrf" value=(user.csrf);
                input type="hidden" name="case" value=(case.id);
                label { (lang.t("要求", "Instructions")) " " input name="note" size="40"; }
                label { (lang.t("完成期限", "Due")) " " input type="date" name="due"; }
                button type="submit" { (lang.t("派发复查", "Send a re-inspection")) }
            }
        }
    }
}

/// One case: its facts, its history, re-inspections, and a form for each event the
/// lifecycle allows now.
pub fn case_page(
    lang: Lang,
    user: &WebUser,
    row: &CaseRow,
    case: &Case,
    shown: &CaseShown<'_>,
) -> Markup {
    let now = siteproof_core::now();
    let uploads = shown.uploads;
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
        (reinspection_section(lang, user, case, shown.results))
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
