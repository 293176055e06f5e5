//! Evidence uploads over tus 1.0.0 (creation, creation-with-upload, termination, checksum
//! with crc32c, sha256 or sha1, expiration) and evidence serving (`GET /v1/media/<hash>`
//! with ranges).
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
mod lease;
mod serve;
mod service;

use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use siteproof_core::media::checksum::ChecksumAlgorithm;

pub use error::TusError;
use headers::{
    check_version, checksum, content_type_is, invalid, number, parse_metadata, upload_id,
};
pub use service::{MediaConfig, MediaService, UploadClaim, UploadStatus};

use crate::AppState;
use crate::error::ErrorBody;
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

/// The uploads and evidence reads, described for `GET /v1/openapi.json`. tus 1.0.0 is
/// described as far as OpenAPI goes; `docs/media-upload.md` has the rest.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    options,
    create,
    status,
    append,
    terminate,
    serve::media,
    serve::thumbnail
))]
pub(crate) struct MediaApi;

/// What the server supports of tus (no credentials needed).
#[utoipa::path(options, path = "/v1/uploads", tag = "media",
    responses((status = 204, description = "The server's tus capabilities", headers(
        ("Tus-Version" = String, description = "`1.0.0`"),
        ("Tus-Extension" = String, description = "creation,creation-with-upload,termination,checksum,expiration"),
        ("Tus-Checksum-Algorithm" = String, description = "`crc32c,sha256,sha1`: what `Upload-Checksum` may use, the first the one to prefer"),
        ("Tus-Max-Size" = u64, description = "The largest upload accepted, in bytes"),
    ))))]
async fn options(State(state): State<AppState>) -> Response {
    let max = state.media.config.max_upload_bytes;
    let mut headers = tus_headers();
    headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    headers.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    headers.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static(ChecksumAlgorithm::offered()),
    );
    headers.insert("tus-max-size", HeaderValue::from(max));
    (StatusCode::NO_CONTENT, headers).into_response()
}

/// Creates an upload (tus creation; with an `application/offset+octet-stream` body, also
/// its first chunk). `Upload-Metadata` must carry `record` (a record of the device that
/// references the file) and `sha256` (the file's claimed hash, hex), base64 as tus says.
#[utoipa::path(post, path = "/v1/uploads", tag = "media",
    security(("device_token" = [])),
    params(
        ("Tus-Resumable" = String, Header, description = "The protocol version: `1.0.0`"),
        ("Upload-Length" = u64, Header, description = "The file's size in bytes"),
        ("Upload-Metadata" = String, Header, description = "`record <b64>,sha256 <b64>[,filetype <b64>]`"),
        ("Upload-Checksum" = Option<String>, Header, description = "`<algorithm> <b64>` of the first chunk, if sent (as on PATCH)"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream",
        description = "Optional: the first chunk (creation-with-upload)"),
    responses(
        (status = 201, description = "Created", headers(
            ("Location" = String, description = "`/v1/uploads/<id>`"),
            ("Upload-Offset" = u64, description = "Bytes stored so far"),
            ("Upload-Expires" = String, description = "When an unfinished upload is dropped"),
        )),
        (status = 400, description = "`missing_header`, `invalid_header`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`not_referenced`: no record of the device names the file", body = ErrorBody),
        (status = 412, description = "`unsupported_version`", body = ErrorBody),
        (status = 413, description = "`upload_too_large`", body = ErrorBody),
        (status = 422, description = "`hash_mismatch`", body = ErrorBody),
        (status = 503, description = "`busy`", body = ErrorBody),
    ))]
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

/// Where an upload stands (tus HEAD).
#[utoipa::path(head, path = "/v1/uploads/{id}", tag = "media",
    security(("device_token" = [])),
    params(("id" = String, Path, description = "The upload's id (from `Location`)"), ("Tus-Resumable" = String, Header, description = "The protocol version: `1.0.0`")),
    responses(
        (status = 200, description = "The upload", headers(
            ("Upload-Offset" = u64, description = "Bytes stored so far"),
            ("Upload-Length" = u64, description = "The file's size"),
            ("Tus-Checksum-Algorithm" = String, description = "As on `OPTIONS`, so a client resuming an upload knows it without asking"),
        )),
        (status = 400, description = "`invalid_id`", body = ErrorBody),
        (status = 404, description = "`unknown_upload`", body = ErrorBody),
        (status = 410, description = "`upload_expired`", body = ErrorBody),
        (status = 412, description = "`unsupported_version`", body = ErrorBody),
    ))]
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
    out.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static(ChecksumAlgorithm::offered()),
    );
    out.insert("cache-control", HeaderValue::from_static("no-store"));
    Ok((StatusCode::OK, out).into_response())
}

/// Appends a chunk at `Upload-Offset` (tus PATCH); the last chunk completes the file, which
/// is then checked against its claimed hash and stored under it.
#[utoipa::path(patch, path = "/v1/uploads/{id}", tag = "media",
    security(("device_token" = [])),
    params(
        ("id" = String, Path, description = "The upload's id"),
        ("Tus-Resumable" = String, Header, description = "The protocol version: `1.0.0`"),
        ("Upload-Offset" = u64, Header, description = "Where this chunk starts"),
        ("Upload-Checksum" = Option<String>, Header, description = "`<algorithm> <b64>` of this chunk: `crc32c` (4 bytes, big-endian), `sha256` or `sha1`"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Stored", headers(("Upload-Offset" = u64, description = "Bytes stored so far"))),
        (status = 400, description = "`missing_header`, `invalid_header`, `body_interrupted`", body = ErrorBody),
        (status = 404, description = "`unknown_upload`", body = ErrorBody),
        (status = 409, description = "`offset_mismatch`: `Upload-Offset` says where to resume", body = ErrorBody),
        (status = 410, description = "`upload_expired`", body = ErrorBody),
        (status = 413, description = "`upload_too_large`: past `Upload-Length`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`hash_mismatch`: the file is not the one claimed", body = ErrorBody),
        (status = 423, description = "`upload_locked`: another request is writing it", body = ErrorBody),
        (status = 460, description = "`checksum_mismatch`: the chunk's checksum", body = ErrorBody),
    ))]
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

/// Drops an unfinished upload (tus termination).
#[utoipa::path(delete, path = "/v1/uploads/{id}", tag = "media",
    security(("device_token" = [])),
    params(("id" = String, Path, description = "The upload's id"), ("Tus-Resumable" = String, Header, description = "The protocol version: `1.0.0`")),
    responses(
        (status = 204, description = "Dropped"),
        (status = 400, description = "`invalid_id`", body = ErrorBody),
        (status = 404, description = "`unknown_upload`", body = ErrorBody),
    ))]
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
