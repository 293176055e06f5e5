//! Evidence uploads over tus 1.0.0 (creation, creation-with-upload, termination, checksum
//! with sha256, expiration) and evidence serving (`GET /v1/media/<hash>` with ranges).
//!
//! `Upload-Metadata` must name the `record` that references the file and the file's claimed
//! `sha256` (hex); `filetype` is kept as its MIME type. A device may only upload files its
//! records reference. The whole file is hashed as it streams in and checked against the claim
//! before it is stored under its hash: a mismatch stores nothing.
//!
//! The handlers only translate HTTP; [`MediaService`] holds the logic.

mod append;
mod error;
mod serve;
mod service;

use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use siteproof_core::{MediaHash, RecordId};

pub use error::TusError;
pub use service::{MediaConfig, MediaService, UploadClaim, UploadStatus};

use crate::AppState;
use crate::principal::Principal;

/// The protocol version spoken.
pub const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
const OFFSET_STREAM: &str = "application/offset+octet-stream";
/// Where uploads are created; an upload's URL is this plus `/<id>`.
pub const UPLOADS_PATH: &str = "/v1/uploads";

/// The media routes. Merged into the app after its body limit: uploads stream any size.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(UPLOADS_PATH, post(create).options(options))
        .route(
            "/v1/uploads/{id}",
            axum::routing::head(status)
                .patch(append)
                .delete(terminate)
                .options(options),
        )
        .route("/v1/media/{hash}", get(serve::media))
        .route("/v1/media/{hash}/thumbnail", get(serve::thumbnail))
}

/// The service, or 500 if this server was built without a blob store.
fn service(state: &AppState) -> Result<&MediaService, TusError> {
    state
        .media
        .as_deref()
        .ok_or_else(|| TusError::Internal("no blob store configured".into()))
}

async fn options(State(state): State<AppState>) -> Response {
    let max = state
        .media
        .as_ref()
        .map_or(0, |m| m.config.max_upload_bytes);
    let mut headers = tus_headers();
    headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    headers.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    headers.insert("tus-checksum-algorithm", HeaderValue::from_static("sha256"));
    headers.insert("tus-max-size", HeaderValue::from(max));
    (StatusCode::NO_CONTENT, headers).into_response()
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TusError> {
    let media = service(&state)?;
    let device = principal.device().map_err(|_| TusError::NotReferenced)?;
    check_version(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(invalid(
            "Upload-Defer-Length",
            "deferred length is not supported",
        ));
    }
    let length = number(&headers, "upload-length", "Upload-Length")?;
    let claim = parse_metadata(&headers)?;
    let with_body = content_type_is(&headers, OFFSET_STREAM);
    let checksum = if with_body { checksum(&headers)? } else { None };
    let mut status = media.create(device, length, claim).await?;
    if with_body && status.offset < status.length {
        // creation-with-upload: the body is the first chunk.
        status = media
            .append(device, &status.id, 0, checksum, body.into_data_stream())
            .await?;
    }
    let mut out = status_headers(&status);
    let location = format!("{UPLOADS_PATH}/{}", status.id);
    out.insert(
        "location",
        HeaderValue::from_str(&location).map_err(|e| TusError::Internal(e.to_string()))?,
    );
    Ok((StatusCode::CREATED, out).into_response())
}

async fn status(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    let media = service(&state)?;
    check_version(&headers)?;
    let status = media
        .status(
            principal.device().map_err(|_| TusError::UnknownUpload)?,
            upload_id(&id)?,
        )
        .await?;
    let mut out = status_headers(&status);
    out.insert("upload-length", HeaderValue::from(status.length));
    out.insert("cache-control", HeaderValue::from_static("no-store"));
    Ok((StatusCode::OK, out).into_response())
}

async fn append(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TusError> {
    let media = service(&state)?;
    check_version(&headers)?;
    let id = upload_id(&id)?;
    if !content_type_is(&headers, OFFSET_STREAM) {
        return Err(TusError::WrongContentType);
    }
    let offset = number(&headers, "upload-offset", "Upload-Offset")?;
    let checksum = checksum(&headers)?;
    let device = principal.device().map_err(|_| TusError::UnknownUpload)?;
    let status = media
        .append(device, id, offset, checksum, body.into_data_stream())
        .await?;
    Ok((StatusCode::NO_CONTENT, status_headers(&status)).into_response())
}

async fn terminate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    let media = service(&state)?;
    check_version(&headers)?;
    let device = principal.device().map_err(|_| TusError::UnknownUpload)?;
    media.terminate(device, upload_id(&id)?).await?;
    Ok((StatusCode::NO_CONTENT, tus_headers()).into_response())
}

fn tus_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    headers
}

fn status_headers(status: &UploadStatus) -> HeaderMap {
    let mut headers = tus_headers();
    headers.insert("upload-offset", HeaderValue::from(status.offset));
    if let Some(ms) = status.expires_at {
        let when = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(when)) {
            headers.insert("upload-expires", v);
        }
    }
    headers
}

fn check_version(headers: &HeaderMap) -> Result<(), TusError> {
    match headers.get("tus-resumable").map(HeaderValue::as_bytes) {
        Some(v) if v == TUS_VERSION.as_bytes() => Ok(()),
        Some(_) => Err(TusError::UnsupportedVersion),
        None => Err(TusError::MissingHeader("Tus-Resumable")),
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> TusError {
    TusError::InvalidHeader {
        name,
        reason: reason.into(),
    }
}

fn header_str<'a>(
    headers: &'a HeaderMap,
    key: &str,
    name: &'static str,
) -> Result<Option<&'a str>, TusError> {
    headers
        .get(key)
        .map(|v| v.to_str().map_err(|_| invalid(name, "not ASCII")))
        .transpose()
}

fn number(headers: &HeaderMap, key: &str, name: &'static str) -> Result<u64, TusError> {
    let raw = header_str(headers, key, name)?.ok_or(TusError::MissingHeader(name))?;
    raw.trim()
        .parse()
        .map_err(|_| invalid(name, "must be a non-negative integer"))
}

fn content_type_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// `Upload-Checksum: sha256 <base64>`, if present.
fn checksum(headers: &HeaderMap) -> Result<Option<[u8; 32]>, TusError> {
    let Some(raw) = header_str(headers, "upload-checksum", "Upload-Checksum")? else {
        return Ok(None);
    };
    let (algorithm, value) = raw
        .trim()
        .split_once(' ')
        .ok_or_else(|| invalid("Upload-Checksum", "use: sha256 <base64>"))?;
    if !algorithm.eq_ignore_ascii_case("sha256") {
        return Err(TusError::UnsupportedChecksum);
    }
    let bytes = B64
        .decode(value.trim())
        .map_err(|_| invalid("Upload-Checksum", "the digest is not base64"))?;
    bytes
        .try_into()
        .map(Some)
        .map_err(|_| invalid("Upload-Checksum", "a SHA-256 digest is 32 bytes"))
}

/// Parses `Upload-Metadata`: comma-separated `key base64value` pairs.
fn parse_metadata(headers: &HeaderMap) -> Result<UploadClaim, TusError> {
    const NAME: &str = "Upload-Metadata";
    let raw = header_str(headers, "upload-metadata", NAME)?.ok_or(TusError::MissingHeader(NAME))?;
    let (mut record, mut sha256, mut mime) = (None, None, None);
    for pair in raw.split(',') {
        let mut parts = pair.trim().splitn(2, ' ');
        let key = parts.next().unwrap_or_default();
        let value = match parts.next() {
            Some(v) => {
                let bytes = B64
                    .decode(v.trim())
                    .map_err(|_| invalid(NAME, format!("{key}: value is not base64")))?;
                String::from_utf8(bytes)
                    .map_err(|_| invalid(NAME, format!("{key}: value is not UTF-8")))?
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

/// A plain `type/subtype` token: what we are willing to echo back as a Content-Type.
fn is_mime(s: &str) -> bool {
    s.len() <= 100
        && s.split_once('/')
            .is_some_and(|(t, st)| !t.is_empty() && !st.is_empty())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/.+-_".contains(&b))
}

/// Upload ids are 32 lowercase hex digits (a UUID without dashes); nothing else reaches the
/// blob store, so no path segment can climb out of it.
fn upload_id(id: &str) -> Result<&str, TusError> {
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
