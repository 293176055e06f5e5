//! Pages of the inspection content: pushes to groups (assignments), whistleblower leads, the
//! groups' collections, the rosters and the template library.

use maud::{Markup, html};
use siteproof_core::{Assignment, PushKind, Sector};

use super::{BASE, layout};
use crate::backoffice::dates::{date, date_time};
use crate::backoffice::i18n::Lang;
use crate::backoffice::{
    AssignmentRow, CollectionRow, Expert, Inspector, LeadRow, TemplateEntry, VisitRow, WebUser,
};

fn sector_select(lang: Lang, name: &str, required: bool) -> Markup {
    html! {
        select name=(name) required[required] {
            option value="" { "—" }
            @for s in Sector::ALL { option value=(s.code()) { (lang.sector(s.code())) } }
        }
    }
}

fn sector_boxes(lang: Lang, name: &str) -> Markup {
    html! {
        @for s in Sector::ALL {
            label { input type="checkbox" name=(name) value=(s.code()); " " (lang.sector(s.code())) }
        }
    }
}

fn sector_names(lang: Lang, sectors: &[Sector]) -> String {
    sectors
        .iter()
        .map(|s| lang.sector(s.code()))
        .collect::<Vec<_>>()
        .join("、")
}

/// What the new-push form offers.
pub struct PushChoices<'a> {
    /// Groups of the region.
    pub groups: &'a [String],
    /// The expert pool.
    pub experts: &'a [Expert],
    /// Published template versions.
    pub templates: &'a [TemplateEntry],
}

/// The pushes of the region and the form to make one.
pub fn assignments_page(
    lang: Lang,
    user: &WebUser,
    rows: &[AssignmentRow],
    choices: &PushChoices<'_>,
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
                    tr data-assignment=(r.id) {
                        td { (date_time(r.issued_at)) }
                        td { (r.group) }
                        td { (lang.push_code(&r.kind)) }
                        td { a href={(BASE) "/assignments/" (r.id)} { (r.title) } }
                        td { (r.site.as_deref().unwrap_or("—")) }
                        td { (r.due.map(date).unwrap_or_else(|| "—".into())) }
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
                            @for k in PushKind::ALL { option value=(k.code()) { (lang.push(k)) } }
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

/// One push and the visits started from it.
pub fn assignment_page(
    lang: Lang,
    user: &WebUser,
    row: &AssignmentRow,
    assignment: &Assignment,
    visits: &[VisitRow],
) -> Markup {
    let body = html! {
        p {
            (lang.push(assignment.kind)) " · " (lang.t("督查组", "Group")) " " strong { (row.group) }
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

/// The region's leads.
pub fn leads_page(lang: Lang, user: &WebUser, rows: &[LeadRow]) -> Markup {
    let body = html! {
        p { (lang.t("公众举报入口", "Public reporting form")) ": " a href="/report" { "/report" } }
        table #leads {
            thead { tr {
                th { (lang.t("受理日期", "Received")) } th { (lang.t("被举报单位", "Site")) }
                th { (lang.t("行业领域", "Sector")) } th { (lang.t("状态", "Status")) }
            } }
            tbody {
                @for r in rows {
                    tr data-lead=(r.id) {
                        td { (date(r.received_on)) }
                        td { a href={(BASE) "/leads/" (r.id)} { (r.site) } }
                        td { (r.sector.as_deref().map_or("—", |s| lang.sector(s))) }
                        td.status data-status=(r.status.code()) { (lang.lead_status(r.status.code())) }
                    }
                }
            }
        }
    };
    layout(lang, user, lang.t("举报线索", "Whistleblower leads"), body)
}

/// One lead and, while it is new, the triage forms.
pub fn lead_page(
    lang: Lang,
    user: &WebUser,
    lead: &LeadRow,
    groups: &[String],
    templates: &[TemplateEntry],
) -> Markup {
    let body = html! {
        p {
            (date(lead.received_on)) " · " (lead.sector.as_deref().map_or("—", |s| lang.sector(s)))
            " · " strong #lead-status data-status=(lead.status.code()) { (lang.lead_status(lead.status.code())) }
        }
        p { (lang.t("地址", "Address")) ": " (lead.address) }
        p.body { (lead.description) }
        @if let Some(n) = &lead.triage_note { p { (lang.t("研判意见", "Triage note")) ": " (n) " (" (lead.triaged_by.as_deref().unwrap_or("")) ")" } }
        @if let Some(a) = &lead.assignment { p { a #lead-assignment href={(BASE) "/assignments/" (a)} { (lang.t("转交的推送事项", "The push made from it")) } } }
        @if lead.status.code() == "received" {
            h2 { (lang.t("研判", "Triage")) }
            form #assign-lead method="post" action={(BASE) "/leads/" (lead.id) "/triage"} {
                input type="hidden" name="csrf" value=(user.csrf);
                input type="hidden" name="decision" value="assign";
                fieldset {
                    legend { (lang.t("转交督查组核查", "Pass to a group")) }
                    label { (lang.t("督查组", "Group")) " "
                        select name="group" required { @for g in groups { option value=(g) { (g) } } }
                    }
                    label { (lang.t("检查表", "Checklist")) " "
                        select name="template" {
                            option value="" { "—" }
                            @for t in templates {
                                option value={(t.template.id) "@" (t.template.version)} { (lang.t(&t.template.title.zh, &t.template.title.en)) " v" (t.template.version) }
                            }
                        }
                    }
                    label { (lang.t("期限", "Due")) " " input type="date" name="due"; }
                    label { (lang.t("核查要求", "Instructions")) " " input name="note" size="40"; }
                    button type="submit" { (lang.t("转交", "Pass on")) }
                }
            }
            form #dismiss-lead method="post" action={(BASE) "/leads/" (lead.id) "/triage"} {
                input type="hidden" name="csrf" value=(user.csrf);
                input type="hidden" name="decision" value="dismiss";
                fieldset {
                    legend { (lang.t("不予立项", "Dismiss")) }
                    label { (lang.t("理由", "Reason")) " " input name="note" size="40" required; }
                    button type="submit" { (lang.t("不予立项", "Dismiss")) }
                }
            }
        }
    };
    layout(
        lang,
        user,
        &format!("{} · {}", lang.t("线索", "Lead"), lead.site),
        body,
    )
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

/// The template library: every version, drafts with a publish button, and the import form.
pub fn templates_page(lang: Lang, user: &WebUser, entries: &[TemplateEntry]) -> Markup {
    let body = html! {
        table #templates {
            thead { tr {
                th { (lang.t("编号", "Id")) } th { (lang.t("版本", "Version")) } th { (lang.t("名称", "Title")) }
                th { (lang.t("行业领域", "Sector")) } th { (lang.t("检查项", "Items")) }
                th { (lang.t("依据", "Source")) } th { (lang.t("状态", "State")) }
            } }
            tbody {
                @for e in entries {
                    @let t = &e.template;
                    tr data-template={(t.id) "@" (t.version)} data-state=(e.state.code()) {
                        td { (t.id) } td { (t.version) } td { (lang.t(&t.title.zh, &t.title.en)) }
                        td { (lang.sector(t.sector.code())) } td { (t.items.len()) }
                        td { (t.source.document) " " (t.source.reference) }
                        td {
                            @if e.state.code() == "published" { (lang.t("已发布", "Published")) }
                            @else {
                                (lang.t("草稿", "Draft")) " "
                                form.inline method="post" action={(BASE) "/templates/" (t.id) "/" (t.version) "/publish"} {
                                    input type="hidden" name="csrf" value=(user.csrf);
                                    button type="submit" { (lang.t("发布", "Publish")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        form #import-template method="post" action={(BASE) "/templates"} {
            input type="hidden" name="csrf" value=(user.csrf);
            fieldset {
                legend { (lang.t("导入检查表（JSON，见 content/templates）", "Import a template (JSON, as in content/templates)")) }
                textarea name="json" rows="8" cols="100" required {}
                br; button type="submit" { (lang.t("导入为草稿", "Import as draft")) }
            }
        }
    };
    layout(lang, user, lang.t("检查表库", "Template library"), body)
}
