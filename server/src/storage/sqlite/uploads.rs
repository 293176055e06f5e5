//! [`UploadStore`] for SQLite: table `uploads` (migration 015). A save is one `UPDATE` on the
//! writer whose condition (the holder's live lease in `upload_leases`, the offset read) is
//! checked in the statement that writes it.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteStorage;
use crate::storage::{StorageError, StorageResult, UploadProgress, UploadRow, UploadStore};

const COLUMNS: &str = "id, length, sha256, record, device, mime, created_at, expires_at,
     completed, upload_offset, hash_state, staging";

/// A size stored as SQLite's `INTEGER` (an `i64`).
fn size(r: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let n: i64 = r.get(i)?;
    u64::try_from(n).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(i, n))
}

fn signed(n: u64) -> StorageResult<i64> {
    i64::try_from(n).map_err(|_| StorageError::Backend(format!("{n} does not fit an INTEGER")))
}

fn upload_row(r: &Row<'_>) -> rusqlite::Result<UploadRow> {
    Ok(UploadRow {
        id: r.get(0)?,
        length: size(r, 1)?,
        sha256: r.get(2)?,
        record: r.get(3)?,
        device: r.get(4)?,
        mime: r.get(5)?,
        created_at: r.get(6)?,
        expires_at: r.get(7)?,
        progress: UploadProgress {
            completed: r.get(8)?,
            offset: size(r, 9)?,
            hash_state: r.get(10)?,
            staging: r.get(11)?,
        },
    })
}

#[async_trait]
impl UploadStore for SqliteStorage {
    async fn insert_upload(&self, upload: &UploadRow) -> StorageResult<bool> {
        let u = upload.clone();
        let (length, offset) = (signed(u.length)?, signed(u.progress.offset)?);
        self.write(move |conn| {
            let inserted = conn
                .prepare_cached(&format!(
                    "INSERT INTO uploads ({COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                     ON CONFLICT (id) DO NOTHING"
                ))?
                .execute(params![
                    u.id,
                    length,
                    u.sha256,
                    u.record,
                    u.device,
                    u.mime,
                    u.created_at,
                    u.expires_at,
                    u.progress.completed,
                    offset,
                    u.progress.hash_state,
                    u.progress.staging,
                ])?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn upload(&self, id: &str) -> StorageResult<Option<UploadRow>> {
        let id = id.to_owned();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(&format!("SELECT {COLUMNS} FROM uploads WHERE id = ?1"))?
                .query_row([id], upload_row)
                .optional()?)
        })
        .await
    }

    async fn begin_upload(&self, id: &str, staging: &str) -> StorageResult<bool> {
        let (id, staging) = (id.to_owned(), staging.to_owned());
        self.write(move |conn| {
            let set = conn
                .prepare_cached(
                    "UPDATE uploads SET staging = ?2
                     WHERE id = ?1 AND upload_offset = 0 AND staging = '' AND NOT completed",
                )?
                .execute(params![id, staging])?;
            Ok(set == 1)
        })
        .await
    }

    async fn save_upload(
        &self,
        id: &str,
        holder: &str,
        now: i64,
        from: u64,
        progress: &UploadProgress,
        expires_at: i64,
    ) -> StorageResult<bool> {
        let (id, holder, p) = (id.to_owned(), holder.to_owned(), progress.clone());
        let (from, to) = (signed(from)?, signed(p.offset)?);
        self.write(move |conn| {
            let saved = conn
                .prepare_cached(
                    "UPDATE uploads
                     SET upload_offset = ?5, hash_state = ?6, staging = ?7, completed = ?8,
                         expires_at = ?9
                     WHERE id = ?1 AND upload_offset = ?4 AND NOT completed
                       AND EXISTS (SELECT 1 FROM upload_leases l
                                   WHERE l.upload_id = uploads.id AND l.holder = ?2
                                     AND l.expires_at > ?3)",
                )?
                .execute(params![
                    id,
                    holder,
                    now,
                    from,
                    to,
                    p.hash_state,
                    p.staging,
                    p.completed,
                    expires_at
                ])?;
            Ok(saved == 1)
        })
        .await
    }

    async fn expired_uploads(
        &self,
        before: i64,
        now: i64,
        limit: u32,
    ) -> StorageResult<Vec<String>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT u.id FROM uploads u
                 WHERE u.expires_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM upload_leases l
                                   WHERE l.upload_id = u.id AND l.expires_at > ?2)
                 ORDER BY u.expires_at, u.id LIMIT ?3",
            )?;
            let ids = stmt
                .query_map(params![before, now, limit], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(ids)
        })
        .await
    }

    async fn delete_upload(&self, id: &str) -> StorageResult<()> {
        let id = id.to_owned();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM uploads WHERE id = ?1")?
                .execute([id])?;
            Ok(())
        })
        .await
    }

    async fn uploads(&self) -> StorageResult<Vec<UploadRow>> {
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {COLUMNS} FROM uploads ORDER BY id"))?;
            let rows = stmt
                .query_map([], upload_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}
