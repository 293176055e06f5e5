//! # siteproof-ffi
//!
//! The siteproof core for Android (Kotlin), iOS (Swift) and back-office scripts (Python),
//! through [uniffi](https://mozilla.github.io/uniffi-rs/) proc-macros. This crate holds no
//! logic: [`SiteproofStore`] wraps the core's `Store` and media folder, each method a
//! delegate; records and enums mirror the core's model; [`ApiError`] is the one error type,
//! sorted from the core's errors in one place (`error.rs`).
//!
//! ## Threading
//!
//! Every call blocks the calling thread. Store calls do disk I/O (milliseconds; a write is
//! durable when it returns); `enroll`, `sync` and `upload_pending` do network I/O. Call them
//! off the main thread. The store is thread-safe: calls wait for each other on one lock,
//! except `upload_pending`, which runs on its own database connection so that an inspector
//! can keep capturing while hours of footage upload. Progress callbacks arrive on the thread
//! running the upload. See `docs/mobile.md`.
//!
//! Nothing is exported `async`: the core does blocking I/O without a runtime, so an async
//! export would only move the blocking onto the foreign executor's thread. The apps wrap the
//! calls in their own dispatchers instead (`Dispatchers.IO`, a detached `Task`).
//!
//! ## Memory
//!
//! The library allocates with mimalloc (its own heap, not the platform's `malloc`): in a
//! fresh device's pull of 10,000 visits glibc's `malloc` and `free` were a quarter of the
//! CPU, and mimalloc took the pull's CPU down by about 30 % for about 25 MiB more peak
//! resident memory (`docs/benchmarks.md`). Transparent huge pages are left off, so it holds
//! memory in 4 KiB pages as the system allocator does.
//!
//! ## Bindings
//!
//! `ffi/build-bindings.sh` builds this crate on its own and generates Kotlin, Swift and Python
//! into `target/bindings/`.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod answer;
mod assignments;
mod directory;
mod error;
mod finding;
mod media;
mod peer;
mod reinspection;
mod store;
mod sync;
mod template;
mod unreadable;
mod upload;
mod visit;

pub use answer::{Answer, AnswerConflict, AnswerInput, AnswerValue};
pub use assignments::{
    Assignment, AssignmentKind, Collection, CollectionKind, ExpertContact, VisitFromAssignment,
};
pub use directory::{DirectoryEntry, DirectoryInfo, VisitFromEnterprise};
pub use error::{ApiError, ApiResult};
pub use finding::{Finding, NewFinding};
pub use media::{
    Eviction, MediaCapture, MediaInfo, MediaKind, MediaRef, Network, UploadItem, UploadPolicy,
    UploadProblem, UploadState, UploadSummary,
};
pub use peer::{PeerSession, PeerSummary};
pub use reinspection::{
    Hazard, NewReinspection, Reinspection, ReinspectionOutcome, ReinspectionTask,
};
pub use store::SiteproofStore;
pub use sync::{Enrollment, Profile, SyncSummary};
pub use template::{
    AnswerKind, Criterion, LocalizedText, Scope, Sector, Severity, Template, TemplateItem,
    TemplateSource, TemplateSummary,
};
pub use unreadable::UnreadableRecord;
pub use upload::{CancelToken, UploadProgress};
pub use visit::{GeoPoint, NewVisit, Site, TemplateRef, Visit, VisitMode, VisitSummary};

uniffi::setup_scaffolding!();

#[cfg(test)]
mod tests {
    /// Kotlin block comments nest: a `/*` inside a doc comment (say, a glob) would swallow the
    /// rest of the generated Kotlin file.
    #[test]
    fn doc_comments_never_open_or_close_a_block_comment() {
        let sources = [
            include_str!("answer.rs"),
            include_str!("directory.rs"),
            include_str!("error.rs"),
            include_str!("finding.rs"),
            include_str!("media.rs"),
            include_str!("store.rs"),
            include_str!("sync.rs"),
            include_str!("template.rs"),
            include_str!("upload.rs"),
            include_str!("visit.rs"),
        ];
        for line in sources.iter().flat_map(|s| s.lines()) {
            let doc = line.trim_start();
            if doc.starts_with("///") {
                assert!(
                    !doc.contains("/*") && !doc.contains("*/"),
                    "block comment marker in a doc comment: {doc}"
                );
            }
        }
    }
}
