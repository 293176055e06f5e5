//! Pages of the assignments: the list with the form to issue one, and one assignment.

use maud::{Markup, html};
use siteproof_core::{Assignment, AssignmentKind};

use crate::backoffice::dates::{date, date_time};
use crate::backoffice::i18n::Lang;
use crate::backoffice::layout::{BASE, layout, sector_select};
use crate::backoffice::{AssignmentRow, Expert, TemplateEntry, VisitRow, WebUser};

/// What the new-assignment form offers.
pub struct AssignmentChoices<'a> {
    /// Groups of the region.
    pub groups: &'a [String],
    /// The expert pool.
    pub experts: &'a [Expert],
    /// Published template versions.
    pub templates: &'a [TemplateEntry],
}

/// The assignments of the region and the form to issue one.
pub fn assignments_page(
    lang: Lang,
    user: &WebUser,
    rows: &[AssignmentRow],
    choices: &AssignmentChoices<'_>,
) -> Markup {
    let body = html! {
        table #assignments {
            thead { tr {
                th { (lang.t("下发时间", "Issued")) } th { (lang.t("督查组", "Group")) }
                th { (lang.t("类别", "Kind")) } th { (lang.t("标题", "Title")) }
                th { (lang.t("检查对象", "Site")) } th { (lang.t("期限", "Due")) }
                th { (lang.t("已开展检查", "Visits")) }
            } }
            tbody {
                @for r in rows {
                    tr data-assignment=(r.issued.id) {
                        td { (date_time(r.issued.issued_at)) }
                        td { (r.issued.group) }
                        td { (lang.assignment_kind_code(&r.issued.kind)) }
                        td { a href={(BASE) "/assignments/" (r.issued.id)} { (r.issued.title) } }
                        td { (r.issued.site.as_deref().unwrap_or("—")) }
                        td { (r.issued.due.map(date).unwrap_or_else(|| "—".into())) }
                        td.visits { (r.visits) }
                    }
                }
            }
        }
        h2 { (lang.t("新建推送", "New push")) }
        form #new-push method="post" action={(BASE) "/assignments"} {
            input type="hidden" name="csrf" value=(user.csrf);
            fieldset {
                p {
                    label { (lang.t("督查组", "Group")) " "
                        select name="group" required {
                            @for g in choices.groups { option value=(g) { (g) } }
                        }
                    }
                    label { (lang.t("类别", "Kind")) " "
                        select name="kind" required {
                            @for k in AssignmentKind::ALL { @if k != AssignmentKind::Reinspection { option value=(k.code()) { (lang.assignment_kind(k)) } } }
                        }
                    }
                    label { (lang.t("行业领域", "Sector")) " " (sector_select(lang, "sector", false)) }
                }
                p { label { (lang.t("标题", "Title")) " " input name="title" size="60" required maxlength="200"; } }
                p { label { (lang.t("内容", "Content")) br; textarea name="body" rows="5" cols="80" {} } }
                p {
                    label { (lang.t("检查对象名称", "Site name")) " " input name="site_name" size="30"; }
                    label { (lang.t("统一社会信用代码", "Credit code")) " " input name="site_credit_code" size="20"; }
                    label { (lang.t("地址", "Address")) " " input name="site_address" size="30"; }
                }
                p {
                    label { (lang.t("检查表", "Checklist")) " "
                        select name="template" {
                            option value="" { "—" }
                            @for t in choices.templates {
                                option value={(t.template.id) "@" (t.template.version)} {
                                    (lang.t(&t.template.title.zh, &t.template.title.en)) " v" (t.template.version)
                                }
                            }
                        }
                    }
                    label { (lang.t("期限", "Due")) " " input type="date" name="due"; }
                }
                @if !choices.experts.is_empty() {
                    p { (lang.t("推荐专家（专家库）", "Experts (from the pool)")) ": "
                        @for e in choices.experts {
                            label { input type="checkbox" name="expert" value=(e.id); " " (e.name) "（" (e.specialty) "）" }
                        }
                    }
                }
                button type="submit" { (lang.t("推送", "Push")) }
            }
        }
    };
    layout(
        lang,
        user,
        lang.t("推送事项（六推送）", "Pushes to groups"),
        body,
    )
}

/// One assignment and the visits started from it.
pub fn assignment_page(
    lang: Lang,
    user: &WebUser,
    row: &AssignmentRow,
    assignment: &Assignment,
    visits: &[VisitRow],
) -> Markup {
    let body = html! {
        p {
            (lang.assignment_kind(assignment.kind)) " · " (lang.t("督查组", "Group")) " " strong { (row.issued.group) }
            " · " (lang.t("下发", "Issued")) " " (date_time(assignment.issued_at)) " " (assignment.issued_by)
            @if let Some(d) = assignment.due { " · " (lang.t("期限", "Due")) " " (date(d)) }
        }
        @if let Some(site) = &assignment.site {
            p { (lang.t("检查对象", "Site")) ": " strong { (site.name) } " " (site.address) " · " (lang.sector(site.sector.code())) }
        }
        @if let Some(t) = &assignment.template { p { (lang.t("检查表", "Checklist")) ": " (t.id) " v" (t.version) } }
        @for para in assignment.body.split("\n\n") { p.body { (para) } }
        @if !assignment.experts.is_empty() {
            h2 { (lang.t("行业专家", "Experts")) }
            ul { @for e in &assignment.experts {
                li { (e.name) " · " (e.specialty) " · " (e.unit) @if let Some(p) = &e.phone { " · " (p) } }
            } }
        }
        @if !assignment.cases.is_empty() {
            h2 { (lang.t("复查的隐患", "Hazards to re-inspect")) }
            ul #reinspection-cases { @for c in &assignment.cases {
                li { a href={(BASE) "/cases/" (c)} { (c) } }
            } }
        }
        @if let Some(lead) = &assignment.lead { p { a href={(BASE) "/leads/" (lead)} { (lang.t("来源线索", "Source lead")) } } }
        h2 { (lang.t("据此开展的检查", "Visits made from it")) }
        @if visits.is_empty() { p #no-visits { (lang.t("尚无", "None yet")) } }
        ul #assignment-visits {
            @for v in visits {
                li { a href={(BASE) "/visits/" (v.id)} { (v.site) } " · " (date_time(v.started_at)) }
            }
        }
    };
    layout(lang, user, &assignment.title, body)
}
