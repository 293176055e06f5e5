//! The public whistleblower pages (`/report`): no sign-in, no cookie, no script, nothing
//! loaded from elsewhere.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use siteproof_core::Sector;

use crate::backoffice::LeadReceiptStatus;
use crate::backoffice::i18n::Lang;
use crate::backoffice::layout::STYLE;
use crate::backoffice::leads::{MAX_DESCRIPTION, MAX_FIELD};

fn frame(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.html()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { main {
                h1 { (title) }
                (body)
                p { a href="?lang=zh" { "中文" } " | " a href="?lang=en" { "English" } }
            } }
        }
    }
}

/// The reporting form.
pub fn report_form(lang: Lang, regions: &[String], error: Option<&str>) -> Markup {
    let body = html! {
        p { (lang.t(
            "您可以匿名举报安全生产隐患。本页面不记录您的身份、网络地址或设备信息。提交后您将获得一个回执码，凭回执码可查询处理进度。",
            "You may report a work-safety hazard anonymously. This page keeps no record of who you are, your network address or your device. You get a receipt code to check progress later."
        )) }
        @if let Some(e) = error { p.error #error { (e) } }
        form #lead-form method="post" action={"/report?lang=" (lang.code())} {
            p { label { (lang.t("所在地区", "Region")) " "
                select name="region" required { @for r in regions { option value=(r) { (r) } } }
            } }
            p { label { (lang.t("行业领域（可不选）", "Sector (optional)")) " "
                select name="sector" {
                    option value="" { "—" }
                    @for s in Sector::ALL { option value=(s.code()) { (lang.sector(s.code())) } }
                }
            } }
            p { label { (lang.t("被举报单位或场所", "Enterprise or place")) " " input name="site" required maxlength=(MAX_FIELD) size="40"; } }
            p { label { (lang.t("地址", "Address")) " " input name="address" maxlength=(MAX_FIELD) size="40"; } }
            p { label { (lang.t("隐患情况", "What you saw")) br;
                textarea name="description" rows="8" cols="70" required minlength="10" maxlength=(MAX_DESCRIPTION) {}
            } }
            button type="submit" { (lang.t("提交举报", "Send the report")) }
        }
        p { a href={"/report/status?lang=" (lang.code())} { (lang.t("凭回执码查询进度", "Check progress with a receipt code")) } }
    };
    frame(
        lang,
        lang.t("安全生产隐患举报", "Report a work-safety hazard"),
        body,
    )
}

/// The receipt, shown once.
pub fn receipt_page(lang: Lang, code: &str) -> Markup {
    let body = html! {
        p { (lang.t("举报已受理。请妥善保存以下回执码，它是查询进度的唯一凭证，我们无法为您找回：",
                    "Your report was received. Keep this receipt code: it is the only way to check progress, and it cannot be recovered:")) }
        p { strong.receipt #receipt { (code) } }
        p { a href={"/report/status?lang=" (lang.code())} { (lang.t("查询进度", "Check progress")) } }
    };
    frame(lang, lang.t("举报已受理", "Report received"), body)
}

/// The status form, and the answer to a code when there is one.
pub fn status_page(lang: Lang, asked: bool, status: Option<&LeadReceiptStatus>) -> Markup {
    let body = html! {
        @if let Some(s) = status {
            p #lead-status data-status=(s.status.code()) {
                (lang.t("受理日期", "Received on")) " " (s.received_on) ": " strong { (lang.lead_status(s.status.code())) }
            }
        } @else if asked {
            p.error #error { (lang.t("未找到该回执码，请核对后重试。", "No report has this receipt code; check it and try again.")) }
        }
        form #status-form method="post" action={"/report/status?lang=" (lang.code())} {
            label { (lang.t("回执码", "Receipt code")) " " input name="receipt" required size="24" autocomplete="off"; }
            button type="submit" { (lang.t("查询", "Check")) }
        }
        p { a href={"/report?lang=" (lang.code())} { (lang.t("新的举报", "A new report")) } }
    };
    frame(lang, lang.t("举报进度查询", "Report progress"), body)
}
