//! [`TemplateStore`]: the template library as stored. A version is first imported as a draft
//! (its checked JSON, kept until published) and then published as a `template` record in the
//! change log, which every device pulls. A version is created once: publishing it is a
//! create-only write, so of two processes publishing one version at once one creates the
//! record and the other gets a `Conflict`, and nothing of the first is overwritten.

use async_trait::async_trait;
use siteproof_core::RecordId;

use super::{RecordWrite, StorageResult};

/// A template version's key in the library: its template id and version number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TemplateVersion {
    /// The template's id.
    pub id: String,
    /// The version number.
    pub version: u32,
}

/// A template version imported but not published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateDraft {
    /// Which version.
    pub key: TemplateVersion,
    /// The checked template, as JSON.
    pub body: String,
    /// When it was imported, ms since the Unix epoch.
    pub imported_at: i64,
}

/// What importing a draft found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DraftImport {
    /// Stored as a new draft.
    Stored,
    /// The same draft was already stored; nothing changed.
    Unchanged,
    /// A draft of that version is stored with other content; nothing changed.
    OtherContent,
    /// That version is already published (`record` exists); nothing stored.
    Published,
}

/// The template library.
#[async_trait]
pub trait TemplateStore: Send + Sync + 'static {
    /// Stores a draft unless its version is published (`record` is its record's id) or a
    /// draft of it is stored; see [`DraftImport`].
    async fn import_draft(
        &self,
        draft: &TemplateDraft,
        record: &RecordId,
    ) -> StorageResult<DraftImport>;
    /// The draft of one version, if one is stored.
    async fn draft(&self, key: &TemplateVersion) -> StorageResult<Option<TemplateDraft>>;
    /// Every draft, by id then version.
    async fn drafts(&self) -> StorageResult<Vec<TemplateDraft>>;
    /// The ids of the published template records, in id order.
    async fn published_templates(&self) -> StorageResult<Vec<RecordId>>;
    /// Creates the template record `record` (from the back office) and, when `from_draft` is
    /// given, deletes that draft, in one transaction. A record with that id already stored
    /// is a `Conflict`, a missing draft `NotFound`; nothing is written then.
    async fn publish_template(
        &self,
        record: &RecordWrite,
        from_draft: Option<&TemplateVersion>,
    ) -> StorageResult<()>;
}
