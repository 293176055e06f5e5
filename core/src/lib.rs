//! # siteproof-core
//!
//! The phone's brain: inspection records as [Automerge](automerge) documents in a crash-safe
//! SQLite store. Everything an inspector captures on a covert visit is durable the moment a
//! call returns `Ok`, and records edited on several phones merge without losing anything.
//!
//! ## A visit, start to finish
//!
//! ```
//! use siteproof_core::*;
//!
//! # fn main() -> Result<()> {
//! let dir = tempfile::tempdir()?;
//! let mut store = Store::open(dir.path().join("siteproof.db"))?;
//! store.set_profile(&Profile { inspector: "张三".into(), scope: Scope::group("hebei", "g1") })?;
//!
//! // Templates normally arrive by sync; here we publish one locally.
//! let template: Template = serde_json::from_str(r#"{
//!   "id": "gas-demo", "version": 1, "sector": "gas",
//!   "title": {"zh": "燃气检查", "en": "Gas check"},
//!   "source": {"document": "城镇燃气经营安全重大隐患判定标准", "reference": "demo"},
//!   "items": [{"id": "g-01", "text": {"zh": "报警器完好", "en": "Gas alarm works"},
//!              "criterion": {"document": "城镇燃气经营安全重大隐患判定标准", "clause": "第三条"},
//!              "severity": "major", "answer": {"kind": "pass_fail"}, "evidence_required": true}]
//! }"#).expect("valid template");
//! store.put_template(&template)?;
//!
//! let visit = store.create_visit(NewVisit {
//!     site: Site { name: "某燃气站".into(), credit_code: None, address: "石家庄".into(), sector: Sector::Gas },
//!     mode: VisitMode::Covert,
//!     team: vec!["张三".into()],
//!     template: TemplateRef { id: template.id.clone(), version: 1 },
//!     assignment: None,
//!     location: None,
//! })?;
//! store.answer_item(&visit, &"g-01".parse()?, AnswerInput {
//!     value: AnswerValue::Fail, note: Some("报警器断电".into()), media: vec![],
//! })?;
//! store.add_finding(&visit, NewFinding {
//!     description: "可燃气体报警器未通电".into(), severity: Severity::Major,
//!     item: Some("g-01".parse()?), location: None, media: vec![],
//!     fixed_on_spot: false, interim_measures: Some("停止营业".into()),
//! })?;
//!
//! let list = store.list_visits()?;
//! assert_eq!(list[0].major_findings, 1);
//! assert_eq!(store.outbox_len()?, 3); // creation, answer, finding: waiting for the server
//! # Ok(()) }
//! ```
//!
//! ## Layout
//!
//! - [`model`]: what each record holds (template, visit, findings, media references).
//! - [`document`]: one Automerge document per record, with a header (kind, id, scope).
//! - [`Store`]: the SQLite store: chunks, compaction, index tables, outbox, merge.
//!   [`Store::open_encrypted`] keeps it (and, through [`Store::media_store`], the evidence
//!   files) encrypted at rest under the app's [`StoreKey`].
//! - [`evidence`]: the signed statement of each capture.
//! - [`peer`]: devices of one group merge directly, authenticated and encrypted, with no
//!   server in reach.
//! - [`media`]: evidence files by SHA-256, thumbnails, the upload queue and (feature
//!   `http-client`) the tus uploader.

mod credit_code;
pub mod document;
mod error;
pub mod evidence;
#[doc(hidden)]
pub mod fuzz_entry;
mod ids;
pub mod media;
pub mod migrations;
pub mod model;
mod parallel;
pub mod peer;
pub mod record_check;
mod store;
pub mod supervision;
pub mod sync;
mod visit_doc;

pub use credit_code::{
    CREDIT_CODE_LEN, CreditCode, CreditCodeError, credit_code_check_char, normalize_credit_code,
};
pub use document::{RecordHeader, RecordKind};
pub use error::{Error, Result};
pub use ids::{DeviceId, FindingId, ItemId, MediaHash, RecordId, TemplateId, is_valid_id};
pub use model::*;
pub use store::{
    AnswerInput, DirectoryInfo, PreparedRecord, PulledPage, RoundOutcome, VisitFromAssignment,
    VisitFromEnterprise,
};
pub use store::{Eviction, MediaCapture, MediaInfo};
pub use store::{
    MergeOrigin, MergeOutcome, PeerCredentials, PendingChanges, Profile, Store, StoreKey,
    TemplateSummary, UnreadableRecord,
};
pub use supervision::{Reason, RiskFacts, RiskRule, RiskScore, SectorRisk, Tier};
#[cfg(feature = "http-client")]
pub use sync::{Enrollment, SyncClient, SyncSummary};

/// Re-exported so callers can name change hashes and actors without a direct dependency.
pub use automerge::{ActorId, ChangeHash};
