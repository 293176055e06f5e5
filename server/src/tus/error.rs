//! Errors of the media endpoints, as the same JSON body every endpoint uses
//! (`{"error": code, "message": ...}`), with the tus headers a tus client expects.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::blob::BlobError;
use crate::storage::StorageError;

/// What went wrong with an upload or a media request.
#[derive(Debug, thiserror::Error)]
pub enum TusError {
    /// A required header is absent.
    #[error("the {0} header is required")]
    MissingHeader(&'static str),
    /// A header is present but unusable.
    #[error("the {name} header is invalid: {reason}")]
    InvalidHeader {
        /// Header name.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// `Tus-Resumable` names a version this server does not speak.
    #[error("this server speaks tus 1.0.0")]
    UnsupportedVersion,
    /// An id in the path is not an upload id or media hash.
    #[error("{what} in the path is not valid")]
    InvalidId {
        /// What the path segment should be.
        what: &'static str,
    },
    /// No such upload (or another device's).
    #[error("no such upload")]
    UnknownUpload,
    /// The upload expired and was removed.
    #[error("the upload expired; create a new one")]
    Expired,
    /// `Upload-Offset` differs from the bytes received.
    #[error("Upload-Offset must be {expected}")]
    OffsetMismatch {
        /// The offset the server holds.
        expected: u64,
    },
    /// Too many thumbnails are being made already.
    #[error("the server is busy; retry in {retry_after_secs} s")]
    Busy {
        /// What the `Retry-After` header says.
        retry_after_secs: u64,
    },
    /// Another request is appending to this upload.
    #[error("another request is writing to this upload; retry")]
    Locked,
    /// `Upload-Length` is over the limit.
    #[error("uploads may be at most {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The body runs past the declared length.
    #[error("the body runs past Upload-Length {length}")]
    BeyondLength {
        /// The declared length.
        length: u64,
    },
    /// `Upload-Checksum` names an algorithm the server does not check.
    #[error("Upload-Checksum must use crc32c, sha256 or sha1")]
    UnsupportedChecksum,
    /// The chunk's bytes do not match its `Upload-Checksum`; it was discarded.
    #[error("the chunk does not match its Upload-Checksum; it was discarded, send it again")]
    ChecksumMismatch,
    /// The whole file does not have the SHA-256 its metadata claims; nothing was stored.
    #[error("the file's SHA-256 does not match the claimed sha256; nothing was stored")]
    HashMismatch,
    /// The record is unknown, outside the device's scope, or does not reference the file.
    #[error("the record is unknown, outside this device's scope, or does not reference this file")]
    NotReferenced,
    /// A `PATCH` body must be `application/offset+octet-stream`.
    #[error("the body must have Content-Type: application/offset+octet-stream")]
    WrongContentType,
    /// The body stopped before its end.
    #[error("the request body broke off: {0}")]
    BodyInterrupted(String),
    /// No such media, or not visible to the caller.
    #[error("no such media")]
    MediaNotFound,
    /// The `Range` cannot be served.
    #[error("the range is not satisfiable for a {size}-byte file")]
    RangeNotSatisfiable {
        /// The file's size.
        size: u64,
    },
    /// Blob store failure.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Record storage failure.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Anything else unexpected.
    #[error("internal: {0}")]
    Internal(String),
}

impl TusError {
    /// The status and the snake_case code clients branch on.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            TusError::MissingHeader(_) => (S::BAD_REQUEST, "missing_header"),
            TusError::InvalidHeader { .. } => (S::BAD_REQUEST, "invalid_header"),
            TusError::UnsupportedVersion => (S::PRECONDITION_FAILED, "unsupported_version"),
            TusError::InvalidId { .. } => (S::BAD_REQUEST, "invalid_id"),
            TusError::UnknownUpload => (S::NOT_FOUND, "unknown_upload"),
            TusError::Expired => (S::GONE, "upload_expired"),
            TusError::OffsetMismatch { .. } => (S::CONFLICT, "offset_mismatch"),
            TusError::Locked => (S::LOCKED, "upload_locked"),
            TusError::Busy { .. } => (S::SERVICE_UNAVAILABLE, "busy"),
            TusError::TooLarge { .. } | TusError::BeyondLength { .. } => {
                (S::PAYLOAD_TOO_LARGE, "upload_too_large")
            }
            TusError::UnsupportedChecksum => (S::BAD_REQUEST, "checksum_algorithm_unsupported"),
            TusError::ChecksumMismatch => (
                S::from_u16(460).unwrap_or(S::BAD_REQUEST),
                "checksum_mismatch",
            ),
            TusError::HashMismatch => (S::UNPROCESSABLE_ENTITY, "hash_mismatch"),
            TusError::NotReferenced => (S::FORBIDDEN, "not_referenced"),
            TusError::WrongContentType => (S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            TusError::BodyInterrupted(_) => (S::BAD_REQUEST, "body_interrupted"),
            TusError::MediaNotFound => (S::NOT_FOUND, "media_not_found"),
            TusError::RangeNotSatisfiable { .. } => {
                (S::RANGE_NOT_SATISFIABLE, "range_not_satisfiable")
            }
            TusError::Blob(_) | TusError::Storage(_) | TusError::Internal(_) => {
                (S::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }
}

impl IntoResponse for TusError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        crate::metrics::refusal(code);
        let message = if let TusError::Busy { .. } = self {
            self.to_string()
        } else if status.is_server_error() {
            tracing::error!(error = ?self, "media request failed");
            "the server failed to handle the request; it has been logged".to_string()
        } else {
            tracing::debug!(code, error = %self, "media request refused");
            self.to_string()
        };
        let body = serde_json::json!({ "error": code, "message": message });
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            "tus-resumable",
            HeaderValue::from_static(super::TUS_VERSION),
        );
        match self {
            TusError::UnsupportedVersion => {
                headers.insert("tus-version", HeaderValue::from_static(super::TUS_VERSION));
            }
            TusError::OffsetMismatch { expected } => {
                if let Ok(v) = HeaderValue::from_str(&expected.to_string()) {
                    headers.insert("upload-offset", v);
                }
            }
            TusError::RangeNotSatisfiable { size } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert("content-range", v);
                }
            }
            TusError::Busy { retry_after_secs } => {
                headers.insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
            }
            _ => {}
        }
        response
    }
}
