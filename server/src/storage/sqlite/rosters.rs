//! [`RosterStore`] for SQLite: tables `bo_inspectors` and `bo_experts` (migration 003). A
//! write naming a group checks the group in the same statement, on the one writer connection.

use async_trait::async_trait;
use rusqlite::{Row, params};

use super::SqliteStorage;
use crate::storage::rosters::{sectors_of, sectors_text};
use crate::storage::{Expert, GroupChange, Inspector, RosterStore, StorageResult};

/// Whether `?2` is no group or a group of region `?1` (as a condition of a write).
const GROUP_OF_REGION: &str =
    "(?2 IS NULL OR EXISTS (SELECT 1 FROM groups WHERE id = ?2 AND region = ?1))";

fn inspector_row(r: &Row<'_>) -> rusqlite::Result<Inspector> {
    Ok(Inspector {
        id: r.get(0)?,
        name: r.get(1)?,
        unit: r.get(2)?,
        phone: r.get(3)?,
        sectors: sectors_of(&r.get::<_, String>(4)?),
        group: r.get(5)?,
    })
}

fn expert_row(r: &Row<'_>) -> rusqlite::Result<Expert> {
    Ok(Expert {
        id: r.get(0)?,
        name: r.get(1)?,
        specialty: r.get(2)?,
        sectors: sectors_of(&r.get::<_, String>(3)?),
        unit: r.get(4)?,
        phone: r.get(5)?,
    })
}

#[async_trait]
impl RosterStore for SqliteStorage {
    async fn add_inspector(&self, region: &str, new: &Inspector) -> StorageResult<Option<i64>> {
        let (region, n) = (region.to_owned(), new.clone());
        self.write(move |conn| {
            let inserted = conn.execute(
                &format!(
                    "INSERT INTO bo_inspectors (region, grp, name, unit, phone, sectors)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE {GROUP_OF_REGION}"
                ),
                params![
                    region,
                    n.group,
                    n.name,
                    n.unit,
                    n.phone,
                    sectors_text(&n.sectors)
                ],
            )?;
            Ok((inserted == 1).then(|| conn.last_insert_rowid()))
        })
        .await
    }

    async fn set_inspector_group(
        &self,
        region: &str,
        id: i64,
        group: Option<&str>,
    ) -> StorageResult<GroupChange> {
        let (region, group) = (region.to_owned(), group.map(str::to_owned));
        self.write(move |conn| {
            let changed = conn.execute(
                &format!(
                    "UPDATE bo_inspectors SET grp = ?2 WHERE id = ?3 AND region = ?1
                       AND {GROUP_OF_REGION}"
                ),
                params![region, group, id],
            )?;
            if changed == 1 {
                return Ok(GroupChange::Done);
            }
            let known: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM bo_inspectors WHERE id = ?1 AND region = ?2)",
                params![id, region],
                |r| r.get(0),
            )?;
            Ok(if known {
                GroupChange::NoSuchGroup
            } else {
                GroupChange::NoSuchInspector
            })
        })
        .await
    }

    async fn inspectors(&self, region: &str, group: Option<&str>) -> StorageResult<Vec<Inspector>> {
        let (region, group) = (region.to_owned(), group.map(str::to_owned));
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, unit, phone, sectors, grp FROM bo_inspectors
                 WHERE region = ?1 AND (?2 IS NULL OR grp = ?2) ORDER BY grp, name, id",
            )?;
            let found = stmt
                .query_map(params![region, group], inspector_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(found)
        })
        .await
    }

    async fn add_expert(&self, region: &str, new: &Expert) -> StorageResult<i64> {
        let (region, n) = (region.to_owned(), new.clone());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO bo_experts (region, name, specialty, sectors, unit, phone)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    region,
                    n.name,
                    n.specialty,
                    sectors_text(&n.sectors),
                    n.unit,
                    n.phone
                ],
            )?;
            Ok(conn.last_insert_rowid())
        })
        .await
    }

    async fn experts(&self, region: &str) -> StorageResult<Vec<Expert>> {
        let region = region.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, specialty, sectors, unit, phone FROM bo_experts
                 WHERE region = ?1 ORDER BY name, id",
            )?;
            let found = stmt
                .query_map([region], expert_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(found)
        })
        .await
    }
}
