//! What long-running calls take from the app: a progress listener it implements, and a token
//! it can cancel from any thread.

use std::sync::atomic::{AtomicBool, Ordering};

/// Receives upload progress. Implemented by the app (Kotlin, Swift or Python).
///
/// Called on the thread that runs the upload, after each chunk the server acknowledged:
/// post to the main thread before touching the UI, and return quickly.
#[uniffi::export(with_foreign)]
pub trait UploadProgress: Send + Sync {
    /// The server now holds `done` of the `total` bytes of the file `hash`.
    fn on_progress(&self, hash: String, done: u64, total: u64);
}

/// Cancels a running upload from another thread. The upload stops at the next chunk boundary
/// and fails with `ApiError.Cancelled`; what the server acknowledged is kept and the next run
/// resumes there. A token stays cancelled: make a new one for the next run.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken {
    cancelled: AtomicBool,
}

#[uniffi::export]
impl CancelToken {
    /// A token that is not cancelled.
    #[uniffi::constructor]
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the operation using this token to stop.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether `cancel()` was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

impl CancelToken {
    /// The flag the core's uploader polls.
    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.cancelled
    }
}
