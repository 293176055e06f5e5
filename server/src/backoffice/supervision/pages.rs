//! Pages of tiered supervision: the tier view, the lists with the audit, and planning.

use maud::{Markup, html};
use siteproof_core::Tier;

use super::routes::TierQuery;
use super::{EnterpriseRisk, KeySource, ListEntry, Proposal, SupervisionLists};
use crate::backoffice::WebUser;
use crate::backoffice::dates;
use crate::backoffice::i18n::Lang;
use crate::backoffice::layout::{BASE, layout};

/// At most this many enterprises are listed per page section (the counts cover all).
const SHOWN: usize = 300;

fn tier_name(lang: Lang, t: Tier) -> &'static str {
    match t {
        Tier::A => lang.t("A 级（重点监管）", "A (key supervision)"),
        Tier::B => lang.t("B 级", "B"),
        Tier::C => lang.t("C 级", "C"),
        Tier::D => lang.t("D 级", "D"),
    }
}

fn reasons(lang: Lang, e: &EnterpriseRisk) -> Markup {
    html! {
        ul.reasons {
            @for r in &e.risk.reasons {
                li data-rule=(r.rule.code()) { (lang.t(&r.zh, &r.en)) " +" (r.points) }
            }
        }
    }
}

/// The enterprise's name, a link to its page when it is registered.
fn name_link(e: &EnterpriseRisk) -> Markup {
    html! {
        @if e.facts.registered {
            a.enterprise href={(BASE) "/enterprises/" (e.facts.credit_code)} { (e.facts.name) }
        } @else { (e.facts.name) }
    }
}

fn marks(lang: Lang, e: &EnterpriseRisk) -> Markup {
    html! {
        @if e.blacklisted { " " span.flag.blacklisted { (lang.t("黑名单", "Blacklisted")) } }
        @if e.key_listed { " " span.flag.key-listed { (lang.t("重点监管", "Key list")) } }
    }
}

fn since(lang: Lang, days: Option<u32>) -> String {
    match days {
        Some(d) => format!("{d} {}", lang.t("天", "days")),
        None => lang.t("从未暗访", "never").to_owned(),
    }
}

/// An enterprise's tier, score, reasons and list marks, for its page in the registry
/// (`None`: nothing to score).
pub fn risk_panel(lang: Lang, risk: Option<&EnterpriseRisk>) -> Markup {
    html! {
        section #risk {
            h2 { (lang.t("分级监管", "Supervision tier")) }
            @if let Some(e) = risk {
                p { span #tier data-tier=(e.risk.tier.code()) { (tier_name(lang, e.risk.tier)) }
                    " · " (lang.t("分值", "score")) " " strong #score { (e.risk.score) } (marks(lang, e))
                    " · " (lang.t("距上次暗访", "since covert visit")) " " (since(lang, e.days_since_covert)) }
                (reasons(lang, e))
                p { a href={(BASE) "/supervision/lists"} { (lang.t("重点监管企业名单与黑名单", "Key list and blacklist")) } }
            } @else {
                p { (lang.t("尚无可评分的记录。", "Nothing to score yet.")) }
            }
        }
    }
}

/// Enterprises by tier, each with its score and reasons, with the filters.
pub fn tier_page(
    lang: Lang,
    user: &WebUser,
    rows: &[EnterpriseRisk],
    groups: &[String],
    q: &TierQuery,
) -> Markup {
    let selected = |v: &Option<String>, x: &str| v.as_deref() == Some(x);
    let body = html! {
        p { a href={(BASE) "/supervision/lists"} { (lang.t("重点监管企业名单与黑名单", "Key list and blacklist")) }
            " · " a href={(BASE) "/planning"} { (lang.t("暗访计划", "Planning")) }
            " · " (lang.t("评分规则见 docs/supervision.md", "Scoring rules: docs/supervision.md")) }
        form #filters method="get" {
            label { (lang.t("行业", "Sector")) " "
                select name="sector" {
                    option value="" { "—" }
                    @for s in siteproof_core::Sector::ALL {
                        option value=(s.code()) selected[selected(&q.sector, s.code())] { (lang.sector(s.code())) }
                    }
                }
            }
            label { (lang.t("片区（督查组）", "Area (group)")) " "
                select name="group" {
                    option value="" { "—" }
                    @for g in groups { option value=(g) selected[selected(&q.group, g)] { (g) } }
                }
            }
            label { (lang.t("等级", "Tier")) " "
                select name="tier" {
                    option value="" { "—" }
                    @for t in Tier::ALL { option value=(t.code()) selected[selected(&q.tier, t.code())] { (t.code()) } }
                }
            }
            button type="submit" { (lang.t("筛选", "Filter")) }
        }
        p.counts {
            @for t in Tier::ALL {
                span data-tier-count=(t.code()) { (tier_name(lang, t)) "：" (rows.iter().filter(|e| e.risk.tier == t).count()) }
            }
        }
        @for t in Tier::ALL {
            @let of_tier: Vec<&EnterpriseRisk> = rows.iter().filter(|e| e.risk.tier == t).collect();
            @if !of_tier.is_empty() {
                h2 { (tier_name(lang, t)) }
                @if of_tier.len() > SHOWN {
                    p { (lang.t("仅显示前", "Showing the first")) " " (SHOWN) " / " (of_tier.len()) }
                }
                table.tier data-tier=(t.code()) {
                    thead { tr {
                        th { (lang.t("企业", "Enterprise")) } th { (lang.t("统一社会信用代码", "Credit code")) }
                        th { (lang.t("行业", "Sector")) } th { (lang.t("片区", "Area")) }
                        th { (lang.t("距上次暗访", "Since covert visit")) }
                        th { (lang.t("分值", "Score")) } th { (lang.t("原因", "Reasons")) }
                    } }
                    tbody {
                        @for e in of_tier.iter().take(SHOWN) {
                            tr data-enterprise=(e.facts.credit_code) {
                                td { (name_link(e)) (marks(lang, e)) }
                                td { (e.facts.credit_code) }
                                td { (lang.sector(&e.facts.sector)) }
                                td { (e.facts.group) }
                                td { (since(lang, e.days_since_covert)) }
                                td.score { (e.risk.score) }
                                td { (reasons(lang, e)) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(
        lang,
        user,
        lang.t("分级分类监管", "Tiered supervision"),
        body,
    )
}

fn entry_row(lang: Lang, user: &WebUser, e: &ListEntry, remove: &str) -> Markup {
    html! {
        tr data-entry=(e.id) {
            td { (e.name) } td { (e.credit_code) } td { (e.reason) }
            td { (e.decided_on.map(dates::date).unwrap_or_else(|| dates::date(e.added_at))) }
            td { (e.added_by) }
            td {
                @if let (Some(by), Some(at)) = (&e.removed_by, e.removed_at) {
                    (lang.t("已移出", "Removed")) " " (dates::date(at)) " · " (by) " · " (e.removed_reason.as_deref().unwrap_or(""))
                } @else {
                    form.inline.remove method="post" action=(remove) {
                        input type="hidden" name="csrf" value=(user.csrf);
                        input name="reason" required placeholder=(lang.t("移出原因", "Why it comes off"));
                        button type="submit" { (lang.t("移出", "Remove")) }
                    }
                }
            }
        }
    }
}

/// The key-supervision list, the blacklist, their forms and the audit.
pub fn lists_page(lang: Lang, user: &WebUser, lists: &SupervisionLists) -> Markup {
    let body = html! {
        p { a href={(BASE) "/supervision"} { (lang.t("分级视图", "Tier view")) } }
        h2 { (lang.t("重点监管企业名单", "Key-supervision list")) }
        p #key-list-count { (lang.t("共", "In all:")) " " (lists.key_list.len())
            @if lists.key_list.len() > SHOWN { " · " (lang.t("仅显示前", "showing the first")) " " (SHOWN) } }
        table #key-list {
            thead { tr {
                th { (lang.t("企业", "Enterprise")) } th { (lang.t("统一社会信用代码", "Credit code")) }
                th { (lang.t("等级", "Tier")) } th { (lang.t("列入依据（谁、为何）", "Why and by whom")) }
            } }
            tbody {
                @for (e, sources) in lists.key_list.iter().take(SHOWN) {
                    tr data-enterprise=(e.facts.credit_code) {
                        td { (name_link(e)) } td { (e.facts.credit_code) }
                        td { (e.risk.tier.code()) " · " (e.risk.score) }
                        td { ul {
                            @for s in sources {
                                @match s {
                                    KeySource::Tier => li data-source="tier" {
                                        (lang.t("分级规则（A 级）", "Tier rule (A)")) "："
                                        @for r in &e.risk.reasons { (lang.t(&r.zh, &r.en)) " +" (r.points) "；" }
                                    },
                                    KeySource::Blacklist => li data-source="blacklist" { (lang.t("列入黑名单", "Blacklisted")) },
                                    KeySource::Manual(m) => li data-source="manual" {
                                        (lang.t("人工列入", "Entered by")) " " (m.added_by) " · " (dates::date(m.added_at)) "：" (m.reason) " "
                                        form.inline.remove method="post" action={(BASE) "/supervision/key-list/" (m.id) "/remove"} {
                                            input type="hidden" name="csrf" value=(user.csrf);
                                            input name="reason" required placeholder=(lang.t("移出原因", "Why it comes off"));
                                            button type="submit" { (lang.t("移出", "Remove")) }
                                        }
                                    },
                                }
                            }
                        } }
                    }
                }
            }
        }
        form #new-key-entry method="post" action={(BASE) "/supervision/key-list"} {
            input type="hidden" name="csrf" value=(user.csrf);
            fieldset {
                legend { (lang.t("人工列入重点监管", "Enter on the key list by hand")) }
                label { (lang.t("统一社会信用代码", "Credit code")) " " input name="credit_code" required size="20"; }
                label { (lang.t("原因", "Reason")) " " input name="reason" required size="40"; }
                button type="submit" { (lang.t("列入", "Enter")) }
            }
        }
        @if !lists.key_list_closed.is_empty() {
            h3 { (lang.t("已移出的人工条目", "Manual entries taken off")) }
            table #key-list-closed { tbody {
                @for e in &lists.key_list_closed { (entry_row(lang, user, e, "")) }
            } }
        }
        h2 { (lang.t("黑名单", "Blacklist")) }
        p { (lang.t(
            "屡禁不止、屡罚不改的企业列入黑名单。移出：由审核员或管理员填写移出原因（如整改经复查确认、一年内无重复问题），条目保留并记录谁、何时、为何移出。",
            "Enterprises that repeat violations. The way off: a reviewer or administrator removes the entry stating why (for example rectification verified on a re-inspection and no repeat finding for a year); the entry is kept with who removed it, when and why."
        )) }
        table #blacklist {
            thead { tr {
                th { (lang.t("企业", "Enterprise")) } th { (lang.t("统一社会信用代码", "Credit code")) }
                th { (lang.t("原因", "Reason")) } th { (lang.t("决定日期", "Decided on")) }
                th { (lang.t("决定人", "Decided by")) } th { (lang.t("状态", "State")) }
            } }
            tbody {
                @for e in &lists.blacklist {
                    (entry_row(lang, user, e, &format!("{BASE}/supervision/blacklist/{}/remove", e.id)))
                }
            }
        }
        form #new-blacklist method="post" action={(BASE) "/supervision/blacklist"} {
            input type="hidden" name="csrf" value=(user.csrf);
            fieldset {
                legend { (lang.t("列入黑名单", "Blacklist an enterprise")) }
                label { (lang.t("统一社会信用代码", "Credit code")) " " input name="credit_code" required size="20"; }
                label { (lang.t("原因", "Reason")) " " input name="reason" required size="40"; }
                label { (lang.t("决定日期", "Decided on")) " " input name="decided_on" type="date"; }
                button type="submit" { (lang.t("列入", "Blacklist")) }
            }
        }
        h2 { (lang.t("变更记录", "Audit of changes")) }
        table #audit {
            thead { tr {
                th { (lang.t("时间", "When")) } th { (lang.t("操作人", "Who")) } th { (lang.t("名单", "List")) }
                th { (lang.t("操作", "What")) } th { (lang.t("企业", "Enterprise")) } th { (lang.t("原因", "Why")) }
            } }
            tbody {
                @for a in &lists.audit {
                    tr data-list=(a.list) data-action=(a.action) {
                        td { (dates::date_time(a.at)) } td { (a.by) }
                        td { (if a.list == "blacklist" { lang.t("黑名单", "Blacklist") } else { lang.t("重点监管", "Key list") }) }
                        td { (if a.action == "add" { lang.t("列入", "Added") } else { lang.t("移出", "Removed") }) }
                        td { (a.name) " (" (a.credit_code) ")" } td { (a.reason) }
                    }
                }
            }
        }
    };
    layout(
        lang,
        user,
        lang.t("重点监管与黑名单", "Key list and blacklist"),
        body,
    )
}

/// Proposed covert visits for a group, to tick and send as planned-target pushes.
pub fn planning_page(
    lang: Lang,
    user: &WebUser,
    groups: &[String],
    group: Option<&str>,
    whole: bool,
    proposals: &[Proposal],
) -> Markup {
    let body = html! {
        form #planning-filter method="get" {
            label { (lang.t("督查组", "Group")) " "
                select name="group" {
                    @for g in groups { option value=(g) selected[group == Some(g.as_str())] { (g) } }
                }
            }
            label { input type="checkbox" name="all" value="1" checked[whole]; " " (lang.t("全区域（不限本组片区）", "Whole region (not only the group's area)")) }
            button type="submit" { (lang.t("生成建议", "Propose")) }
        }
        p { (lang.t(
            "按等级与距上次暗访的时间建议：A 级每 30 天、B 级每 90 天、C 级每 180 天、D 级每 365 天至少暗访一次；重点监管和黑名单企业总在建议中。",
            "Proposed by tier and time since the last covert visit: at least every 30 days for A, 90 for B, 180 for C, 365 for D; key-listed and blacklisted enterprises are always proposed."
        )) }
        @if let Some(group) = group {
            form #plan method="post" action={(BASE) "/planning"} {
                input type="hidden" name="csrf" value=(user.csrf);
                input type="hidden" name="group" value=(group);
                table #proposals {
                    thead { tr {
                        th { } th { (lang.t("企业", "Enterprise")) } th { (lang.t("统一社会信用代码", "Credit code")) }
                        th { (lang.t("等级", "Tier")) } th { (lang.t("距上次暗访", "Since covert visit")) }
                        th { (lang.t("原因", "Reasons")) }
                    } }
                    tbody {
                        @for p in proposals.iter().take(SHOWN) {
                            @let e = &p.enterprise;
                            tr data-enterprise=(e.facts.credit_code) data-tier=(e.risk.tier.code()) {
                                td { input type="checkbox" name="code" value=(e.facts.credit_code); }
                                td { (name_link(e)) (marks(lang, e)) }
                                td { (e.facts.credit_code) }
                                td { (e.risk.tier.code()) " · " (e.risk.score) }
                                td { (since(lang, e.days_since_covert)) }
                                td { (reasons(lang, e)) }
                            }
                        }
                    }
                }
                @if proposals.is_empty() { p { (lang.t("暂无建议。", "Nothing to propose.")) } }
                label { (lang.t("期限", "Deadline")) " " input name="due" type="date"; }
                button type="submit" { (lang.t("推送计划检查对象", "Send as planned targets")) }
            }
        }
    };
    layout(
        lang,
        user,
        lang.t("暗访计划", "Covert visit planning"),
        body,
    )
}
