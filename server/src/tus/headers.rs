//! Parsing of the tus request headers: `Tus-Resumable`, `Upload-Length`, `Upload-Offset`,
//! `Upload-Checksum`, `Upload-Metadata`, and upload ids in paths. Strict: a header sent twice,
//! a number with a sign or more digits than a `u64` holds, a metadata key given twice or
//! metadata longer than [`MAX_METADATA_BYTES`] are refused with a 400 naming the header.
//! Public (hidden from the docs) so the fuzz target `tus_headers` can reach it.

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use siteproof_core::media::checksum::{ChecksumError, UploadChecksum};
use siteproof_core::{MediaHash, RecordId};

use super::TUS_VERSION;
use super::error::TusError;
use super::service::UploadClaim;

/// The longest `Upload-Metadata` accepted, in bytes: a record id, a hash, a MIME type and a
/// file name fit many times over.
pub const MAX_METADATA_BYTES: usize = 4096;
/// The most digits of `Upload-Length` / `Upload-Offset` (`u64::MAX` has 20).
const MAX_DIGITS: usize = 20;

/// Checks `Tus-Resumable: 1.0.0`.
pub fn check_version(headers: &HeaderMap) -> Result<(), TusError> {
    match single(headers, "tus-resumable", "Tus-Resumable")?.map(HeaderValue::as_bytes) {
        Some(v) if v == TUS_VERSION.as_bytes() => Ok(()),
        Some(_) => Err(TusError::UnsupportedVersion),
        None => Err(TusError::MissingHeader("Tus-Resumable")),
    }
}

pub(super) fn invalid(name: &'static str, reason: impl Into<String>) -> TusError {
    TusError::InvalidHeader {
        name,
        reason: reason.into(),
    }
}

/// The header's one value; sent twice is an error (which one would count?).
fn single<'a>(
    headers: &'a HeaderMap,
    key: &str,
    name: &'static str,
) -> Result<Option<&'a HeaderValue>, TusError> {
    let mut values = headers.get_all(key).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(invalid(name, "sent more than once"));
    }
    Ok(first)
}

fn header_str<'a>(
    headers: &'a HeaderMap,
    key: &str,
    name: &'static str,
) -> Result<Option<&'a str>, TusError> {
    single(headers, key, name)?
        .map(|v| v.to_str().map_err(|_| invalid(name, "not ASCII")))
        .transpose()
}

/// A required non-negative integer header (`Upload-Length`, `Upload-Offset`): digits only.
pub fn number(headers: &HeaderMap, key: &str, name: &'static str) -> Result<u64, TusError> {
    let raw = header_str(headers, key, name)?
        .ok_or(TusError::MissingHeader(name))?
        .trim();
    if raw.is_empty() || raw.len() > MAX_DIGITS || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(name, "must be a non-negative integer"));
    }
    raw.parse()
        .map_err(|_| invalid(name, "must be a non-negative integer below 2^64"))
}

/// Whether the `Content-Type` is `expected` (parameters ignored).
pub fn content_type_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// `Upload-Checksum: <algorithm> <base64>` (crc32c, sha256 or sha1), if present.
pub fn checksum(headers: &HeaderMap) -> Result<Option<UploadChecksum>, TusError> {
    let Some(raw) = header_str(headers, "upload-checksum", "Upload-Checksum")? else {
        return Ok(None);
    };
    match raw.parse() {
        Ok(checksum) => Ok(Some(checksum)),
        Err(ChecksumError::Unsupported(_)) => Err(TusError::UnsupportedChecksum),
        Err(ChecksumError::Malformed(why)) => Err(invalid("Upload-Checksum", why)),
    }
}

/// Parses `Upload-Metadata`: comma-separated `key base64value` pairs, each key at most once.
pub fn parse_metadata(headers: &HeaderMap) -> Result<UploadClaim, TusError> {
    const NAME: &str = "Upload-Metadata";
    let raw = header_str(headers, "upload-metadata", NAME)?.ok_or(TusError::MissingHeader(NAME))?;
    if raw.len() > MAX_METADATA_BYTES {
        return Err(invalid(
            NAME,
            format!("longer than {MAX_METADATA_BYTES} bytes"),
        ));
    }
    let (mut record, mut sha256, mut mime) = (None, None, None);
    let mut keys: Vec<&str> = Vec::new();
    for pair in raw.split(',') {
        let mut parts = pair.trim().splitn(2, ' ');
        let key = parts.next().unwrap_or_default();
        if key.is_empty() {
            return Err(invalid(NAME, "a key is empty"));
        }
        if keys.contains(&key) {
            return Err(invalid(NAME, format!("{} is given twice", shown(key))));
        }
        keys.push(key);
        let value = match parts.next() {
            Some(v) => {
                let bytes = B64
                    .decode(v.trim())
                    .map_err(|_| invalid(NAME, format!("{}: value is not base64", shown(key))))?;
                String::from_utf8(bytes)
                    .map_err(|_| invalid(NAME, format!("{}: value is not UTF-8", shown(key))))?
            }
            None => String::new(),
        };
        match key {
            "record" => {
                record = Some(
                    value
                        .parse::<RecordId>()
                        .map_err(|_| invalid(NAME, "record: not a record id"))?,
                )
            }
            "sha256" => {
                sha256 = Some(
                    value
                        .to_ascii_lowercase()
                        .parse::<MediaHash>()
                        .map_err(|_| invalid(NAME, "sha256: not 64 hex digits"))?,
                )
            }
            "filetype" if is_mime(&value) => mime = Some(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    Ok(UploadClaim {
        record: record.ok_or_else(|| invalid(NAME, "record is required"))?,
        sha256: sha256.ok_or_else(|| invalid(NAME, "sha256 is required"))?,
        mime,
    })
}

/// A key as an error message may show it: short, so a huge header is not echoed back.
fn shown(key: &str) -> String {
    let mut s: String = key.chars().take(40).collect();
    if s.len() < key.len() {
        s.push('…');
    }
    s
}

/// A plain `type/subtype` token: what we are willing to echo back as a Content-Type.
pub fn is_mime(s: &str) -> bool {
    s.len() <= 100
        && s.split_once('/')
            .is_some_and(|(t, st)| !t.is_empty() && !st.is_empty())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/.+-_".contains(&b))
}

/// Upload ids are 32 lowercase hex digits (a UUID without dashes); nothing else reaches the
/// blob store, so no path segment can climb out of it.
pub fn upload_id(id: &str) -> Result<&str, TusError> {
    if id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(id)
    } else {
        Err(TusError::InvalidId {
            what: "the upload id",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("test header"));
        }
        h
    }

    #[test]
    fn numbers_are_digits_only_and_fit_a_u64() {
        let n = |v: &str| {
            number(
                &with(&[("upload-offset", v)]),
                "upload-offset",
                "Upload-Offset",
            )
        };
        assert_eq!(n("42").ok(), Some(42));
        assert_eq!(n(" 7 ").ok(), Some(7));
        for bad in ["+5", "-1", "", "1e3", "0x10", "18446744073709551616", "١"] {
            assert!(n(bad).is_err(), "{bad:?} accepted");
        }
        let twice = with(&[("upload-offset", "1"), ("upload-offset", "1")]);
        assert!(number(&twice, "upload-offset", "Upload-Offset").is_err());
    }

    #[test]
    fn metadata_keys_count_once_and_the_header_is_bounded() {
        let hash = "a".repeat(64);
        let ok = format!(
            "record {},sha256 {},filetype {}",
            B64.encode("0190abcd-0000-7000-8000-000000000000"),
            B64.encode(&hash),
            B64.encode("image/jpeg")
        );
        assert!(parse_metadata(&with(&[("upload-metadata", &ok)])).is_ok());
        let twice = format!("{ok},sha256 {}", B64.encode("b".repeat(64)));
        assert!(parse_metadata(&with(&[("upload-metadata", &twice)])).is_err());
        let long = format!(
            "{ok},filename {}",
            B64.encode("x".repeat(MAX_METADATA_BYTES))
        );
        assert!(parse_metadata(&with(&[("upload-metadata", &long)])).is_err());
        assert!(parse_metadata(&with(&[("upload-metadata", &format!("{ok},"))])).is_err());
    }
}
