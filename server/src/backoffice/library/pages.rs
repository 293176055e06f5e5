//! The template library page.

use maud::{Markup, html};

use crate::backoffice::i18n::Lang;
use crate::backoffice::layout::{BASE, layout};
use crate::backoffice::{TemplateEntry, WebUser};

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
