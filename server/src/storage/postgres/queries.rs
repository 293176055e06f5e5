//! [`SyncStorage`] for PostgreSQL: accounts (groups, codes, devices) here, the change log in
//! `log.rs`.

use async_trait::async_trait;
use siteproof_core::{DeviceId, RecordId, Scope};
use tokio_postgres::Row;

use super::PostgresStorage;
use super::log::{self, SNAPSHOT_SQL};
use crate::ids::GroupId;
use crate::storage::columns::{parse_id, to_hash, to_sql_seq};
use crate::storage::{
    DeviceRecord, DeviceSession, DocMeta, EnrollmentCodeRecord, FullDocument, GroupRecord, Hash,
    NewDevice, PushWrite, RecordStored, ScanQuery, ScanRow, StorageError, StorageResult,
    StoredChange, SyncStorage,
};

const DEVICE_COLUMNS: &str =
    "SELECT id, name, region, group_id, enrolled_at, revoked_at FROM devices";

#[async_trait]
impl SyncStorage for PostgresStorage {
    async fn close(&self) -> StorageResult<()> {
        PostgresStorage::close(self).await
    }

    async fn check_ready(&self) -> StorageResult<()> {
        PostgresStorage::check_ready(self).await
    }

    fn rate_store(&self) -> std::sync::Arc<dyn crate::storage::RateStore> {
        std::sync::Arc::new(self.clone())
    }

    fn web_user_store(&self) -> std::sync::Arc<dyn crate::storage::WebUserStore> {
        std::sync::Arc::new(self.clone())
    }

    fn lead_store(&self) -> std::sync::Arc<dyn crate::storage::LeadStore> {
        std::sync::Arc::new(self.clone())
    }

    fn upload_lease_store(&self) -> std::sync::Arc<dyn crate::storage::UploadLeaseStore> {
        std::sync::Arc::new(self.clone())
    }

    fn upload_store(&self) -> std::sync::Arc<dyn crate::storage::UploadStore> {
        std::sync::Arc::new(self.clone())
    }

    fn template_store(&self) -> std::sync::Arc<dyn crate::storage::TemplateStore> {
        std::sync::Arc::new(self.clone())
    }

    fn roster_store(&self) -> std::sync::Arc<dyn crate::storage::RosterStore> {
        std::sync::Arc::new(self.clone())
    }

    fn assignment_store(&self) -> std::sync::Arc<dyn crate::storage::AssignmentStore> {
        std::sync::Arc::new(self.clone())
    }

    fn custody_store(&self) -> std::sync::Arc<dyn crate::storage::CustodyStore> {
        std::sync::Arc::new(self.clone())
    }

    fn case_store(&self) -> std::sync::Arc<dyn crate::storage::CaseStore> {
        std::sync::Arc::new(self.clone())
    }

    fn enterprise_store(&self) -> std::sync::Arc<dyn crate::storage::EnterpriseStore> {
        std::sync::Arc::new(self.clone())
    }

    fn office_index_store(&self) -> std::sync::Arc<dyn crate::storage::OfficeIndexStore> {
        std::sync::Arc::new(self.clone())
    }

    fn supervision_store(&self) -> std::sync::Arc<dyn crate::storage::SupervisionStore> {
        std::sync::Arc::new(self.clone())
    }

    async fn epoch(&self) -> StorageResult<String> {
        Ok(self.inner.epoch.clone())
    }

    async fn certificate_key_seed(&self) -> StorageResult<[u8; 32]> {
        Ok(self.inner.certificate_seed)
    }

    async fn create_group(&self, group: &GroupRecord) -> StorageResult<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let region = tx
            .prepare_cached(
                "INSERT INTO regions (code, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .await?;
        tx.execute(&region, &[&group.region.as_str(), &group.created_at])
            .await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO groups (id, region, name, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        let inserted = tx
            .execute(
                &insert,
                &[
                    &group.id.as_str(),
                    &group.region.as_str(),
                    &group.name,
                    &group.created_at,
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StorageError::Conflict(format!(
                "group {} already exists",
                group.id
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn group(&self, id: &GroupId) -> StorageResult<Option<GroupRecord>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("SELECT id, region, name, created_at FROM groups WHERE id = $1")
            .await?;
        conn.query_opt(&stmt, &[&id.as_str()])
            .await?
            .as_ref()
            .map(group_row)
            .transpose()
    }

    async fn list_groups(&self) -> StorageResult<Vec<GroupRecord>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("SELECT id, region, name, created_at FROM groups ORDER BY region, id")
            .await?;
        conn.query(&stmt, &[])
            .await?
            .iter()
            .map(group_row)
            .collect()
    }

    async fn add_enrollment_code(&self, code: &EnrollmentCodeRecord) -> StorageResult<()> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "INSERT INTO enrollment_codes (code_hash, group_id, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .await?;
        conn.execute(
            &stmt,
            &[
                &&code.code_hash[..],
                &code.group.as_str(),
                &code.created_at,
                &code.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn redeem_enrollment_code(
        &self,
        code_hash: &Hash,
        now: i64,
        device: &NewDevice,
    ) -> StorageResult<Option<DeviceRecord>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        // Of two processes redeeming one code, the second waits for the first's row lock and
        // then re-checks `used_at IS NULL` against the committed row: one of them wins.
        let consume = tx
            .prepare_cached(
                "UPDATE enrollment_codes SET used_at = $2, used_by = $3
                 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2
                 RETURNING group_id, (SELECT region FROM groups WHERE id = group_id)",
            )
            .await?;
        let row = tx
            .query_opt(&consume, &[&&code_hash[..], &now, &device.id.as_str()])
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (group, region): (String, String) = (row.get(0), row.get(1));
        let insert = tx
            .prepare_cached(
                "INSERT INTO devices
                     (id, name, token_hash, region, group_id, enrolled_at, public_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await?;
        tx.execute(
            &insert,
            &[
                &device.id.as_str(),
                &device.name,
                &&device.token_hash[..],
                &region,
                &group,
                &device.enrolled_at,
                &device.public_key.as_ref().map(|k| &k[..]),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(DeviceRecord {
            id: device.id.clone(),
            name: device.name.clone(),
            scope: Scope::group(region, group),
            enrolled_at: device.enrolled_at,
            revoked_at: None,
        }))
    }

    async fn device_by_token(&self, token_hash: &Hash) -> StorageResult<Option<DeviceRecord>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(&format!("{DEVICE_COLUMNS} WHERE token_hash = $1"))
            .await?;
        conn.query_opt(&stmt, &[&&token_hash[..]])
            .await?
            .as_ref()
            .map(device_row)
            .transpose()
    }

    async fn device_session(&self, token_hash: &Hash) -> StorageResult<Option<DeviceSession>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT d.id, d.name, d.region, d.group_id, d.enrolled_at, d.revoked_at,
                        ARRAY(SELECT r.id FROM devices r
                              WHERE r.region = d.region AND r.group_id = d.group_id
                                AND r.revoked_at IS NOT NULL ORDER BY r.id)
                 FROM devices d WHERE d.token_hash = $1",
            )
            .await?;
        let Some(row) = conn.query_opt(&stmt, &[&&token_hash[..]]).await? else {
            return Ok(None);
        };
        let revoked: Vec<&str> = row.get(6);
        Ok(Some(DeviceSession {
            device: device_row(&row)?,
            revoked: revoked
                .into_iter()
                .map(parse_id)
                .collect::<StorageResult<_>>()?,
        }))
    }

    async fn list_devices(&self) -> StorageResult<Vec<DeviceRecord>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(&format!("{DEVICE_COLUMNS} ORDER BY enrolled_at, id"))
            .await?;
        conn.query(&stmt, &[])
            .await?
            .iter()
            .map(device_row)
            .collect()
    }

    async fn revoke_device(&self, id: &DeviceId, now: i64) -> StorageResult<bool> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
            )
            .await?;
        Ok(conn.execute(&stmt, &[&id.as_str(), &now]).await? > 0)
    }

    async fn revoked_devices(&self, scope: &Scope) -> StorageResult<Vec<DeviceId>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT id FROM devices WHERE region = $1 AND group_id = $2
                 AND revoked_at IS NOT NULL ORDER BY id",
            )
            .await?;
        conn.query(&stmt, &[&scope.region, &scope.group])
            .await?
            .iter()
            .map(|r| parse_id(r.get(0)))
            .collect()
    }

    async fn device_public_key(&self, id: &DeviceId) -> StorageResult<Option<[u8; 32]>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("SELECT public_key FROM devices WHERE id = $1")
            .await?;
        let key: Option<Option<Vec<u8>>> = conn
            .query_opt(&stmt, &[&id.as_str()])
            .await?
            .map(|r| r.get(0));
        Ok(key.flatten().and_then(|k| <[u8; 32]>::try_from(k).ok()))
    }

    async fn documents(&self, ids: &[RecordId]) -> StorageResult<Vec<DocMeta>> {
        let conn = self.conn().await?;
        log::documents(&conn.client, ids).await
    }

    async fn documents_since(
        &self,
        wanted: &[(RecordId, Option<u64>)],
    ) -> StorageResult<Vec<(DocMeta, Vec<StoredChange>)>> {
        let conn = self.conn().await?;
        log::documents_since(&conn.client, wanted).await
    }

    async fn full_document(&self, id: &RecordId) -> StorageResult<Option<FullDocument>> {
        let conn = self.conn().await?;
        let docs = log::full_documents(&conn.client, std::slice::from_ref(id)).await?;
        Ok(docs.into_iter().next())
    }

    async fn full_documents(&self, ids: &[RecordId]) -> StorageResult<Vec<FullDocument>> {
        let conn = self.conn().await?;
        log::full_documents(&conn.client, ids).await
    }

    async fn changes_after(&self, id: &RecordId, after: u64) -> StorageResult<Vec<StoredChange>> {
        let conn = self.conn().await?;
        log::changes_after(&conn.client, id, after).await
    }

    async fn store_push(&self, push: &PushWrite) -> StorageResult<Vec<RecordStored>> {
        self.append(push).await
    }

    async fn put_snapshot(&self, id: &RecordId, seq: u64, data: &[u8]) -> StorageResult<()> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(SNAPSHOT_SQL).await?;
        conn.execute(&stmt, &[&id.as_str(), &to_sql_seq(seq)?, &data])
            .await?;
        Ok(())
    }

    async fn change_hash_at(&self, seq: u64) -> StorageResult<Option<Hash>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("SELECT hash FROM changes WHERE seq = $1")
            .await?;
        conn.query_opt(&stmt, &[&to_sql_seq(seq)?])
            .await?
            .map(|r| to_hash(r.get(0)))
            .transpose()
    }

    async fn scan(&self, query: &ScanQuery, limit: u32) -> StorageResult<Vec<ScanRow>> {
        let conn = self.conn().await?;
        Ok(log::scan(&conn.client, query, limit).await?.1)
    }

    async fn scan_from(
        &self,
        query: &ScanQuery,
        limit: u32,
    ) -> StorageResult<(Option<Hash>, Vec<ScanRow>)> {
        let conn = self.conn().await?;
        log::scan(&conn.client, query, limit).await
    }
}

fn device_row(r: &Row) -> StorageResult<DeviceRecord> {
    let (region, group): (String, String) = (r.get(2), r.get(3));
    Ok(DeviceRecord {
        id: parse_id(r.get(0))?,
        name: r.get(1),
        scope: Scope::group(region, group),
        enrolled_at: r.get(4),
        revoked_at: r.get(5),
    })
}

fn group_row(r: &Row) -> StorageResult<GroupRecord> {
    Ok(GroupRecord {
        id: parse_id(r.get(0))?,
        region: parse_id(r.get(1))?,
        name: r.get(2),
        created_at: r.get(3),
    })
}
