//! [`UploadStore`] for PostgreSQL: table `uploads` (migration 013). A save is one `UPDATE`
//! whose condition (the holder's live lease in `upload_leases`, the offset read) is checked in
//! the statement that writes it: of two processes saving over one offset, the second waits
//! for the first's row, finds the offset moved and saves nothing.

use async_trait::async_trait;
use tokio_postgres::Row;

use super::PostgresStorage;
use crate::storage::{StorageError, StorageResult, UploadProgress, UploadRow, UploadStore};

const COLUMNS: &str = "id, length, sha256, record, device, mime, created_at, expires_at,
     completed, upload_offset, hash_state, staging";

fn signed(n: u64) -> StorageResult<i64> {
    i64::try_from(n).map_err(|_| StorageError::Backend(format!("{n} does not fit a BIGINT")))
}

fn unsigned(n: i64) -> StorageResult<u64> {
    u64::try_from(n).map_err(|_| StorageError::Backend(format!("a negative size: {n}")))
}

fn upload_row(r: &Row) -> StorageResult<UploadRow> {
    Ok(UploadRow {
        id: r.try_get(0)?,
        length: unsigned(r.try_get(1)?)?,
        sha256: r.try_get(2)?,
        record: r.try_get(3)?,
        device: r.try_get(4)?,
        mime: r.try_get(5)?,
        created_at: r.try_get(6)?,
        expires_at: r.try_get(7)?,
        progress: UploadProgress {
            completed: r.try_get(8)?,
            offset: unsigned(r.try_get(9)?)?,
            hash_state: r.try_get(10)?,
            staging: r.try_get(11)?,
        },
    })
}

#[async_trait]
impl UploadStore for PostgresStorage {
    async fn insert_upload(&self, u: &UploadRow) -> StorageResult<bool> {
        let conn = self.conn().await?;
        let insert = conn
            .prepare_cached(&format!(
                "INSERT INTO uploads ({COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT (id) DO NOTHING"
            ))
            .await?;
        let inserted = conn
            .execute(
                &insert,
                &[
                    &u.id,
                    &signed(u.length)?,
                    &u.sha256,
                    &u.record,
                    &u.device,
                    &u.mime,
                    &u.created_at,
                    &u.expires_at,
                    &u.progress.completed,
                    &signed(u.progress.offset)?,
                    &u.progress.hash_state,
                    &u.progress.staging,
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn upload(&self, id: &str) -> StorageResult<Option<UploadRow>> {
        let conn = self.conn().await?;
        let select = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM uploads WHERE id = $1"))
            .await?;
        conn.query_opt(&select, &[&id])
            .await?
            .map(|r| upload_row(&r))
            .transpose()
    }

    async fn begin_upload(&self, id: &str, staging: &str) -> StorageResult<bool> {
        let conn = self.conn().await?;
        let begin = conn
            .prepare_cached(
                "UPDATE uploads SET staging = $2
                 WHERE id = $1 AND upload_offset = 0 AND staging = '' AND NOT completed",
            )
            .await?;
        Ok(conn.execute(&begin, &[&id, &staging]).await? == 1)
    }

    async fn save_upload(
        &self,
        id: &str,
        holder: &str,
        now: i64,
        from: u64,
        p: &UploadProgress,
        expires_at: i64,
    ) -> StorageResult<bool> {
        let conn = self.conn().await?;
        let save = conn
            .prepare_cached(
                "UPDATE uploads
                 SET upload_offset = $5, hash_state = $6, staging = $7, completed = $8,
                     expires_at = $9
                 WHERE id = $1 AND upload_offset = $4 AND NOT completed
                   AND EXISTS (SELECT 1 FROM upload_leases l
                               WHERE l.upload_id = uploads.id AND l.holder = $2
                                 AND l.expires_at > $3)",
            )
            .await?;
        let saved = conn
            .execute(
                &save,
                &[
                    &id,
                    &holder,
                    &now,
                    &signed(from)?,
                    &signed(p.offset)?,
                    &p.hash_state,
                    &p.staging,
                    &p.completed,
                    &expires_at,
                ],
            )
            .await?;
        Ok(saved == 1)
    }

    async fn expired_uploads(
        &self,
        before: i64,
        now: i64,
        limit: u32,
    ) -> StorageResult<Vec<String>> {
        let conn = self.conn().await?;
        let select = conn
            .prepare_cached(
                "SELECT u.id FROM uploads u
                 WHERE u.expires_at < $1
                   AND NOT EXISTS (SELECT 1 FROM upload_leases l
                                   WHERE l.upload_id = u.id AND l.expires_at > $2)
                 ORDER BY u.expires_at, u.id LIMIT $3",
            )
            .await?;
        let rows = conn
            .query(&select, &[&before, &now, &i64::from(limit)])
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn delete_upload(&self, id: &str) -> StorageResult<()> {
        let conn = self.conn().await?;
        let delete = conn
            .prepare_cached("DELETE FROM uploads WHERE id = $1")
            .await?;
        conn.execute(&delete, &[&id]).await?;
        Ok(())
    }

    async fn uploads(&self) -> StorageResult<Vec<UploadRow>> {
        let conn = self.conn().await?;
        let select = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM uploads ORDER BY id"))
            .await?;
        conn.query(&select, &[])
            .await?
            .iter()
            .map(upload_row)
            .collect()
    }
}
