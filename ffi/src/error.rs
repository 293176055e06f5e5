//! The one error type the apps see, and the one place where the core's errors are sorted into
//! it. Variants are what a caller can act on; `reason` is for logs and never carries answer
//! text or notes (the core's messages name ids and causes only).

use siteproof_core::Error;

/// Why a call failed. Kotlin sees it as `ApiException` (one subclass per variant), Swift as
/// `ApiError`, Python as `ApiError.<Variant>` exceptions.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ApiError {
    /// No record, template version, media file or server enrollment by that id: refresh the
    /// list, or enroll first.
    #[error("not found: {reason}")]
    NotFound {
        /// What was looked for.
        reason: String,
    },
    /// The input is invalid (a malformed id, a template that fails validation, an answer that
    /// does not fit its item, evidence not attached to the visit): fix the input.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
    /// The record exists but is of another kind than the call expects (e.g. a template id
    /// given where a visit id belongs).
    #[error("wrong kind of record: {reason}")]
    WrongKind {
        /// Which record and kinds.
        reason: String,
    },
    /// The server could not be reached, the connection broke, or an upload step failed: retry
    /// later (the store is consistent; nothing acknowledged is lost).
    #[error("network error: {reason}")]
    Network {
        /// The transport's explanation.
        reason: String,
    },
    /// The server refused this device's token or the enrollment code: enroll again with a
    /// fresh code from the back office.
    #[error("unauthorized: {reason}")]
    Unauthorized {
        /// The server's explanation.
        reason: String,
    },
    /// The server refused the request for another reason; `code` is its machine-readable code
    /// (see `docs/sync-protocol.md`).
    #[error("server refused the request ({status} {code}): {reason}")]
    ServerRefused {
        /// HTTP status.
        status: u16,
        /// The server's error code, e.g. `forbidden_scope`.
        code: String,
        /// The server's explanation.
        reason: String,
    },
    /// The caller cancelled the operation (see `CancelToken`); what was done so far is kept.
    #[error("cancelled")]
    Cancelled,
    /// The database was written by a newer version of the app: update the app.
    #[error("store needs a newer app: {reason}")]
    NeedsNewerApp {
        /// The versions found and supported.
        reason: String,
    },
    /// The key does not open the store: a wrong key, no key for an encrypted store, or a key
    /// for an unencrypted one. Nothing was changed on disk; never delete the store on this
    /// error (a keystore that lost its key is the usual cause: report it).
    #[error("wrong key: {reason}")]
    WrongKey {
        /// Which of the three.
        reason: String,
    },
    /// The phone's storage failed (disk full, file unreadable, database error).
    #[error("storage error: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// Stored or received data is damaged or does not match the model.
    #[error("malformed data: {reason}")]
    Malformed {
        /// What is damaged.
        reason: String,
    },
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let reason = e.to_string();
        match e {
            Error::NotFound { .. } | Error::MediaMissing(_) => Self::NotFound { reason },
            Error::InvalidId { .. }
            | Error::InvalidTemplate { .. }
            | Error::UnknownItem { .. }
            | Error::InvalidAnswer { .. }
            | Error::UnknownMedia { .. }
            | Error::InvalidInput(_)
            | Error::InvalidKey(_)
            | Error::Json(_) => Self::InvalidInput { reason },
            Error::WrongKey | Error::KeyRequired | Error::NotEncrypted => Self::WrongKey { reason },
            Error::WrongKind { .. } => Self::WrongKind { reason },
            Error::Network(_) | Error::Upload(_) | Error::PeerBroken(_) => Self::Network { reason },
            Error::PeerRefused(_) => Self::Unauthorized { reason },
            Error::Server { status, code, .. } if status == 401 || code == "enrollment_refused" => {
                Self::Unauthorized { reason }
            }
            Error::Server {
                status,
                code,
                message,
            } => Self::ServerRefused {
                status,
                code,
                reason: message,
            },
            Error::Cancelled => Self::Cancelled,
            Error::SchemaTooNew { .. } => Self::NeedsNewerApp { reason },
            Error::Storage(_)
            | Error::Io(_)
            | Error::Thumbnail(_)
            | Error::EncryptionUnavailable => Self::Storage { reason },
            Error::Malformed(_)
            | Error::InvalidRecord { .. }
            | Error::MediaDamaged { .. }
            | Error::MissingDependencies { .. }
            | Error::Automerge(_)
            | Error::Hydrate(_)
            | Error::Reconcile(_) => Self::Malformed { reason },
        }
    }
}

/// Shorthand for results of exported calls.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_of_credentials_are_unauthorized_and_others_keep_their_code() {
        let refused = |status, code: &str| Error::Server {
            status,
            code: code.into(),
            message: "m".into(),
        };
        assert!(matches!(
            ApiError::from(refused(401, "unauthorized")),
            ApiError::Unauthorized { .. }
        ));
        assert!(matches!(
            ApiError::from(refused(403, "enrollment_refused")),
            ApiError::Unauthorized { .. }
        ));
        match ApiError::from(refused(403, "forbidden_scope")) {
            ApiError::ServerRefused { status, code, .. } => {
                assert_eq!((status, code.as_str()), (403, "forbidden_scope"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
