//! [`TemplateStore`] for PostgreSQL: drafts in `bo_template_drafts` (migration 005),
//! published versions as `template` records of the change log. A publication takes the log's
//! append lock before it looks for the record, so of processes publishing one version at once
//! the second waits for the first's commit, then finds the record and stores nothing; an
//! import takes it too, so it never stores a draft of a version published meanwhile.

use async_trait::async_trait;
use siteproof_core::RecordId;
use tokio_postgres::Row;

use super::PostgresStorage;
use super::log::{lock_appends, record_exists, store_push};
use crate::storage::columns::parse_id;
use crate::storage::{
    DraftImport, PushWrite, RecordWrite, StorageError, StorageResult, TemplateDraft, TemplateStore,
    TemplateVersion,
};

const DRAFT_COLUMNS: &str = "SELECT id, version, body, imported_at FROM bo_template_drafts";

fn draft_row(r: &Row) -> StorageResult<TemplateDraft> {
    let version: i32 = r.get(1);
    Ok(TemplateDraft {
        key: TemplateVersion {
            id: r.get(0),
            version: u32::try_from(version)
                .map_err(|_| StorageError::Backend(format!("stored version {version}")))?,
        },
        body: r.get(2),
        imported_at: r.get(3),
    })
}

fn version_i32(key: &TemplateVersion) -> StorageResult<i32> {
    i32::try_from(key.version)
        .map_err(|_| StorageError::Conflict(format!("version {} is too large", key.version)))
}

#[async_trait]
impl TemplateStore for PostgresStorage {
    async fn import_draft(
        &self,
        d: &TemplateDraft,
        record: &RecordId,
    ) -> StorageResult<DraftImport> {
        let version = version_i32(&d.key)?;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        // Under the lock a publication holds, so a draft is never stored for a version
        // published between the check and the insert.
        lock_appends(&tx).await?;
        if record_exists(&tx, record).await? {
            return Ok(DraftImport::Published);
        }
        let insert = tx
            .prepare_cached(
                "INSERT INTO bo_template_drafts (id, version, body, imported_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .await?;
        let inserted = tx
            .execute(&insert, &[&d.key.id, &version, &d.body, &d.imported_at])
            .await?;
        let found = if inserted == 1 {
            DraftImport::Stored
        } else {
            let stored = tx
                .prepare_cached(
                    "SELECT body FROM bo_template_drafts WHERE id = $1 AND version = $2",
                )
                .await?;
            let body: String = tx.query_one(&stored, &[&d.key.id, &version]).await?.get(0);
            if body == d.body {
                DraftImport::Unchanged
            } else {
                DraftImport::OtherContent
            }
        };
        tx.commit().await?;
        Ok(found)
    }

    async fn draft(&self, key: &TemplateVersion) -> StorageResult<Option<TemplateDraft>> {
        let version = version_i32(key)?;
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(&format!("{DRAFT_COLUMNS} WHERE id = $1 AND version = $2"))
            .await?;
        conn.query_opt(&stmt, &[&key.id, &version])
            .await?
            .as_ref()
            .map(draft_row)
            .transpose()
    }

    async fn drafts(&self) -> StorageResult<Vec<TemplateDraft>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(&format!("{DRAFT_COLUMNS} ORDER BY id, version"))
            .await?;
        conn.query(&stmt, &[])
            .await?
            .iter()
            .map(draft_row)
            .collect()
    }

    async fn published_templates(&self) -> StorageResult<Vec<RecordId>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("SELECT id FROM documents WHERE kind = 'template' ORDER BY id")
            .await?;
        conn.query(&stmt, &[])
            .await?
            .iter()
            .map(|r| parse_id(r.get(0)))
            .collect()
    }

    async fn publish_template(
        &self,
        record: &RecordWrite,
        from_draft: Option<&TemplateVersion>,
    ) -> StorageResult<()> {
        let id = &record.header.id;
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        lock_appends(&tx).await?;
        if record_exists(&tx, id).await? {
            return Err(StorageError::Conflict(format!(
                "template {id} is already published"
            )));
        }
        if let Some(key) = from_draft {
            let delete = tx
                .prepare_cached("DELETE FROM bo_template_drafts WHERE id = $1 AND version = $2")
                .await?;
            let deleted = tx.execute(&delete, &[&key.id, &version_i32(key)?]).await?;
            if deleted == 0 {
                return Err(StorageError::NotFound(format!(
                    "draft {}@{}",
                    key.id, key.version
                )));
            }
        }
        store_push(
            &tx,
            &PushWrite {
                pushed_by: None,
                records: vec![record.clone()],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
