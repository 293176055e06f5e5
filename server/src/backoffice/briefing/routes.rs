//! Routes of the briefing: the page where the office picks the period, the sector and the
//! photos, and the two documents.

use axum::extract::RawQuery;
use axum::routing::get;
use siteproof_core::MediaHash;

use std::collections::BTreeMap;

use super::{BriefingItem, BriefingPhoto, docx, pages, pdf};
use crate::backoffice::dates;
use crate::backoffice::extract::{Office, PageResult, RouteTable, download, page};
use crate::error::Error;

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route("/office/briefing", get(briefing))
        .route("/office/briefing.pdf", get(briefing_pdf))
        .route("/office/briefing.docx", get(briefing_docx))
}

/// What the briefing form sends: the period (`YYYY-MM-DD`, the end inclusive; this month by
/// default), the sector and the chosen photos.
#[derive(Clone, Debug, Default)]
pub(super) struct BriefingQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub sector: Option<String>,
    pub photos: Vec<MediaHash>,
}

impl BriefingQuery {
    fn parse(raw: Option<String>) -> Result<Self, Error> {
        let mut q = BriefingQuery::default();
        let raw = raw.unwrap_or_default();
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            let v = v.trim().to_owned();
            if v.is_empty() {
                continue;
            }
            match k.as_ref() {
                "from" => q.from = Some(v),
                "to" => q.to = Some(v),
                "sector" => q.sector = Some(v),
                "photo" => q.photos.push(
                    v.parse()
                        .map_err(|_| Error::InvalidInput(format!("{v:?} is not a photo hash")))?,
                ),
                _ => {}
            }
        }
        Ok(q)
    }

    /// `[from, to)` in ms.
    pub(super) fn period(&self) -> Result<(i64, i64), Error> {
        let day = |d: &str| {
            dates::parse_date(d)
                .ok_or_else(|| Error::InvalidInput(format!("{d:?} is not a date (YYYY-MM-DD)")))
        };
        let (month_start, month_end) = dates::month_bounds(siteproof_core::now());
        let from = self
            .from
            .as_deref()
            .map(day)
            .transpose()?
            .unwrap_or(month_start);
        let to = match self.to.as_deref() {
            Some(d) => day(d)? + dates::DAY_MS,
            None => month_end,
        };
        Ok((from, to))
    }
}

async fn items(o: &Office, q: &BriefingQuery) -> Result<(Vec<BriefingItem>, i64, i64), Error> {
    let (from, to) = q.period()?;
    let items = o
        .office
        .briefing(&o.user, from, to, q.sector.clone())
        .await?;
    Ok((items, from, to))
}

async fn briefing(o: Office, RawQuery(raw): RawQuery) -> PageResult {
    let q = BriefingQuery::parse(raw)?;
    let (items, from, to) = items(&o, &q).await?;
    Ok(page(
        o.lang,
        pages::briefing_page(o.lang, &o.user, &q, &items, from, to),
    ))
}

/// What a briefing document is made of: the hazards, the chosen photos, the period, the
/// sector.
type Contents = (
    Vec<BriefingItem>,
    BTreeMap<String, Vec<BriefingPhoto>>,
    i64,
    i64,
    Option<String>,
);

async fn contents(o: &Office, raw: Option<String>) -> Result<Contents, Error> {
    let q = BriefingQuery::parse(raw)?;
    let (items, from, to) = items(o, &q).await?;
    let photos = o.office.briefing_photos(&o.user, &items, &q.photos).await?;
    Ok((items, photos, from, to, q.sector))
}

async fn briefing_pdf(o: Office, RawQuery(raw): RawQuery) -> PageResult {
    let (items, photos, from, to, sector) = contents(&o, raw).await?;
    let bytes = o
        .office
        .documents()
        .run(move || pdf::briefing_pdf(&items, &photos, from, to, sector.as_deref()))
        .await??;
    download("application/pdf", "briefing.pdf", bytes)
}

async fn briefing_docx(o: Office, RawQuery(raw): RawQuery) -> PageResult {
    let (items, photos, from, to, sector) = contents(&o, raw).await?;
    let bytes = o
        .office
        .documents()
        .run(move || docx::briefing_docx(&items, &photos, from, to, sector.as_deref()))
        .await?
        .map_err(|e| Error::Internal(format!("docx: {e}")))?;
    download(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "briefing.docx",
        bytes,
    )
}
