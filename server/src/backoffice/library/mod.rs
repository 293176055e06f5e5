//! The template library in the office: versions imported as drafts (checked, not yet sent to
//! anyone) and versions published (a `template` record every device pulls). Publishing a new
//! version never touches the old one: visits keep the version they were made with.

mod pages;
pub(super) mod routes;

use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use siteproof_core::{RecordId, Template};

use super::{BackOffice, WebUser};
use crate::admin::AdminService;
use crate::error::{Error, Result};
use crate::identity::visibility::{Duty, Visibility};

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
        if self.template_version(record.clone()).await.is_some() {
            return Err(Error::Conflict(format!(
                "template {record} is already published; publish a new version instead"
            )));
        }
        let body = serde_json::to_string(&template).map_err(internal)?;
        let (id, version) = (template.id.to_string(), template.version);
        let stored = self
            .db
            .run(move |c| {
                let old: Option<String> = c
                    .query_row(
                        "SELECT body FROM bo_template_drafts WHERE id = ?1 AND version = ?2",
                        params![id, version],
                        |r| r.get(0),
                    )
                    .ok();
                if let Some(old) = old {
                    return Ok(old == body);
                }
                c.execute(
                    "INSERT INTO bo_template_drafts (id, version, body, imported_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![id, version, body, siteproof_core::now()],
                )?;
                Ok(true)
            })
            .await?;
        if !stored {
            return Err(Error::Conflict(format!(
                "template {record} was already imported with other content; give it a new version"
            )));
        }
        Ok(template)
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
        let (drafts, published) = self.db.run(|c| Ok((drafts(c)?, published_ids(c)?))).await?;
        let mut entries: BTreeMap<(String, u32), TemplateEntry> = BTreeMap::new();
        for id in published {
            let Ok(record) = id.parse::<RecordId>() else {
                continue;
            };
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
        for body in drafts {
            let template: Template = serde_json::from_str(&body).map_err(internal)?;
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

    /// Publishes an imported draft without a web user (the `siteproof admin` command).
    pub async fn publish_draft(&self, id: &str, version: u32) -> Result<RecordId> {
        let owned = id.to_owned();
        let body = self
            .db
            .run(move |c| {
                c.query_row(
                    "SELECT body FROM bo_template_drafts WHERE id = ?1 AND version = ?2",
                    params![owned, version],
                    |r| r.get::<_, String>(0),
                )
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })
            })
            .await?
            .ok_or_else(|| {
                Error::InvalidInput(format!("no imported draft {id}@{version}; import it first"))
            })?;
        let template = parse_template(&body)?;
        let record = AdminService::new(self.storage.clone())
            .publish_template(&template)
            .await?;
        let owned = id.to_owned();
        self.db
            .run(move |c| {
                c.execute(
                    "DELETE FROM bo_template_drafts WHERE id = ?1 AND version = ?2",
                    params![owned, version],
                )
            })
            .await?;
        Ok(record)
    }
}

fn drafts(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT body FROM bo_template_drafts ORDER BY id, version")?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

fn published_ids(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM documents WHERE kind = 'template' ORDER BY id")?;
    stmt.query_map([], |r| r.get(0))?.collect()
}
