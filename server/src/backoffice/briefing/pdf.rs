//! The briefing as PDF: A4, the embedded CJK font, each hazard's lines and its photos side
//! by side below them, a new page when the next hazard does not fit.

use std::collections::BTreeMap;

use printpdf::{ColorBits, ColorSpace, Image, ImageFilter, ImageTransform, ImageXObject, Mm, Px};

use super::{BriefingItem, BriefingPhoto, briefing_jpeg, heading, item_lines};
use crate::backoffice::reports::notice::{cjk_pdf, fullwidth};
use crate::error::{Error, Result};

/// Resolution photos are placed at: 480 px make 81 mm.
const DPI: f32 = 150.0;

fn mm_of(px: u32) -> f32 {
    px as f32 / DPI * 25.4
}

/// The briefing as PDF bytes. Blocking.
pub fn briefing_pdf(
    items: &[BriefingItem],
    photos: &BTreeMap<String, Vec<BriefingPhoto>>,
    from: i64,
    to: i64,
    sector: Option<&str>,
) -> Result<Vec<u8>> {
    let (title, period) = heading(from, to, sector);
    let (doc, page, layer, font) = cjk_pdf(&title)?;
    let mut layer = doc.get_page(page).get_layer(layer);
    layer.use_text(fullwidth(&title), 18.0, Mm(45.0), Mm(275.0), &font);
    layer.use_text(fullwidth(&period), 11.0, Mm(20.0), Mm(265.0), &font);
    let mut y = 255.0;
    for (n, item) in items.iter().enumerate() {
        let placed: Vec<(Vec<u8>, u32, u32)> = photos
            .get(&item.row.id)
            .map(|ps| ps.iter().filter_map(|p| briefing_jpeg(&p.bytes)).collect())
            .unwrap_or_default();
        let photo_h = placed.iter().map(|(_, _, h)| mm_of(*h)).fold(0.0, f32::max);
        if y - 20.0 - photo_h < 15.0 {
            let (page, next) = doc.add_page(Mm(210.0), Mm(297.0), "text");
            layer = doc.get_page(page).get_layer(next);
            y = 280.0;
        }
        for line in item_lines(n + 1, item) {
            layer.use_text(fullwidth(&line), 10.5, Mm(20.0), Mm(y), &font);
            y -= 6.0;
        }
        let mut x = 20.0;
        for (jpeg, w, h) in placed {
            let image = Image::from(ImageXObject {
                width: Px(w as usize),
                height: Px(h as usize),
                color_space: ColorSpace::Rgb,
                bits_per_component: ColorBits::Bit8,
                interpolate: true,
                image_data: jpeg,
                image_filter: Some(ImageFilter::DCT),
                smask: None,
                clipping_bbox: None,
            });
            image.add_to_layer(
                layer.clone(),
                ImageTransform {
                    translate_x: Some(Mm(x)),
                    translate_y: Some(Mm(y - mm_of(h))),
                    dpi: Some(DPI),
                    ..ImageTransform::default()
                },
            );
            x += mm_of(w) + 5.0;
        }
        y -= photo_h + 8.0;
    }
    doc.save_to_bytes()
        .map_err(|e| Error::Internal(format!("pdf: {e}")))
}
