//! Serving evidence: `GET /v1/media/<hash>` with single ranges (a browser seeks in a video),
//! the stored Content-Type and `ETag` = the hash; `GET /v1/media/<hash>/thumbnail`. Only to
//! a caller who may read a record that references the file.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use siteproof_core::{MediaHash, RecordId};

use super::TusError;
use crate::AppState;
use crate::blob::BlobMeta;
use crate::error::ErrorBody;
use crate::identity::Principal;
use crate::identity::visibility::Visibility;

/// Photos larger than this get no server-made thumbnail (they are not photos).
const MAX_THUMBNAIL_SOURCE: u64 = 64 << 20;

/// `?record=<id>`: the record the caller reads the file through, when it is not one that
/// uploaded it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Through {
    /// The record the caller reads the file through (a record id).
    record: Option<String>,
}

fn media_hash(raw: &str) -> Result<MediaHash, TusError> {
    raw.parse().map_err(|_| TusError::InvalidId {
        what: "the media hash",
    })
}

/// The blob's metadata, if the caller may read a record referencing it. Not allowed and not
/// stored look the same: 404.
async fn authorized(
    state: &AppState,
    principal: &Principal,
    hash: &MediaHash,
    through: Through,
) -> Result<BlobMeta, TusError> {
    let media = &state.media;
    let meta = media
        .blobs()
        .blob_meta(hash)
        .await?
        .ok_or(TusError::MediaNotFound)?;
    let mut candidates: Vec<RecordId> = Vec::new();
    if let Some(raw) = through.record {
        candidates.push(raw.parse().map_err(|_| TusError::InvalidId {
            what: "the record id",
        })?);
    }
    candidates.extend(meta.records.iter().cloned());
    let policy = principal.visibility();
    for record in &candidates {
        if media
            .readable_record_references(&policy, record, hash)
            .await?
            && office_row_visible(state, &policy, record).await?
        {
            return Ok(meta);
        }
    }
    Err(TusError::MediaNotFound)
}

/// A back-office user reads evidence only through an office row the policy lets them see
/// (the row knows the sector); devices are checked by scope alone.
async fn office_row_visible(
    state: &AppState,
    policy: &Visibility,
    record: &RecordId,
) -> Result<bool, TusError> {
    if !policy.reads_through_office() {
        return Ok(true);
    }
    state
        .backoffice
        .may_read_record(policy, record.as_str())
        .await
        .map_err(|e| TusError::Internal(e.to_string()))
}

/// Appends the view to the custody log; evidence is not served unlogged.
async fn log_view(
    state: &AppState,
    principal: &Principal,
    hash: &MediaHash,
    record: Option<String>,
    what: &str,
) -> Result<(), TusError> {
    let record = record.and_then(|r| r.parse::<RecordId>().ok());
    state
        .evidence
        .log_view(&principal.actor(), hash, record.as_ref(), what)
        .await
        .map_err(|e| TusError::Internal(e.to_string()))
}

/// An evidence file, to a device or office user that may read a record referencing it
/// (ranges, `ETag`, `If-None-Match`). Every read is written to the custody log.
#[utoipa::path(get, path = "/v1/media/{hash}", tag = "media",
    security(("device_token" = []), ("office_session" = [])),
    params(
        ("hash" = String, Path, description = "The file's SHA-256, hex"),
        Through,
        ("Range" = Option<String>, Header, description = "`bytes=START-[END]`"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` held"),
    ),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("ETag" = String), ("Accept-Ranges" = String))),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream", body = Vec<u8>,
            headers(("Content-Range" = String))),
        (status = 304, description = "Not modified"),
        (status = 400, description = "`invalid_id`: not a SHA-256", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`media_not_found`: no such file, or not the caller's to read", body = ErrorBody),
        (status = 416, description = "`range_not_satisfiable`", body = ErrorBody),
    ))]
pub(super) async fn media(
    State(state): State<AppState>,
    principal: Principal,
    Path(hash): Path<String>,
    Query(through): Query<Through>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    let hash = media_hash(&hash)?;
    let named = through.record.clone();
    let meta = authorized(&state, &principal, &hash, through).await?;
    log_view(&state, &principal, &hash, named, "original").await?;
    let etag = format!("\"{hash}\"");
    let mut out = HeaderMap::new();
    out.insert(header::ETAG, header_value(&etag)?);
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    out.insert(header::CONTENT_TYPE, header_value(&meta.mime)?);
    let matches_etag = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches_etag {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(raw) => parse_range(raw, meta.size)?,
        None => None,
    };
    let blobs = state.media.blobs();
    let (status, start, end) = match range {
        Some((start, end)) => {
            out.insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes {start}-{}/{}", end - 1, meta.size))?,
            );
            (StatusCode::PARTIAL_CONTENT, start, end)
        }
        None => (StatusCode::OK, 0, meta.size),
    };
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    let stream = blobs.read_blob(&hash, start..end).await?;
    Ok((status, out, Body::from_stream(stream)).into_response())
}

/// A JPEG thumbnail of an evidence photo, to whoever may read the photo.
#[utoipa::path(get, path = "/v1/media/{hash}/thumbnail", tag = "media",
    security(("device_token" = []), ("office_session" = [])),
    params(("hash" = String, Path, description = "The photo's SHA-256, hex"), Through),
    responses(
        (status = 200, description = "The thumbnail", content_type = "image/jpeg", body = Vec<u8>),
        (status = 400, description = "`invalid_id`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`media_not_found`: no such photo, not the caller's, or no thumbnail", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    ))]
pub(super) async fn thumbnail(
    State(state): State<AppState>,
    principal: Principal,
    Path(hash): Path<String>,
    Query(through): Query<Through>,
) -> Result<Response, TusError> {
    let hash = media_hash(&hash)?;
    let named = through.record.clone();
    let meta = authorized(&state, &principal, &hash, through).await?;
    log_view(&state, &principal, &hash, named, "thumbnail").await?;
    let blobs = state.media.blobs();
    let jpeg = match blobs.thumbnail(&hash).await? {
        Some(jpeg) => jpeg,
        None if meta.mime.starts_with("image/") && meta.size <= MAX_THUMBNAIL_SOURCE => {
            let mut stream = blobs.read_blob(&hash, 0..meta.size).await?;
            let mut image = Vec::with_capacity(usize::try_from(meta.size).unwrap_or(0));
            while let Some(data) = stream.next().await {
                image.extend_from_slice(&data.map_err(crate::blob::BlobError::from)?);
            }
            // An image that does not decode has no thumbnail; the original still serves.
            let made = state
                .media
                .thumbnails
                .run(move || {
                    siteproof_core::media::thumbnail_jpeg(&image).map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| match e {
                    crate::Error::Busy { retry_after_secs } => TusError::Busy { retry_after_secs },
                    other => TusError::Internal(format!("thumbnail task: {other}")),
                })?;
            let jpeg = Bytes::from(made.map_err(|_| TusError::MediaNotFound)?);
            blobs.put_thumbnail(&hash, jpeg.clone()).await?;
            jpeg
        }
        // Video posters are made on the phone; the server has none to offer yet.
        None => return Err(TusError::MediaNotFound),
    };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
        (
            header::ETAG,
            header_value(&format!("\"{hash}-thumbnail\""))?,
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=31536000, immutable"),
        ),
    ];
    Ok((StatusCode::OK, headers, jpeg).into_response())
}

fn header_value(s: &str) -> Result<HeaderValue, TusError> {
    HeaderValue::from_str(s).map_err(|e| TusError::Internal(format!("header value: {e}")))
}

/// One `bytes=` range as `[start, end)`. `None` for forms we ignore (several ranges, other
/// units, garbage): the whole file is then served, as RFC 9110 allows.
fn parse_range(raw: &str, size: u64) -> Result<Option<(u64, u64)>, TusError> {
    let Some(spec) = raw.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (first, last) = (first.trim(), last.trim());
    let range = if first.is_empty() {
        let Ok(suffix) = last.parse::<u64>() else {
            return Ok(None);
        };
        if suffix == 0 {
            return Err(TusError::RangeNotSatisfiable { size });
        }
        (size.saturating_sub(suffix), size)
    } else {
        let Ok(start) = first.parse::<u64>() else {
            return Ok(None);
        };
        let end = if last.is_empty() {
            size
        } else {
            match last.parse::<u64>() {
                // `bytes=0-18446744073709551615` is the whole file, not an overflow.
                Ok(l) if l >= start => l.saturating_add(1).min(size),
                _ => return Ok(None),
            }
        };
        (start, end)
    };
    if range.0 >= size || range.0 >= range.1 {
        return Err(TusError::RangeNotSatisfiable { size });
    }
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_open_closed_and_suffix_forms() {
        assert_eq!(parse_range("bytes=0-99", 1000).expect("ok"), Some((0, 100)));
        assert_eq!(
            parse_range("bytes=900-", 1000).expect("ok"),
            Some((900, 1000))
        );
        assert_eq!(
            parse_range("bytes=-100", 1000).expect("ok"),
            Some((900, 1000))
        );
        assert_eq!(
            parse_range("bytes=990-5000", 1000).expect("ok"),
            Some((990, 1000))
        );
        assert_eq!(parse_range("bytes=0-1,5-6", 1000).expect("ok"), None);
        assert_eq!(parse_range("items=0-1", 1000).expect("ok"), None);
        assert!(matches!(
            parse_range("bytes=1000-", 1000),
            Err(TusError::RangeNotSatisfiable { size: 1000 })
        ));
    }

    #[test]
    fn ranges_at_the_limits_of_u64_saturate_instead_of_overflowing() {
        let max = u64::MAX;
        assert_eq!(
            parse_range(&format!("bytes=0-{max}"), 1000).expect("ok"),
            Some((0, 1000))
        );
        assert_eq!(
            parse_range(&format!("bytes=999-{max}"), 1000).expect("ok"),
            Some((999, 1000))
        );
        assert_eq!(
            parse_range(&format!("bytes=-{max}"), 1000).expect("ok"),
            Some((0, 1000))
        );
        assert!(matches!(
            parse_range(&format!("bytes={max}-{max}"), 1000),
            Err(TusError::RangeNotSatisfiable { size: 1000 })
        ));
        // One past u64: not a number, so the whole file (RFC 9110 lets us ignore the header).
        assert_eq!(
            parse_range("bytes=0-18446744073709551616", 1000).expect("ok"),
            None
        );
    }
}
