//! The office's pages of the whistleblower leads (the public form's are `public_pages.rs`).

use maud::{Markup, html};

use crate::backoffice::dates::date;
use crate::backoffice::i18n::Lang;
use crate::backoffice::layout::{BASE, layout};
use crate::backoffice::{LeadRow, TemplateEntry, WebUser};

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
