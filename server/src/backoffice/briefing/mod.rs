//! The briefing (通报, §7 of the policy): for a period and a sector, the hazards found on covert
//! visits, each with its enterprise, status and deadline and the one or two evidence photos
//! the office chose, as PDF (`pdf.rs`) and DOCX (`docx.rs`), in Chinese. Routes in
//! `routes.rs`, the page where the office chooses the photos in `pages.rs`.

mod docx;
mod pages;
mod pdf;
pub(super) mod routes;

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use siteproof_core::{MediaHash, MediaKind, Visit};

use super::rows::{CaseRow, LedgerFilter};
use super::{BackOffice, WebUser};
use crate::error::{Error, Result};
use crate::evidence::CustodyEvent;

/// Hazards a briefing lists at most.
pub const MAX_ITEMS: i64 = 200;
/// Photos a hazard shows at most.
pub const PHOTOS_PER_ITEM: usize = 2;

/// One hazard of a briefing.
#[derive(Clone, Debug)]
pub struct BriefingItem {
    /// Its ledger row.
    pub row: CaseRow,
    /// The photos of its finding, in the order the inspector took them.
    pub photos: Vec<MediaHash>,
}

/// A photo going into a briefing document: its bytes, as stored.
#[derive(Clone, Debug)]
pub struct BriefingPhoto {
    /// The file's hash.
    pub hash: MediaHash,
    /// The file.
    pub bytes: Vec<u8>,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

impl BackOffice {
    /// The hazards found on covert visits in `[from, to)` in `sector` (all the user sees when
    /// `None`), with their findings' photos.
    pub async fn briefing(
        &self,
        user: &WebUser,
        from: i64,
        to: i64,
        sector: Option<String>,
    ) -> Result<Vec<BriefingItem>> {
        let filter = LedgerFilter {
            from: Some(from),
            to: Some(to),
            sector,
            covert: true,
            ..LedgerFilter::default()
        };
        let mut rows = self.ledger(user, filter, MAX_ITEMS).await?;
        rows.reverse();
        let mut visits: BTreeMap<String, Visit> = BTreeMap::new();
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            if !visits.contains_key(&row.visit_id) {
                let (visit, _) = self.stored_visit(&row.visit_id).await?;
                visits.insert(row.visit_id.clone(), visit);
            }
            let visit = &visits[&row.visit_id];
            let photos = visit
                .findings
                .get(&row.finding_id)
                .map(|f| {
                    f.media
                        .iter()
                        .filter(|h| {
                            visit
                                .media
                                .get(h.as_str())
                                .is_some_and(|m| m.kind == MediaKind::Photo)
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            items.push(BriefingItem { row, photos });
        }
        Ok(items)
    }

    /// The chosen photos of `items` (each must be a photo of its hazard), read from the blob
    /// store, at most [`PHOTOS_PER_ITEM`] per hazard; the export is entered in the custody
    /// log. A chosen photo not yet uploaded is left out.
    pub async fn briefing_photos(
        &self,
        user: &WebUser,
        items: &[BriefingItem],
        chosen: &[MediaHash],
    ) -> Result<BTreeMap<String, Vec<BriefingPhoto>>> {
        let mut out: BTreeMap<String, Vec<BriefingPhoto>> = BTreeMap::new();
        let Some(blobs) = self.blobs.clone() else {
            return Ok(out);
        };
        let blob_error = |e: crate::blob::BlobError| Error::Internal(format!("blob store: {e}"));
        let mut exported = Vec::new();
        for item in items {
            for hash in item
                .photos
                .iter()
                .filter(|h| chosen.contains(h))
                .take(PHOTOS_PER_ITEM)
            {
                let Some(meta) = blobs.blob_meta(hash).await.map_err(blob_error)? else {
                    continue;
                };
                let chunks: Vec<_> = blobs
                    .read_blob(hash, 0..meta.size)
                    .await
                    .map_err(blob_error)?
                    .try_collect()
                    .await
                    .map_err(internal)?;
                exported.push(hash.to_string());
                out.entry(item.row.id.clone())
                    .or_default()
                    .push(BriefingPhoto {
                        hash: hash.clone(),
                        bytes: chunks.concat(),
                    });
            }
        }
        let event = CustodyEvent {
            actor: format!("user:{}", user.login),
            action: "export".into(),
            subject: "briefing".into(),
            details: serde_json::json!({
                "hazards": items.iter().map(|i| i.row.id.as_str()).collect::<Vec<_>>(),
                "photos": exported,
            }),
        };
        self.storage.custody_store().append(&event).await?;
        Ok(out)
    }
}

/// Widest a photo is placed in a briefing, in pixels.
const PHOTO_PX: u32 = 480;

/// A photo as a briefing embeds it: decoded, scaled down to [`PHOTO_PX`] wide at most, and
/// encoded as a baseline JPEG (which PDF and Word both take as is). `None` when the file does
/// not decode as an image.
pub(crate) fn briefing_jpeg(bytes: &[u8]) -> Option<(Vec<u8>, u32, u32)> {
    let image = image::load_from_memory(bytes).ok()?;
    let image = if image.width() > PHOTO_PX {
        image.thumbnail(PHOTO_PX, PHOTO_PX * 4)
    } else {
        image
    };
    let rgb = image.to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&rgb)
        .ok()?;
    Some((out, rgb.width(), rgb.height()))
}

/// The lines of text of one hazard, as both documents write them.
pub(crate) fn item_lines(n: usize, item: &BriefingItem) -> Vec<String> {
    let lang = super::i18n::Lang::Zh;
    let r = &item.row;
    vec![
        format!("{}. {}（{}）", n, r.site, lang.sector(&r.sector)),
        format!("隐患：{}（{}）", r.description, lang.severity(&r.severity)),
        format!(
            "状态：{}；责任单位：{}；整改期限：{}",
            lang.status(&r.status),
            r.unit.as_deref().unwrap_or("—"),
            r.deadline
                .map(super::dates::date)
                .unwrap_or_else(|| "—".into())
        ),
    ]
}

/// The title and the period line of a briefing.
pub(crate) fn heading(from: i64, to: i64, sector: Option<&str>) -> (String, String) {
    let lang = super::i18n::Lang::Zh;
    let sector = sector.map_or("全部行业领域", |s| lang.sector(s));
    (
        "安全生产暗访检查情况通报".to_owned(),
        format!(
            "{} 至 {}，{}",
            super::dates::date(from),
            super::dates::date(to - super::dates::DAY_MS),
            sector
        ),
    )
}
