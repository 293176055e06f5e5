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
mod hashing;
#[doc(hidden)]
pub mod headers;
mod serve;
mod service;

use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use error::TusError;
use headers::{
    check_version, checksum, content_type_is, invalid, number, parse_metadata, upload_id,
};
pub use service::{MediaConfig, MediaService, UploadClaim, UploadStatus};

use crate::AppState;
use crate::identity::Principal;

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

async fn options(State(state): State<AppState>) -> Response {
    let max = state.media.config.max_upload_bytes;
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
    let media = &state.media;
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
    let media = &state.media;
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
    let media = &state.media;
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
    let media = &state.media;
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
