//! [`SyncStorage`] for SQLite: accounts (groups, codes, devices) here, the change log in
//! `log.rs`.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use siteproof_core::{DeviceId, RecordId, Scope};

use super::SqliteStorage;
use super::log::{SNAPSHOT_SQL, changes_after, doc_meta_row, full_document, scan, store_push};
use crate::ids::GroupId;
use crate::storage::columns::{parse_id, to_hash, to_sql_seq};
use crate::storage::{
    DeviceRecord, DeviceSession, DocMeta, EnrollmentCodeRecord, FullDocument, GroupRecord, Hash,
    NewDevice, PushWrite, RecordStored, SMALL_SCAN_ROWS, ScanQuery, ScanRow, StorageError,
    StorageResult, StoredChange, SyncStorage,
};

#[async_trait]
impl SyncStorage for SqliteStorage {
    async fn close(&self) -> StorageResult<()> {
        // The inherent method: readers, then the writer with its checkpoint.
        SqliteStorage::close(self).await
    }

    async fn check_ready(&self) -> StorageResult<()> {
        SqliteStorage::check_ready(self).await
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
        let group = group.clone();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO regions (code, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?
            .execute(params![group.region.as_str(), group.created_at])?;
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO groups (id, region, name, created_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO NOTHING",
                )?
                .execute(params![
                    group.id.as_str(),
                    group.region.as_str(),
                    group.name,
                    group.created_at
                ])?;
            if inserted == 0 {
                return Err(StorageError::Conflict(format!(
                    "group {} already exists",
                    group.id
                )));
            }
            Ok(())
        })
        .await
    }

    async fn group(&self, id: &GroupId) -> StorageResult<Option<GroupRecord>> {
        let id = id.clone();
        self.read(move |conn| {
            conn.prepare_cached("SELECT id, region, name, created_at FROM groups WHERE id = ?1")?
                .query_row([id.as_str()], group_row)
                .optional()?
                .transpose()
        })
        .await
    }

    async fn list_groups(&self) -> StorageResult<Vec<GroupRecord>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, region, name, created_at FROM groups ORDER BY region, id",
            )?;
            let rows = stmt.query_map([], group_row)?;
            rows.map(|r| r?).collect()
        })
        .await
    }

    async fn add_enrollment_code(&self, code: &EnrollmentCodeRecord) -> StorageResult<()> {
        let code = code.clone();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO enrollment_codes (code_hash, group_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                &code.code_hash[..],
                code.group.as_str(),
                code.created_at,
                code.expires_at
            ])?;
            Ok(())
        })
        .await
    }

    async fn redeem_enrollment_code(
        &self,
        code_hash: &Hash,
        now: i64,
        device: &NewDevice,
    ) -> StorageResult<Option<DeviceRecord>> {
        let (code_hash, device) = (*code_hash, device.clone());
        self.write(move |conn| {
            let group: Option<(String, String)> = conn
                .prepare_cached(
                    "UPDATE enrollment_codes SET used_at = ?2, used_by = ?3
                     WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                     RETURNING group_id, (SELECT region FROM groups WHERE id = group_id)",
                )?
                .query_row(params![&code_hash[..], now, device.id.as_str()], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let Some((group, region)) = group else {
                return Ok(None);
            };
            conn.prepare_cached(
                "INSERT INTO devices (id, name, token_hash, region, group_id, enrolled_at, public_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                device.id.as_str(),
                device.name,
                &device.token_hash[..],
                region,
                group,
                device.enrolled_at,
                device.public_key.as_ref().map(|k| &k[..]),
            ])?;
            Ok(Some(DeviceRecord {
                id: device.id,
                name: device.name,
                scope: Scope::group(region, group),
                enrolled_at: device.enrolled_at,
                revoked_at: None,
            }))
        })
        .await
    }

    async fn device_by_token(&self, token_hash: &Hash) -> StorageResult<Option<DeviceRecord>> {
        let token_hash = *token_hash;
        self.lookup(move |conn| {
            conn.prepare_cached(&format!("{DEVICE_COLUMNS} WHERE token_hash = ?1"))?
                .query_row([&token_hash[..]], device_row)
                .optional()?
                .transpose()
        })
        .await
    }

    async fn device_session(&self, token_hash: &Hash) -> StorageResult<Option<DeviceSession>> {
        let token_hash = *token_hash;
        self.lookup(move |conn| {
            let device = conn
                .prepare_cached(&format!("{DEVICE_COLUMNS} WHERE token_hash = ?1"))?
                .query_row([&token_hash[..]], device_row)
                .optional()?
                .transpose()?;
            let Some(device) = device else {
                return Ok(None);
            };
            let revoked = revoked_devices(conn, &device.scope)?;
            Ok(Some(DeviceSession { device, revoked }))
        })
        .await
    }

    async fn list_devices(&self) -> StorageResult<Vec<DeviceRecord>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("{DEVICE_COLUMNS} ORDER BY enrolled_at, id"))?;
            let rows = stmt.query_map([], device_row)?;
            rows.map(|r| r?).collect()
        })
        .await
    }

    async fn revoked_devices(&self, scope: &Scope) -> StorageResult<Vec<DeviceId>> {
        let scope = scope.clone();
        self.lookup(move |conn| revoked_devices(conn, &scope)).await
    }

    async fn device_public_key(&self, id: &DeviceId) -> StorageResult<Option<[u8; 32]>> {
        let id = id.to_string();
        self.lookup(move |conn| {
            let key: Option<Option<Vec<u8>>> = conn
                .prepare_cached("SELECT public_key FROM devices WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            Ok(key.flatten().and_then(|k| <[u8; 32]>::try_from(k).ok()))
        })
        .await
    }

    async fn revoke_device(&self, id: &DeviceId, now: i64) -> StorageResult<bool> {
        let id = id.clone();
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                )?
                .execute(params![id.as_str(), now])?;
            Ok(n > 0)
        })
        .await
    }

    async fn documents(&self, ids: &[RecordId]) -> StorageResult<Vec<DocMeta>> {
        let ids = ids.to_vec();
        let few = ids.len() <= LOOKUP_IDS;
        let work = move |conn: &Connection| {
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                out.extend(document(conn, id)?);
            }
            Ok(out)
        };
        if few {
            self.lookup(work).await
        } else {
            self.read(work).await
        }
    }

    async fn documents_since(
        &self,
        wanted: &[(RecordId, Option<u64>)],
    ) -> StorageResult<Vec<(DocMeta, Vec<StoredChange>)>> {
        let wanted = wanted.to_vec();
        let few = wanted.len() <= LOOKUP_IDS;
        let work = move |conn: &Connection| {
            let mut out = Vec::with_capacity(wanted.len());
            for (id, after) in &wanted {
                let Some(meta) = document(conn, id)? else {
                    continue;
                };
                let changes = match after {
                    Some(after) => changes_after(conn, id, *after)?,
                    None => Vec::new(),
                };
                out.push((meta, changes));
            }
            Ok(out)
        };
        if few {
            self.lookup(work).await
        } else {
            self.read(work).await
        }
    }

    async fn full_document(&self, id: &RecordId) -> StorageResult<Option<FullDocument>> {
        let id = id.clone();
        self.read(move |conn| full_document(conn, &id)).await
    }

    async fn full_documents(&self, ids: &[RecordId]) -> StorageResult<Vec<FullDocument>> {
        let ids = ids.to_vec();
        self.read(move |conn| {
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                out.extend(full_document(conn, id)?);
            }
            Ok(out)
        })
        .await
    }

    async fn changes_after(&self, id: &RecordId, after: u64) -> StorageResult<Vec<StoredChange>> {
        let id = id.clone();
        self.lookup(move |conn| changes_after(conn, &id, after))
            .await
    }

    async fn store_push(&self, push: &PushWrite) -> StorageResult<Vec<RecordStored>> {
        let push = push.clone();
        self.write(move |conn| store_push(conn, &push)).await
    }

    async fn put_snapshot(&self, id: &RecordId, seq: u64, data: &[u8]) -> StorageResult<()> {
        let (id, data) = (id.clone(), data.to_vec());
        self.write(move |conn| {
            conn.prepare_cached(SNAPSHOT_SQL)?.execute(params![
                id.as_str(),
                to_sql_seq(seq)?,
                data
            ])?;
            Ok(())
        })
        .await
    }

    async fn change_hash_at(&self, seq: u64) -> StorageResult<Option<Hash>> {
        self.lookup(move |conn| change_hash_at(conn, seq)).await
    }

    async fn scan(&self, query: &ScanQuery, limit: u32) -> StorageResult<Vec<ScanRow>> {
        let query = query.clone();
        self.read(move |conn| scan(conn, &query, limit)).await
    }

    async fn scan_from(
        &self,
        query: &ScanQuery,
        limit: u32,
    ) -> StorageResult<(Option<Hash>, Vec<ScanRow>)> {
        let query = query.clone();
        let work = move |conn: &Connection| {
            Ok((
                change_hash_at(conn, query.after)?,
                scan(conn, &query, limit)?,
            ))
        };
        // A device's news since its cursor: usually a few rows, read where lookups are.
        if limit <= SMALL_SCAN_ROWS {
            self.lookup(work).await
        } else {
            self.read(work).await
        }
    }
}

/// The revoked devices of `scope`'s group, in id order.
fn revoked_devices(conn: &Connection, scope: &Scope) -> StorageResult<Vec<DeviceId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM devices WHERE region = ?1 AND group_id = ?2 \
         AND revoked_at IS NOT NULL ORDER BY id",
    )?;
    let ids = stmt.query_map(params![scope.region, scope.group], |r| {
        r.get::<_, String>(0)
    })?;
    ids.map(|id| parse_id::<DeviceId>(&id?)).collect()
}

/// A record's row, if it is stored.
fn document(conn: &Connection, id: &RecordId) -> StorageResult<Option<DocMeta>> {
    conn.prepare_cached(
        "SELECT id, kind, region, grp, created_seq, created_by FROM documents WHERE id = ?1",
    )?
    .query_row([id.as_str()], doc_meta_row)
    .optional()?
    .transpose()
}

/// The hash of the change at `seq`, if there is one.
fn change_hash_at(conn: &Connection, seq: u64) -> StorageResult<Option<Hash>> {
    let raw: Option<Vec<u8>> = conn
        .prepare_cached("SELECT hash FROM changes WHERE seq = ?1")?
        .query_row([to_sql_seq(seq)?], |r| r.get(0))
        .optional()?;
    raw.map(|h| to_hash(&h)).transpose()
}

/// The most record ids whose rows are looked up on the calling thread (a sync's push holds
/// one or a few; a bulk upload's hundreds go to a blocking thread).
const LOOKUP_IDS: usize = 16;

const DEVICE_COLUMNS: &str =
    "SELECT id, name, region, group_id, enrolled_at, revoked_at FROM devices";

fn device_row(r: &Row<'_>) -> rusqlite::Result<StorageResult<DeviceRecord>> {
    let id: String = r.get(0)?;
    let (name, region, group): (String, String, String) = (r.get(1)?, r.get(2)?, r.get(3)?);
    let (enrolled_at, revoked_at) = (r.get(4)?, r.get(5)?);
    Ok(parse_id::<DeviceId>(&id).map(|id| DeviceRecord {
        id,
        name,
        scope: Scope::group(region, group),
        enrolled_at,
        revoked_at,
    }))
}

fn group_row(r: &Row<'_>) -> rusqlite::Result<StorageResult<GroupRecord>> {
    let (id, region): (String, String) = (r.get(0)?, r.get(1)?);
    let (name, created_at) = (r.get(2)?, r.get(3)?);
    Ok((|| {
        Ok(GroupRecord {
            id: parse_id(&id)?,
            region: parse_id(&region)?,
            name,
            created_at,
        })
    })())
}
