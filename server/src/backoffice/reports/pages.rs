//! The report page: figures, an inline SVG chart of hazards by sector, overdue and escalated
//! lists.

use maud::{Markup, html};

use super::{Report, ReportKind};
use crate::backoffice::dates::{DAY_MS, date};
use crate::backoffice::i18n::Lang;
use crate::backoffice::layout::{BASE, layout};
use crate::backoffice::{CaseRow, WebUser};

/// A stacked bar per sector (major in red over general in blue), as SVG text. Labels are
/// escaped by maud's `html!` before they are placed.
fn chart(lang: Lang, r: &Report) -> Markup {
    let max = r
        .by_sector
        .iter()
        .map(|s| s.major + s.general)
        .max()
        .unwrap_or(0)
        .max(1);
    let bar_w = 60;
    let height = 200;
    // Room above the tallest bar for its label.
    let top = 20;
    let width = (r.by_sector.len().max(1) * (bar_w + 20) + 40) as i64;
    html! {
        svg #chart xmlns="http://www.w3.org/2000/svg" width=(width) height=(height + top + 60)
            viewBox={"0 " (-top) " " (width) " " (height + top + 60)} role="img"
            aria-label=(lang.t("各行业领域隐患数量", "Hazards by sector")) {
            @for (i, s) in r.by_sector.iter().enumerate() {
                @let x = 30 + (i * (bar_w + 20)) as i64;
                @let hg = s.general * height / max;
                @let hm = s.major * height / max;
                rect x=(x) y=(height - hg) width=(bar_w) height=(hg) fill="#4a78b5" {}
                rect x=(x) y=(height - hg - hm) width=(bar_w) height=(hm) fill="#b00020" {}
                text x=(x + bar_w as i64 / 2) y=(height - hg - hm - 4) text-anchor="middle" font-size="12" { (s.major + s.general) }
                text x=(x + bar_w as i64 / 2) y=(height + 16) text-anchor="middle" font-size="12" { (lang.sector(&s.sector)) }
            }
            line x1="25" y1=(height) x2=(width) y2=(height) stroke="#333" {}
            rect x="30" y=(height + 30) width="12" height="12" fill="#b00020" {}
            text x="46" y=(height + 41) font-size="12" { (lang.severity("major")) }
            rect x="160" y=(height + 30) width="12" height="12" fill="#4a78b5" {}
            text x="176" y=(height + 41) font-size="12" { (lang.severity("general")) }
        }
    }
}

fn case_table(lang: Lang, rows: &[CaseRow], now: i64) -> Markup {
    html! {
        table {
            thead { tr {
                th { (lang.t("被检查单位", "Site")) } th { (lang.t("隐患描述", "Hazard")) }
                th { (lang.t("责任单位", "Unit")) } th { (lang.t("整改期限", "Deadline")) }
                th { (lang.t("超期天数", "Days overdue")) } th { (lang.t("状态", "Status")) }
            } }
            tbody {
                @for r in rows {
                    tr {
                        td { a href={(BASE) "/cases/" (r.id)} { (r.site) } }
                        td { (r.description) }
                        td { (r.unit.as_deref().unwrap_or("—")) }
                        td { (r.deadline.map(date).unwrap_or_else(|| "—".into())) }
                        td { (crate::backoffice::ledger::days_overdue(r, now)) }
                        td { (lang.status(&r.status)) }
                    }
                }
            }
        }
    }
}

/// The report page.
pub fn report_page(lang: Lang, user: &WebUser, r: &Report, day: &str) -> Markup {
    let now = siteproof_core::now();
    let title = match r.kind {
        ReportKind::Daily => lang.t("每日简报", "Daily briefing"),
        ReportKind::HalfMonth => lang.t("半月分析", "Half-month analysis"),
        ReportKind::Month => lang.t("月底总结", "Month-end summary"),
    };
    let body = html! {
        form method="get" action={(BASE) "/reports"} {
            select name="kind" {
                @for k in [ReportKind::Daily, ReportKind::HalfMonth, ReportKind::Month] {
                    option value=(k.code()) selected[k == r.kind] {
                        (match k { ReportKind::Daily => lang.t("每日简报", "Daily"),
                                   ReportKind::HalfMonth => lang.t("半月分析", "Half-month"),
                                   ReportKind::Month => lang.t("月底总结", "Month-end") })
                    }
                }
            }
            " " input type="date" name="date" value=(day);
            " " button type="submit" { (lang.t("生成", "Show")) }
        }
        p { (user.region) " · " (date(r.start)) " – " (date(r.end - DAY_MS)) }
        p {
            a #report-csv href={(BASE) "/reports.csv?kind=" (r.kind.code()) "&date=" (day)} { "CSV" } " · "
            a #report-xlsx href={(BASE) "/reports.xlsx?kind=" (r.kind.code()) "&date=" (day)} { "Excel" } " · "
            a #report-pdf href={(BASE) "/reports.pdf?kind=" (r.kind.code()) "&date=" (day)} { "PDF" }
        }
        table #report-figures {
            @for (i, (label, value)) in r.figures(lang).into_iter().enumerate() {
                tr data-figure=(i) { th { (label) } td { (value) } }
            }
        }
        p #closure-rate-line { (lang.t("销号率", "Closure rate")) ": " span #closure-rate { (r.hazards.closure_rate_text()) }
            " " small { (lang.t("（本期发现隐患中已销号的比例）", "(closed among the hazards found in the period)")) } }
        h2 { (lang.t("各行业领域隐患", "Hazards by sector")) }
        (chart(lang, r))
        h2 { (lang.t("超期未整改", "Overdue")) " (" (r.overdue.len()) ")" }
        (case_table(lang, &r.overdue, now))
        h2 { (lang.t("挂牌督办", "Listed supervision")) " (" (r.escalated.len()) ")" }
        (case_table(lang, &r.escalated, now))
    };
    layout(lang, user, title, body)
}
