//! The visit list with its filters and counts, and one visit: answers (conflicts flagged),
//! findings with evidence, the photo viewer and the video player.

use maud::{Markup, html};
use siteproof_core::{AnswerValue, MediaKind, Sector};

use super::{PAGE_SIZE, severity_code};
use crate::backoffice::dates::{date, date_time};
use crate::backoffice::i18n::Lang;
use crate::backoffice::layout::{BASE, layout};
use crate::backoffice::{VisitCounts, VisitDetail, VisitRow, WebUser};
use crate::identity::visibility::{Unsectored, Visibility};

/// The filter values as the form sent them (echoed back into the form).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct FilterForm {
    /// `YYYY-MM-DD`.
    pub from: Option<String>,
    /// `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// Group id.
    pub group: Option<String>,
    /// Sector code.
    pub sector: Option<String>,
    /// Mode code.
    pub mode: Option<String>,
    /// Severity code.
    pub severity: Option<String>,
    /// Status code.
    pub status: Option<String>,
    /// Page number from 0.
    pub page: Option<i64>,
}

/// A `<select>` with an "any" option first and `current` selected.
pub(crate) fn select(
    name: &str,
    current: Option<&str>,
    any: &str,
    options: &[(String, String)],
) -> Markup {
    html! {
        select name=(name) {
            option value="" { (any) }
            @for (value, label) in options {
                option value=(value) selected[current == Some(value.as_str())] { (label) }
            }
        }
    }
}

/// The sectors the user sees, as options of a filter.
pub(crate) fn sector_options(lang: Lang, user: &WebUser) -> Vec<(String, String)> {
    let policy = Visibility::user(user);
    Sector::ALL
        .iter()
        .filter(|s| policy.sees_sector(Some(**s), Unsectored::Hidden))
        .map(|s| (s.code().to_owned(), lang.sector(s.code()).to_owned()))
        .collect()
}

/// The visit list.
pub fn visits_page(
    lang: Lang,
    user: &WebUser,
    form: &FilterForm,
    groups: &[String],
    rows: &[VisitRow],
    counts: &VisitCounts,
) -> Markup {
    let opt = |v: &str, l: &str| (v.to_string(), l.to_string());
    let sectors = sector_options(lang, user);
    let groups: Vec<_> = groups.iter().map(|g| opt(g, g)).collect();
    let page = form.page.unwrap_or(0).max(0);
    let body = html! {
        form #filters method="get" action={(BASE) "/visits"} {
            label { (lang.t("开始日期", "From")) " " input type="date" name="from" value=[form.from.as_deref()]; }
            label { (lang.t("结束日期", "To")) " " input type="date" name="to" value=[form.to.as_deref()]; }
            label { (lang.t("检查组", "Group")) " " (select("group", form.group.as_deref(), lang.t("全部", "All"), &groups)) }
            label { (lang.t("行业领域", "Sector")) " " (select("sector", form.sector.as_deref(), lang.t("全部", "All"), &sectors)) }
            label { (lang.t("方式", "Mode")) " " (select("mode", form.mode.as_deref(), lang.t("全部", "All"),
                &[opt("covert", lang.mode("covert")), opt("announced", lang.mode("announced"))])) }
            label { (lang.t("隐患等级", "Severity")) " " (select("severity", form.severity.as_deref(), lang.t("全部", "All"),
                &[opt("major", lang.severity("major")), opt("general", lang.severity("general"))])) }
            label { (lang.t("状态", "Status")) " " (select("status", form.status.as_deref(), lang.t("全部", "All"),
                &[opt("in_progress", lang.t("进行中", "In progress")), opt("ended", lang.t("已结束", "Ended"))])) }
            button type="submit" { (lang.t("筛选", "Filter")) }
        }
        p.counts #counts {
            span { (lang.t("检查次数", "Visits")) ": " strong #count-visits { (counts.visits) } }
            span { (lang.t("暗访", "Covert")) ": " strong { (counts.covert) } }
            span { (lang.t("明查", "Announced")) ": " strong { (counts.visits - counts.covert) } }
            span { (lang.t("重大隐患", "Major hazards")) ": " strong.major { (counts.major) } }
            span { (lang.t("一般隐患", "General hazards")) ": " strong { (counts.general) } }
        }
        table #visits {
            thead { tr {
                th { (lang.t("检查时间", "Started")) } th { (lang.t("被检查单位", "Site")) }
                th { (lang.t("行业领域", "Sector")) } th { (lang.t("方式", "Mode")) }
                th { (lang.t("检查组", "Group")) } th { (lang.t("重大/一般隐患", "Major/general")) }
                th { (lang.t("冲突", "Conflicts")) } th { (lang.t("状态", "Status")) }
            } }
            tbody {
                @for v in rows {
                    tr {
                        td { (date_time(v.started_at)) }
                        td { a href={(BASE) "/visits/" (v.id)} { (v.site) } }
                        td { (lang.sector(&v.sector)) }
                        td { (lang.mode(&v.mode)) }
                        td { (v.group) }
                        td { span.major { (v.major) } " / " (v.general) }
                        td { @if v.conflicts > 0 { span.flag { (v.conflicts) } } @else { "0" } }
                        td { @if v.ended_at.is_some() { (lang.t("已结束", "Ended")) } @else { (lang.t("进行中", "In progress")) } }
                    }
                }
            }
        }
        @if counts.visits > (page + 1) * PAGE_SIZE {
            p { a href={"?page=" (page + 1) "&from=" (form.from.as_deref().unwrap_or("")) "&to=" (form.to.as_deref().unwrap_or(""))
                "&group=" (form.group.as_deref().unwrap_or("")) "&sector=" (form.sector.as_deref().unwrap_or(""))
                "&mode=" (form.mode.as_deref().unwrap_or("")) "&severity=" (form.severity.as_deref().unwrap_or(""))
                "&status=" (form.status.as_deref().unwrap_or(""))} { (lang.t("下一页", "Next page")) } }
        }
    };
    layout(lang, user, lang.t("检查记录", "Visits"), body)
}

fn answer_text(lang: Lang, value: &AnswerValue) -> String {
    match value {
        AnswerValue::Pass => lang.t("符合", "Pass").into(),
        AnswerValue::Fail => lang.t("不符合", "Fail").into(),
        AnswerValue::NotApplicable => lang.t("不适用", "N/A").into(),
        AnswerValue::Number(n) => n.to_string(),
        AnswerValue::Text(t) | AnswerValue::Choice(t) => t.clone(),
    }
}

/// Thumbnails, photo links and video players for some media of a visit.
fn evidence(lang: Lang, d: &VisitDetail, hashes: &[String]) -> Markup {
    let id = d.visit.id.to_string();
    html! {
        @for h in hashes {
            @if d.pending.contains(h) {
                span.pending data-pending=(h) { (lang.t("证据上传中", "Evidence still uploading")) " " (&h[..8.min(h.len())]) } " "
            } @else {
                @match d.visit.media.get(h).map(|m| m.kind) {
                    Some(MediaKind::Video) => {
                        video controls preload="metadata" width="320" src={"/v1/media/" (h) "?record=" (id)} {}
                    }
                    Some(MediaKind::Audio) => {
                        audio controls preload="metadata" src={"/v1/media/" (h) "?record=" (id)} {}
                    }
                    _ => {
                        a data-viewer href={"/v1/media/" (h) "?record=" (id)} {
                            img.thumb loading="lazy" alt=(lang.t("现场照片", "Photo")) src={"/v1/media/" (h) "/thumbnail?record=" (id)};
                        }
                    }
                }
                " "
                @let status = d.evidence.get(h).map_or("unverified", String::as_str);
                span class={"ev ev-" (status)} data-evidence=(status) { (lang.evidence_status(status)) }
                " "
            }
        }
    }
}

/// One visit.
pub fn visit_page(lang: Lang, user: &WebUser, d: &VisitDetail) -> Markup {
    let v = &d.visit;
    let conflicted: std::collections::HashMap<&str, _> =
        d.conflicts.iter().map(|c| (c.item.as_str(), c)).collect();
    let all_media: Vec<String> = v.media.keys().cloned().collect();
    let body = html! {
        p {
            (lang.mode(v.mode.code())) " · " (lang.sector(v.site.sector.code())) " · " (v.site.address)
            " · " (lang.t("检查组", "Group")) " " (v.scope.group) " · " (v.team.join("、"))
            " · " (date_time(v.started_at))
            @if let Some(end) = v.ended_at { " – " (date_time(end)) }
        }
        @if !d.conflicts.is_empty() {
            p.error #conflicts { (lang.t("有检查项存在相互冲突的答案，请核实。", "Some items have conflicting answers; check them.")) " (" (d.conflicts.len()) ")" }
        }
        h2 { (lang.t("检查项", "Answers")) }
        table #answers {
            thead { tr { th { (lang.t("检查项", "Item")) } th { (lang.t("结果", "Answer")) } th { (lang.t("检查人", "By")) } th { (lang.t("时间", "At")) } th { (lang.t("证据", "Evidence")) } } }
            tbody {
                @for (item, a) in &v.answers {
                    @let text = d.template.as_ref()
                        .and_then(|t| t.items.iter().find(|i| i.id.as_str() == item.as_str()))
                        .map(|i| lang.t(&i.text.zh, &i.text.en).to_owned())
                        .unwrap_or_else(|| item.clone());
                    @if let Some(c) = conflicted.get(item.as_str()) {
                        tr.conflict data-conflict=(item) {
                            td { (text) " " span.flag { (lang.t("冲突", "Conflict")) } }
                            td { @for other in &c.answers { div { (answer_text(lang, &other.value)) " — " (other.by) @if let Some(n) = &other.note { " (" (n) ")" } } } }
                            td { @for other in &c.answers { div { (other.by) } } }
                            td { @for other in &c.answers { div { (date_time(other.at)) } } }
                            td { (evidence(lang, d, &a.media.iter().map(ToString::to_string).collect::<Vec<_>>())) }
                        }
                    } @else {
                        tr {
                            td { (text) }
                            td { (answer_text(lang, &a.value)) @if let Some(n) = &a.note { " (" (n) ")" } }
                            td { (a.by) }
                            td { (date_time(a.at)) }
                            td { (evidence(lang, d, &a.media.iter().map(ToString::to_string).collect::<Vec<_>>())) }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("发现的隐患", "Findings")) }
        table #findings {
            thead { tr { th { (lang.t("隐患", "Finding")) } th { (lang.t("等级", "Severity")) } th { (lang.t("证据", "Evidence")) } th { (lang.t("台账", "Case")) } } }
            tbody {
                @for (fid, f) in &v.findings {
                    tr data-finding=(fid) {
                        td {
                            (f.description)
                            @if f.fixed_on_spot { " · " (lang.t("立行立改", "Fixed on the spot")) }
                            @if let Some(m) = &f.interim_measures { " · " (lang.t("防控措施", "Interim measures")) ": " (m) }
                            br; small { (f.by) " · " (date(f.at)) }
                        }
                        td { @if severity_code(f.severity) == "major" { span.major { (lang.severity("major")) } } @else { (lang.severity("general")) } }
                        td { (evidence(lang, d, &f.media.iter().map(ToString::to_string).collect::<Vec<_>>())) }
                        td {
                            @if let Some((case, status)) = d.cases.get(fid) {
                                a.case-link href={(BASE) "/cases/" (case)} data-status=(status) { (lang.status(status)) }
                            }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("全部证据", "All evidence")) }
        div #media { (evidence(lang, d, &all_media)) }
    };
    layout(lang, user, &v.site.name, body)
}
