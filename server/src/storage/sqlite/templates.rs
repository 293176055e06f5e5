//! [`TemplateStore`] for SQLite: drafts in `bo_template_drafts` (migration 003), published
//! versions as `template` records of the change log. Writes go through the one writer
//! connection, each in its own savepoint, so a publication's check, record and draft
//! deletion cannot interleave with another's and roll back together.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use siteproof_core::RecordId;

use super::SqliteStorage;
use super::log::{record_exists, store_push};
use crate::storage::columns::parse_id;
use crate::storage::{
    DraftImport, PushWrite, RecordWrite, StorageError, StorageResult, TemplateDraft, TemplateStore,
    TemplateVersion,
};

const DRAFT_COLUMNS: &str = "SELECT id, version, body, imported_at FROM bo_template_drafts";

fn draft_row(r: &Row<'_>) -> rusqlite::Result<TemplateDraft> {
    Ok(TemplateDraft {
        key: TemplateVersion {
            id: r.get(0)?,
            version: r.get(1)?,
        },
        body: r.get(2)?,
        imported_at: r.get(3)?,
    })
}

#[async_trait]
impl TemplateStore for SqliteStorage {
    async fn import_draft(
        &self,
        draft: &TemplateDraft,
        record: &RecordId,
    ) -> StorageResult<DraftImport> {
        let (d, record) = (draft.clone(), record.clone());
        self.write(move |conn| {
            if record_exists(conn, &record)? {
                return Ok(DraftImport::Published);
            }
            let inserted = conn.execute(
                "INSERT INTO bo_template_drafts (id, version, body, imported_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![d.key.id, d.key.version, d.body, d.imported_at],
            )?;
            if inserted == 1 {
                return Ok(DraftImport::Stored);
            }
            let stored: String = conn.query_row(
                "SELECT body FROM bo_template_drafts WHERE id = ?1 AND version = ?2",
                params![d.key.id, d.key.version],
                |r| r.get(0),
            )?;
            Ok(if stored == d.body {
                DraftImport::Unchanged
            } else {
                DraftImport::OtherContent
            })
        })
        .await
    }

    async fn draft(&self, key: &TemplateVersion) -> StorageResult<Option<TemplateDraft>> {
        let key = key.clone();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(&format!("{DRAFT_COLUMNS} WHERE id = ?1 AND version = ?2"))?
                .query_row(params![key.id, key.version], draft_row)
                .optional()?)
        })
        .await
    }

    async fn drafts(&self) -> StorageResult<Vec<TemplateDraft>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("{DRAFT_COLUMNS} ORDER BY id, version"))?;
            let found = stmt
                .query_map([], draft_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(found)
        })
        .await
    }

    async fn published_templates(&self) -> StorageResult<Vec<RecordId>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT id FROM documents WHERE kind = 'template' ORDER BY id")?;
            let ids = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            ids.iter().map(|id| parse_id(id)).collect()
        })
        .await
    }

    async fn publish_template(
        &self,
        record: &RecordWrite,
        from_draft: Option<&TemplateVersion>,
    ) -> StorageResult<()> {
        let (record, from_draft) = (record.clone(), from_draft.cloned());
        self.write(move |conn| {
            let id = record.header.id.clone();
            if record_exists(conn, &id)? {
                return Err(StorageError::Conflict(format!(
                    "template {id} is already published"
                )));
            }
            if let Some(key) = &from_draft {
                let deleted = conn.execute(
                    "DELETE FROM bo_template_drafts WHERE id = ?1 AND version = ?2",
                    params![key.id, key.version],
                )?;
                if deleted == 0 {
                    return Err(StorageError::NotFound(format!(
                        "draft {}@{}",
                        key.id, key.version
                    )));
                }
            }
            store_push(
                conn,
                &PushWrite {
                    pushed_by: None,
                    records: vec![record],
                },
            )?;
            Ok(())
        })
        .await
    }
}
