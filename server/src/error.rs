//! The server's two error types: [`Error`], what the services report, and [`AppError`], what a
//! client sees. The choice of status, code and message is made once, in
//! `impl IntoResponse for AppError`: 4xx bodies say what was wrong, 5xx bodies are opaque and
//! the detail goes to the log. Messages name ids and reasons, never record content.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::storage::StorageError;

/// What went wrong in a service call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is not what the protocol allows (garbage CBOR, bad Automerge data, ...).
    #[error("{0}")]
    Malformed(String),
    /// A field of a request is invalid.
    #[error("{0}")]
    InvalidInput(String),
    /// A push holds more records than one request may carry.
    #[error(
        "the push holds {records} records; at most {limit} per request (push the rest in the next requests)"
    )]
    TooManyRecords {
        /// Records in the push.
        records: usize,
        /// The most one push may hold.
        limit: usize,
    },
    /// Pushed changes depend on history the server does not have.
    #[error(
        "record {id}: {missing} change(s) depend on history the server does not have; push them too"
    )]
    MissingDependencies {
        /// The record.
        id: String,
        /// How many dependencies are missing.
        missing: usize,
    },
    /// Pushed changes alter a record's kind, id, scope or schema.
    #[error(
        "record {id}: changes alter the record's kind, id, scope or schema, which never change"
    )]
    HeaderChanged {
        /// The record.
        id: String,
    },
    /// The record, with the pushed changes applied, does not match the record layout
    /// (`docs/records.md`); nothing of the push was stored.
    #[error("record {id} does not match the record layout at {path:?}: {reason}")]
    InvalidRecord {
        /// The record.
        id: String,
        /// The field, as a path from the document root.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The device wrote outside its region and group.
    #[error("record {id} is outside this device's region and group")]
    ForbiddenScope {
        /// The record.
        id: String,
    },
    /// The device wrote a kind only the back office writes.
    #[error("record {id} is a {kind}; devices may not write that kind")]
    ForbiddenKind {
        /// The record.
        id: String,
        /// Its kind.
        kind: String,
    },
    /// `need_full` names a record the device cannot see (or that does not exist).
    #[error("record {id} is unknown (or not visible to this device)")]
    UnknownRecord {
        /// The record.
        id: String,
    },
    /// The enrollment code is unknown, used or expired.
    #[error("the enrollment code is unknown, already used or expired")]
    EnrollmentRefused,
    /// Too many refused enrollments from this address lately.
    #[error("too many refused enrollment attempts from this address; wait and try again")]
    TooManyAttempts,
    /// No valid, unrevoked bearer token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The signed-in user's role does not allow this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Too many requests from one client (or from everyone) in a short time.
    #[error("{0}")]
    RateLimited(&'static str),
    /// Too much heavy work (password checks, documents) is running or queued already.
    #[error("the server is busy; retry in {retry_after_secs} s")]
    Busy {
        /// What the `Retry-After` header says.
        retry_after_secs: u64,
    },
    /// No such group.
    #[error("group {0} does not exist")]
    UnknownGroup(String),
    /// No such device.
    #[error("device {0} does not exist")]
    UnknownDevice(String),
    /// The write conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(StorageError),
    /// A bug or an unexpected failure.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict(msg) => Error::Conflict(msg),
            other => Error::Storage(other),
        }
    }
}

/// Shorthand for service results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error as an HTTP response.
#[derive(Debug)]
pub enum AppError {
    /// A service error.
    Service(Error),
    /// The body is larger than the limit.
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body has the wrong content type.
    UnsupportedMediaType(&'static str),
    /// No route serves the URL.
    NoRoute,
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError::Service(e)
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        AppError::Service(e.into())
    }
}

/// The JSON body of every error response (the tus and media endpoints' too).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// The snake_case code clients branch on (`malformed`, `unauthorized`, `busy`...).
    #[schema(value_type = String, example = "unauthorized")]
    error: &'static str,
    /// What was wrong, for people; opaque for 5xx.
    message: String,
}

impl AppError {
    /// The status and the snake_case code clients branch on.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            AppError::PayloadTooLarge { .. } => (S::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::UnsupportedMediaType(_) => {
                (S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            AppError::NoRoute => (S::NOT_FOUND, "not_found"),
            AppError::Service(e) => match e {
                Error::Malformed(_) => (S::BAD_REQUEST, "malformed"),
                Error::InvalidInput(_) => (S::BAD_REQUEST, "invalid_input"),
                // The same answer as a body over the limit: push fewer records per request.
                Error::TooManyRecords { .. } => (S::PAYLOAD_TOO_LARGE, "payload_too_large"),
                Error::MissingDependencies { .. } => {
                    (S::UNPROCESSABLE_ENTITY, "missing_dependencies")
                }
                Error::HeaderChanged { .. } => (S::UNPROCESSABLE_ENTITY, "header_changed"),
                Error::InvalidRecord { .. } => (S::UNPROCESSABLE_ENTITY, "invalid_record"),
                Error::ForbiddenScope { .. } => (S::FORBIDDEN, "forbidden_scope"),
                Error::ForbiddenKind { .. } => (S::FORBIDDEN, "forbidden_kind"),
                Error::UnknownRecord { .. } => (S::NOT_FOUND, "unknown_record"),
                Error::EnrollmentRefused => (S::FORBIDDEN, "enrollment_refused"),
                Error::TooManyAttempts => (S::TOO_MANY_REQUESTS, "too_many_attempts"),
                Error::Unauthorized(_) => (S::UNAUTHORIZED, "unauthorized"),
                Error::Forbidden(_) => (S::FORBIDDEN, "forbidden"),
                Error::RateLimited(_) => (S::TOO_MANY_REQUESTS, "rate_limited"),
                Error::Busy { .. } => (S::SERVICE_UNAVAILABLE, "busy"),
                Error::UnknownGroup(_) => (S::NOT_FOUND, "unknown_group"),
                Error::UnknownDevice(_) => (S::NOT_FOUND, "unknown_device"),
                Error::Conflict(_) => (S::CONFLICT, "conflict"),
                Error::Storage(_) | Error::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal"),
            },
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        crate::metrics::refusal(code);
        let retry_after = match &self {
            AppError::Service(Error::Busy { retry_after_secs }) => Some(*retry_after_secs),
            _ => None,
        };
        let message = if let Some(secs) = retry_after {
            format!("the server is busy; retry in {secs} s")
        } else if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
            "the server failed to handle the request; it has been logged".to_string()
        } else {
            tracing::debug!(code, error = ?self, "request refused");
            match &self {
                AppError::PayloadTooLarge { limit } => {
                    format!("the request body is larger than the limit of {limit} bytes")
                }
                AppError::UnsupportedMediaType(expected) => {
                    format!("the request body must have Content-Type: {expected}")
                }
                AppError::NoRoute => "no such endpoint; docs/sync-protocol.md lists them".into(),
                AppError::Service(e) => e.to_string(),
            }
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: code,
                message,
            }),
        )
            .into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if status == StatusCode::UNAUTHORIZED
            && let Ok(v) = "Bearer".parse()
        {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, v);
        }
        response
    }
}
