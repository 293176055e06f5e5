//! The template library in the office: versions imported as drafts (checked, not yet sent to
//! anyone) and versions published (a `template` record every device pulls). Publishing a new
//! version never touches the old one: visits keep the version they were made with.

mod pages;
pub(super) mod routes;

use std::collections::BTreeMap;

use siteproof_core::{RecordId, Template};

use super::{BackOffice, WebUser};
use crate::admin::AdminService;
use crate::error::{Error, Result};
use crate::identity::visibility::{Duty, Visibility};
use crate::storage::{DraftImport, StorageError, TemplateDraft, TemplateVersion};

/// Whether a library entry is only imported or already on its way to devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateState {
    /// Imported and checked; not sent to devices.
    Draft,
    /// Published: a record devices pull.
    Published,
}

impl TemplateState {
    /// The code shown in lists.
    pub fn code(self) -> &'static str {
        match self {
            TemplateState::Draft => "draft",
            TemplateState::Published => "published",
        }
    }
}

/// One template version in the library.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateEntry {
    /// The version.
    pub template: Template,
    /// Draft or published.
    pub state: TemplateState,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

/// Reads and checks one template file's text.
pub fn parse_template(text: &str) -> Result<Template> {
    let template: Template = serde_json::from_str(text)
        .map_err(|e| Error::InvalidInput(format!("not a template: {e}")))?;
    template
        .validate()
        .map_err(|e| Error::InvalidInput(e.to_string()))?;
    Ok(template)
}

impl BackOffice {
    /// Imports a template version as a draft (checked, not published). A version already
    /// published, or imported with other content, is a conflict: versions never change.
    pub async fn import_template(&self, text: &str) -> Result<Template> {
        let template = parse_template(text)?;
        let record = template.record_id();
        let draft = TemplateDraft {
            key: TemplateVersion {
                id: template.id.to_string(),
                version: template.version,
            },
            body: serde_json::to_string(&template).map_err(internal)?,
            imported_at: siteproof_core::now(),
        };
        match self
            .storage
            .template_store()
            .import_draft(&draft, &record)
            .await?
        {
            DraftImport::Stored | DraftImport::Unchanged => Ok(template),
            DraftImport::Published => Err(Error::Conflict(format!(
                "template {record} is already published; publish a new version instead"
            ))),
            DraftImport::OtherContent => Err(Error::Conflict(format!(
                "template {record} was already imported with other content; give it a new version"
            ))),
        }
    }

    /// The published template versions (what assignments and leads may name).
    pub async fn published_templates(&self) -> Result<Vec<TemplateEntry>> {
        Ok(self
            .template_library()
            .await?
            .into_iter()
            .filter(|e| e.state == TemplateState::Published)
            .collect())
    }

    /// Every template version: drafts and published, by id then version.
    pub async fn template_library(&self) -> Result<Vec<TemplateEntry>> {
        let store = self.storage.template_store();
        let (drafts, published) = (store.drafts().await?, store.published_templates().await?);
        let mut entries: BTreeMap<(String, u32), TemplateEntry> = BTreeMap::new();
        for record in published {
            if let Some(t) = self.template_version(record).await {
                entries.insert(
                    (t.id.to_string(), t.version),
                    TemplateEntry {
                        template: (*t).clone(),
                        state: TemplateState::Published,
                    },
                );
            }
        }
        for draft in drafts {
            let template: Template = serde_json::from_str(&draft.body).map_err(internal)?;
            entries
                .entry((template.id.to_string(), template.version))
                .or_insert(TemplateEntry {
                    template,
                    state: TemplateState::Draft,
                });
        }
        Ok(entries.into_values().collect())
    }

    /// Publishes an imported draft (`id@version`): it becomes a record every device pulls.
    /// Administrators only.
    pub async fn publish_template(
        &self,
        user: &WebUser,
        id: &str,
        version: u32,
    ) -> Result<RecordId> {
        Visibility::user(user).require(Duty::ManageTemplates)?;
        self.publish_draft(id, version).await
    }

    /// Publishes an imported draft without a web user (the `siteproof admin` command). The
    /// record is created and the draft deleted in one write; a version published meanwhile
    /// (by any process) is a conflict and nothing is written.
    pub async fn publish_draft(&self, id: &str, version: u32) -> Result<RecordId> {
        let key = TemplateVersion {
            id: id.to_owned(),
            version,
        };
        let Some(draft) = self.storage.template_store().draft(&key).await? else {
            return Err(self.no_draft(id, version).await);
        };
        let template = parse_template(&draft.body)?;
        match AdminService::new(self.storage.clone())
            .publish_template_from(&template, Some(&key))
            .await
        {
            Err(Error::Storage(StorageError::NotFound(_))) => Err(self.no_draft(id, version).await),
            other => other,
        }
    }

    /// Why draft `id@version` cannot be published: another publication (on any process) took
    /// it first, a conflict; or it was never imported.
    async fn no_draft(&self, id: &str, version: u32) -> Error {
        let published = id
            .parse()
            .ok()
            .map(|template| RecordId::for_template(&template, version));
        if let Some(record) = published
            && let Ok(found) = self.storage.documents(std::slice::from_ref(&record)).await
            && !found.is_empty()
        {
            return Error::Conflict(format!("{id}@{version} is already published"));
        }
        Error::InvalidInput(format!("no imported draft {id}@{version}; import it first"))
    }
}
