//! Server-rendered HTML (maud: escaped by construction). Plain pages and forms with a little
//! script for the photo viewer; no build step.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use siteproof_core::Sector;

use super::WebUser;
use super::i18n::Lang;

/// The base path of every back-office page.
pub const BASE: &str = "/office";

pub(super) const STYLE: &str = r#"
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei",system-ui,sans-serif;margin:0;color:#1d232b;background:#f5f6f8}
header{background:#12355b;color:#fff;padding:.6em 1em;display:flex;gap:1.2em;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header .who{margin-left:auto;font-size:.9em}
main{padding:1em;max-width:1200px;margin:auto}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #d8dce2;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#eef1f5}.counts span{margin-right:1.2em}.major{color:#b00020;font-weight:bold}
.conflict{background:#fff3cd}.overdue{color:#b00020;font-weight:bold}.flag{background:#b00020;color:#fff;padding:0 .3em;border-radius:3px}
.pending{color:#7a5d00;font-style:italic}.ev{font-size:.85em;padding:0 .3em;border-radius:3px}
.ev-verified{background:#1b5e20;color:#fff}.ev-unverified{background:#fff3cd;color:#7a5d00}.ev-rejected{background:#b00020;color:#fff}.thumb{max-width:160px;max-height:120px;cursor:zoom-in;border:1px solid #ccc}
form.inline{display:inline}fieldset{margin:.6em 0;background:#fff}label{margin-right:.8em}
.error{background:#fde2e2;padding:.6em;border:1px solid #b00020}
dialog img{max-width:90vw;max-height:85vh}.receipt{font-size:1.6em;letter-spacing:.1em}
"#;

pub(crate) const VIEWER_JS: &str = r#"
document.addEventListener('click',function(e){var a=e.target.closest('a[data-viewer]');if(!a)return;e.preventDefault();
var d=document.getElementById('viewer');d.querySelector('img').src=a.href;d.showModal();});
document.addEventListener('submit',async function(e){var f=e.target,p=f.querySelector('input[type=file]');
if(!f.dataset.upload||!p||!p.files.length)return;e.preventDefault();var h=[];
for(var x of p.files){var r=await fetch(f.dataset.upload+'?name='+encodeURIComponent(x.name),
{method:'POST',headers:{'x-csrf-token':f.elements.csrf.value},body:x});
if(!r.ok){f.querySelector('.upload-error').textContent=await r.text();return;}h.push((await r.json()).hash);}
f.elements.media.value=h.join(',');p.disabled=true;f.submit();});
document.addEventListener('submit',async function(e){var f=e.target,p=f.querySelector('input[type=file]');
if(!f.dataset.import||!p||!p.files.length)return;e.preventDefault();
var r=await fetch(f.dataset.import,{method:'POST',headers:{'x-csrf-token':f.elements.csrf.value},body:p.files[0]});
f.querySelector('.import-result').textContent=await r.text();});
"#;

/// The frame of every signed-in page.
pub fn layout(lang: Lang, user: &WebUser, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.html()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("安全生产暗访督查", "Work-safety inspections")) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { (lang.t("安全生产暗访督查", "Work-safety inspections")) }
                    a href={(BASE) "/visits"} { (lang.t("检查记录", "Visits")) }
                    a href={(BASE) "/ledger"} { (lang.t("隐患台账", "Hazard ledger")) }
                    a href={(BASE) "/briefing"} { (lang.t("通报", "Briefing")) }
                    a href={(BASE) "/reports"} { (lang.t("统计报告", "Reports")) }
                    a href={(BASE) "/assignments"} { (lang.t("推送", "Pushes")) }
                    a href={(BASE) "/supervision"} { (lang.t("分级监管", "Supervision")) }
                    a href={(BASE) "/planning"} { (lang.t("暗访计划", "Planning")) }
                    a href={(BASE) "/leads"} { (lang.t("线索", "Leads")) }
                    a href={(BASE) "/enterprises"} { (lang.t("企业库", "Enterprises")) }
                    a href={(BASE) "/collections"} { (lang.t("收集", "Collections")) }
                    a href={(BASE) "/roster"} { (lang.t("人员", "Rosters")) }
                    a href={(BASE) "/templates"} { (lang.t("检查表", "Templates")) }
                    span.who {
                        (user.name) " (" (user.region) ") · "
                        a href="?lang=zh" { "中文" } " | " a href="?lang=en" { "English" } " · "
                        form.inline method="post" action={(BASE) "/logout"} {
                            input type="hidden" name="csrf" value=(user.csrf);
                            button type="submit" { (lang.t("退出", "Sign out")) }
                        }
                    }
                }
                main { h1 { (title) } (body) }
                dialog #viewer { img alt=""; form method="dialog" { button { (lang.t("关闭", "Close")) } } }
                script { (PreEscaped(VIEWER_JS)) }
            }
        }
    }
}

/// The sign-in page; `login_csrf` is also set as a cookie (double submit).
pub fn login_page(lang: Lang, login_csrf: &str, error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.html()) {
            head {
                meta charset="utf-8";
                title { (lang.t("登录", "Sign in")) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 { (lang.t("安全生产暗访督查 · 登录", "Work-safety inspections · Sign in")) }
                    @if let Some(e) = error { p.error { (e) } }
                    form method="post" action={(BASE) "/login"} {
                        input type="hidden" name="csrf" value=(login_csrf);
                        p { label { (lang.t("账号", "Login")) " " input name="login" autocomplete="username" required; } }
                        p { label { (lang.t("密码", "Password")) " " input name="password" type="password" autocomplete="current-password" required; } }
                        button type="submit" { (lang.t("登录", "Sign in")) }
                    }
                    p { a href="?lang=zh" { "中文" } " | " a href="?lang=en" { "English" } }
                }
            }
        }
    }
}

/// A page that says what was wrong with a request.
pub fn message_page(lang: Lang, title: &str, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.html()) {
            head { meta charset="utf-8"; title { (title) } style { (PreEscaped(STYLE)) } }
            body { main {
                h1 { (title) }
                p.error { (message) }
                p { a href={(BASE) "/visits"} { (lang.t("返回", "Back")) } }
            } }
        }
    }
}

/// A select of the sectors.
pub(super) fn sector_select(lang: Lang, name: &str, required: bool) -> Markup {
    html! {
        select name=(name) required[required] {
            option value="" { "—" }
            @for s in Sector::ALL { option value=(s.code()) { (lang.sector(s.code())) } }
        }
    }
}

/// Checkboxes of the sectors.
pub(super) fn sector_boxes(lang: Lang, name: &str) -> Markup {
    html! {
        @for s in Sector::ALL {
            label { input type="checkbox" name=(name) value=(s.code()); " " (lang.sector(s.code())) }
        }
    }
}

/// Sector names, joined.
pub(super) fn sector_names(lang: Lang, sectors: &[Sector]) -> String {
    sectors
        .iter()
        .map(|s| lang.sector(s.code()))
        .collect::<Vec<_>>()
        .join("、")
}
