//! The briefing as a Word document (DOCX): the smallest package Word and LibreOffice open,
//! written by hand: the content types, the package and document relationships, the document
//! (paragraphs, and each hazard's photos inline) and the photos as JPEG parts.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

use super::{BriefingItem, BriefingPhoto, briefing_jpeg, heading, item_lines};

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="jpeg" ContentType="image/jpeg"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;

const PACKAGE_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;

const DOCUMENT_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><w:body>"#;

/// Width of a photo in the document: 70 mm, in EMU (36,000 per mm).
const PHOTO_EMU: u64 = 70 * 36_000;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn paragraph(text: &str, half_points: u32, bold: bool) -> String {
    format!(
        r#"<w:p><w:r><w:rPr><w:rFonts w:ascii="SimSun" w:eastAsia="SimSun" w:hAnsi="SimSun"/>{}<w:sz w:val="{half_points}"/></w:rPr><w:t xml:space="preserve">{}</w:t></w:r></w:p>"#,
        if bold { "<w:b/>" } else { "" },
        escape(text)
    )
}

fn picture(n: usize, w: u32, h: u32) -> String {
    let cx = PHOTO_EMU;
    let cy = PHOTO_EMU * u64::from(h) / u64::from(w.max(1));
    format!(
        r#"<w:r><w:drawing><wp:inline><wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{n}" name="照片{n}"/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:nvPicPr><pic:cNvPr id="{n}" name="image{n}.jpeg"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="rIdImg{n}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r><w:r><w:t xml:space="preserve"> </w:t></w:r>"#
    )
}

/// The briefing as DOCX bytes. Blocking.
pub fn briefing_docx(
    items: &[BriefingItem],
    photos: &BTreeMap<String, Vec<BriefingPhoto>>,
    from: i64,
    to: i64,
    sector: Option<&str>,
) -> Result<Vec<u8>, String> {
    let (title, period) = heading(from, to, sector);
    let mut body = String::from(DOCUMENT_START);
    body.push_str(&paragraph(&title, 36, true));
    body.push_str(&paragraph(&period, 24, false));
    let mut images: Vec<Vec<u8>> = Vec::new();
    for (n, item) in items.iter().enumerate() {
        for (i, line) in item_lines(n + 1, item).iter().enumerate() {
            body.push_str(&paragraph(line, 24, i == 0));
        }
        let placed: Vec<_> = photos
            .get(&item.row.id)
            .map(|ps| ps.iter().filter_map(|p| briefing_jpeg(&p.bytes)).collect())
            .unwrap_or_default();
        if !placed.is_empty() {
            body.push_str("<w:p>");
            for (jpeg, w, h) in placed {
                images.push(jpeg);
                body.push_str(&picture(images.len(), w, h));
            }
            body.push_str("</w:p>");
        }
    }
    body.push_str(
        "<w:sectPr><w:pgSz w:w=\"11906\" w:h=\"16838\"/></w:sectPr></w:body></w:document>",
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    for n in 1..=images.len() {
        rels.push_str(&format!(
            r#"<Relationship Id="rIdImg{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image{n}.jpeg"/>"#
        ));
    }
    rels.push_str("</Relationships>");

    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflated = SimpleFileOptions::default();
    let stored = deflated.compression_method(zip::CompressionMethod::Stored);
    let mut part = |name: &str, bytes: &[u8], options| -> Result<(), String> {
        zip.start_file(name, options).map_err(|e| e.to_string())?;
        zip.write_all(bytes).map_err(|e| e.to_string())
    };
    part("[Content_Types].xml", CONTENT_TYPES.as_bytes(), deflated)?;
    part("_rels/.rels", PACKAGE_RELS.as_bytes(), deflated)?;
    part("word/document.xml", body.as_bytes(), deflated)?;
    part("word/_rels/document.xml.rels", rels.as_bytes(), deflated)?;
    for (n, jpeg) in images.iter().enumerate() {
        part(&format!("word/media/image{}.jpeg", n + 1), jpeg, stored)?;
    }
    let out = zip.finish().map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}
