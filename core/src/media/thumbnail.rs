//! Thumbnails: decode a JPEG or PNG, turn it upright per its EXIF orientation, shrink it to
//! fit [`THUMBNAIL_MAX_PX`] and save it as a JPEG.

use std::io::{BufRead, Cursor, Seek, Write};

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use crate::error::{Error, Result};

/// The longer side of a thumbnail, in pixels.
pub const THUMBNAIL_MAX_PX: u32 = 320;

/// Decoding never allocates more than this: a 12-megapixel photo needs about 36 MiB, and a
/// crafted file claiming a gigapixel is refused instead of exhausting the phone.
const MAX_DECODE_BYTES: u64 = 256 << 20;

const JPEG_QUALITY: u8 = 80;

/// The JPEG thumbnail of the image (JPEG or PNG) `source` yields.
pub(crate) fn thumbnail_of(source: impl BufRead + Seek) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_thumbnail(ImageReader::new(source), &mut out)?;
    Ok(out)
}

/// The JPEG thumbnail of an image (JPEG or PNG) held in memory: for the server, which makes
/// thumbnails of photos it received.
pub fn thumbnail_jpeg(image: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_thumbnail(ImageReader::new(Cursor::new(image)), &mut out)?;
    Ok(out)
}

fn encode_thumbnail(reader: ImageReader<impl BufRead + Seek>, out: &mut impl Write) -> Result<()> {
    let mut reader = reader.with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    // A photo without EXIF, or with unreadable EXIF, is shown as stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    // Shrink before rotating: rotating 320 px is cheaper than rotating 12 megapixels.
    img = img.thumbnail(THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX);
    img.apply_orientation(orientation);
    let rgb = img.into_rgb8();
    JpegEncoder::new_with_quality(out, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(image_error)?;
    Ok(())
}

fn image_error(e: image::ImageError) -> Error {
    match e {
        image::ImageError::IoError(io) => Error::Io(io),
        other => Error::Thumbnail(other.to_string()),
    }
}
