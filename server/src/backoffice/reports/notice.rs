//! The rectification notice (整改通知书) of a case as a PDF, in Chinese. The PDF embeds a CJK
//! TrueType font found on the machine (`SITEPROOF_CJK_FONT`, or Debian's
//! `fonts-droid-fallback`); without one the notice cannot be made and the server says so.

use std::io::Cursor;
use std::path::PathBuf;

use printpdf::{
    IndirectFontRef, Mm, PdfDocument, PdfDocumentReference, PdfLayerIndex, PdfPageIndex,
};
use siteproof_core::Case;

use crate::backoffice::CaseRow;
use crate::backoffice::dates::date;
use crate::backoffice::i18n::Lang;
use crate::error::{Error, Result};

/// TrueType (not collection) fonts with CJK glyphs, in order of preference.
const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf",
    "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",
];

/// The CJK font to embed, if one is installed.
pub fn cjk_font() -> Option<PathBuf> {
    std::env::var_os("SITEPROOF_CJK_FONT")
        .map(PathBuf::from)
        .into_iter()
        .chain(FONT_CANDIDATES.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

/// Lines of text a notice holds; the body wraps at `width` characters.
fn lines(row: &CaseRow, case: &Case, issuer: &str) -> Vec<(f32, String)> {
    let lang = Lang::Zh;
    let mut out = vec![
        (20.0, "安全生产隐患整改通知书".to_owned()),
        (10.0, format!("编号：{}", row.id)),
        (12.0, String::new()),
        (
            12.0,
            format!("{}：", case.unit().unwrap_or(row.site.as_str())),
        ),
        (
            12.0,
            format!(
                "经检查，你单位（{}，{}）存在以下{}：",
                row.site,
                lang.sector(&row.sector),
                lang.severity(&row.severity)
            ),
        ),
    ];
    let text: Vec<char> = case.description.chars().collect();
    for chunk in text.chunks(30) {
        out.push((12.0, format!("    {}", chunk.iter().collect::<String>())));
    }
    let deadline = case.deadline().map_or_else(|| "（待定）".to_owned(), date);
    out.push((12.0, format!("请于 {deadline} 前整改完毕，")));
    out.push((
        12.0,
        "整改期间落实防控措施，并将整改情况书面报送。".to_owned(),
    ));
    out.push((12.0, "逾期未整改的，将依法挂牌督办。".to_owned()));
    out.push((12.0, String::new()));
    out.push((12.0, format!("签发人：{issuer}")));
    out.push((12.0, format!("日期：{}", date(siteproof_core::now()))));
    out
}

/// CJK fallback fonts often lack Latin glyphs: ids, dates and names in ASCII are written in
/// their fullwidth forms (U+FF01..U+FF5E, U+3000), which such fonts carry.
pub(crate) fn fullwidth(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' => '\u{3000}',
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            other => other,
        })
        .collect()
}

/// A new A4 PDF with the CJK font embedded: the document, its first page and layer, the font.
pub(crate) fn cjk_pdf(
    title: &str,
) -> Result<(
    PdfDocumentReference,
    PdfPageIndex,
    PdfLayerIndex,
    IndirectFontRef,
)> {
    let font_path = cjk_font().ok_or_else(|| {
        Error::Internal(
            "no CJK TrueType font: install fonts-droid-fallback or set SITEPROOF_CJK_FONT".into(),
        )
    })?;
    let font = std::fs::read(&font_path)
        .map_err(|e| Error::Internal(format!("font {}: {e}", font_path.display())))?;
    let (doc, page, layer) = PdfDocument::new(title, Mm(210.0), Mm(297.0), "text");
    let font = doc
        .add_external_font(Cursor::new(font))
        .map_err(|e| Error::Internal(format!("font: {e}")))?;
    Ok((doc, page, layer, font))
}

/// Lines of text as an A4 PDF in the embedded CJK font, a new page when one is full.
/// Blocking: call it on a blocking thread.
pub fn text_pdf(title: &str, lines: &[(f32, String)]) -> Result<Vec<u8>> {
    let (doc, page, layer, font) = cjk_pdf(title)?;
    let mut layer = doc.get_page(page).get_layer(layer);
    let mut y = 270.0;
    for (size, text) in lines {
        if y < 20.0 {
            let (page, next) = doc.add_page(Mm(210.0), Mm(297.0), "text");
            layer = doc.get_page(page).get_layer(next);
            y = 270.0;
        }
        let x = if *size > 15.0 { 55.0 } else { 25.0 };
        layer.use_text(fullwidth(text), *size, Mm(x), Mm(y), &font);
        y -= size * 0.9;
    }
    doc.save_to_bytes()
        .map_err(|e| Error::Internal(format!("pdf: {e}")))
}

/// The notice as PDF bytes. Blocking: call it on a blocking thread.
pub fn notice_pdf(row: &CaseRow, case: &Case, issuer: &str) -> Result<Vec<u8>> {
    text_pdf("整改通知书", &lines(row, case, issuer))
}

impl crate::backoffice::BackOffice {
    /// The rectification notice of a case the user may see, as PDF bytes.
    pub async fn notice(&self, user: &crate::backoffice::WebUser, id: &str) -> Result<Vec<u8>> {
        let (row, case) = self.case(user, id).await?;
        let issuer = user.name.clone();
        self.documents
            .run(move || notice_pdf(&row, &case, &issuer))
            .await?
    }
}
