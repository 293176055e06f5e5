//! [`UploadLeaseStore`] for SQLite: one row per leased upload in `upload_leases`, taken by
//! one upsert on the writer, whose condition (no lease, an expired one, or the holder's own)
//! is checked in the same statement that writes it.

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteStorage;
use crate::storage::{StorageResult, UploadLeaseStore};

#[async_trait]
impl UploadLeaseStore for SqliteStorage {
    async fn take_lease(
        &self,
        id: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> StorageResult<bool> {
        let (id, holder) = (id.to_owned(), holder.to_owned());
        self.write(move |conn| {
            let taken = conn
                .prepare_cached(
                    "INSERT INTO upload_leases (upload_id, holder, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (upload_id) DO UPDATE
                     SET holder = excluded.holder, expires_at = excluded.expires_at
                     WHERE upload_leases.holder = excluded.holder
                        OR upload_leases.expires_at <= ?4",
                )?
                .execute(params![id, holder, until, now])?;
            Ok(taken == 1)
        })
        .await
    }

    async fn release_lease(&self, id: &str, holder: &str) -> StorageResult<()> {
        let (id, holder) = (id.to_owned(), holder.to_owned());
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM upload_leases WHERE upload_id = ?1 AND holder = ?2")?
                .execute(params![id, holder])?;
            Ok(())
        })
        .await
    }
}
