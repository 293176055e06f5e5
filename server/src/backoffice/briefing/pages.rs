//! The briefing page: the period and sector, and each hazard with its photos to choose from
//! (the first ones chosen), then the two documents.

use maud::{Markup, html};

use super::routes::BriefingQuery;
use super::{BriefingItem, PHOTOS_PER_ITEM};
use crate::backoffice::WebUser;
use crate::backoffice::dates::date;
use crate::backoffice::i18n::Lang;
use crate::backoffice::layout::{BASE, layout};
use crate::backoffice::visits::pages::{sector_options, select};

/// The page.
pub fn briefing_page(
    lang: Lang,
    user: &WebUser,
    q: &BriefingQuery,
    items: &[BriefingItem],
    from: i64,
    to: i64,
) -> Markup {
    let sectors = sector_options(lang, user);
    let to_day = date(to - crate::backoffice::dates::DAY_MS);
    let body = html! {
        form #briefing-period method="get" action={(BASE) "/briefing"} {
            label { (lang.t("开始日期", "From")) " " input type="date" name="from" value=(date(from)); }
            label { (lang.t("结束日期", "To")) " " input type="date" name="to" value=(to_day); }
            label { (lang.t("行业领域", "Sector")) " " (select("sector", q.sector.as_deref(), lang.t("全部", "All"), &sectors)) }
            button type="submit" { (lang.t("查询", "Show")) }
        }
        form #briefing method="get" action={(BASE) "/briefing.pdf"} {
            input type="hidden" name="from" value=(date(from));
            input type="hidden" name="to" value=(to_day);
            @if let Some(s) = &q.sector { input type="hidden" name="sector" value=(s); }
            p { (lang.t("暗访发现隐患", "Hazards found on covert visits")) ": " strong #briefing-count { (items.len()) }
                " · " (lang.t("每条隐患最多选两张照片", "choose up to two photos per hazard")) }
            ol #briefing-items {
                @for item in items {
                    li data-case=(item.row.id) {
                        (item.row.site) " · " (item.row.description) " · " (lang.status(&item.row.status))
                        br;
                        @for (i, h) in item.photos.iter().enumerate() {
                            label.photo {
                                input type="checkbox" name="photo" value=(h) checked[i < PHOTOS_PER_ITEM];
                                img.thumb loading="lazy" alt=(lang.t("现场照片", "Photo")) src={"/v1/media/" (h) "/thumbnail?record=" (item.row.visit_id)};
                            }
                        }
                    }
                }
            }
            button #briefing-pdf type="submit" { (lang.t("下载通报 (PDF)", "Download the briefing (PDF)")) }
            " "
            button #briefing-docx type="submit" formaction={(BASE) "/briefing.docx"} { (lang.t("下载通报 (Word)", "Download the briefing (Word)")) }
        }
    };
    layout(
        lang,
        user,
        lang.t("暗访检查情况通报", "Covert inspection briefing"),
        body,
    )
}
