//! [`UploadLeaseStore`] for PostgreSQL: one row per leased upload in `upload_leases`, taken
//! by one `INSERT ... ON CONFLICT DO UPDATE ... WHERE`. Two processes taking one lease at once
//! meet on the row's unique key: the second waits for the first's row and then evaluates the
//! condition (no lease, an expired one, or its own) against it, so one of them holds it.

use async_trait::async_trait;

use super::PostgresStorage;
use crate::storage::{StorageResult, UploadLeaseStore};

#[async_trait]
impl UploadLeaseStore for PostgresStorage {
    async fn take_lease(
        &self,
        id: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> StorageResult<bool> {
        let conn = self.conn().await?;
        let take = conn
            .prepare_cached(
                "INSERT INTO upload_leases (upload_id, holder, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (upload_id) DO UPDATE
                 SET holder = excluded.holder, expires_at = excluded.expires_at
                 WHERE upload_leases.holder = excluded.holder
                    OR upload_leases.expires_at <= $4",
            )
            .await?;
        Ok(conn.execute(&take, &[&id, &holder, &until, &now]).await? == 1)
    }

    async fn release_lease(&self, id: &str, holder: &str) -> StorageResult<()> {
        let conn = self.conn().await?;
        let release = conn
            .prepare_cached("DELETE FROM upload_leases WHERE upload_id = $1 AND holder = $2")
            .await?;
        conn.execute(&release, &[&id, &holder]).await?;
        Ok(())
    }
}
