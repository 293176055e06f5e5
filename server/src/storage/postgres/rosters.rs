//! [`RosterStore`] for PostgreSQL: tables `bo_inspectors` and `bo_experts` (migration 006). A
//! write naming a group checks the group in the same statement. Lists sort text byte-wise
//! (`COLLATE "C"`, no group first), as SQLite does.

use async_trait::async_trait;
use tokio_postgres::Row;

use super::PostgresStorage;
use crate::storage::rosters::{sectors_of, sectors_text};
use crate::storage::{Expert, GroupChange, Inspector, RosterStore, StorageResult};

/// Whether `$2` is no group or a group of region `$1` (as a condition of a write).
const GROUP_OF_REGION: &str =
    "($2::text IS NULL OR EXISTS (SELECT 1 FROM groups WHERE id = $2::text AND region = $1))";

fn inspector_row(r: &Row) -> Inspector {
    Inspector {
        id: r.get(0),
        name: r.get(1),
        unit: r.get(2),
        phone: r.get(3),
        sectors: sectors_of(r.get(4)),
        group: r.get(5),
    }
}

fn expert_row(r: &Row) -> Expert {
    Expert {
        id: r.get(0),
        name: r.get(1),
        specialty: r.get(2),
        sectors: sectors_of(r.get(3)),
        unit: r.get(4),
        phone: r.get(5),
    }
}

#[async_trait]
impl RosterStore for PostgresStorage {
    async fn add_inspector(&self, region: &str, n: &Inspector) -> StorageResult<Option<i64>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(&format!(
                "INSERT INTO bo_inspectors (region, grp, name, unit, phone, sectors)
                 SELECT $1, $2, $3, $4, $5, $6 WHERE {GROUP_OF_REGION}
                 RETURNING id"
            ))
            .await?;
        let sectors = sectors_text(&n.sectors);
        let row = conn
            .query_opt(
                &stmt,
                &[&region, &n.group, &n.name, &n.unit, &n.phone, &sectors],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn set_inspector_group(
        &self,
        region: &str,
        id: i64,
        group: Option<&str>,
    ) -> StorageResult<GroupChange> {
        let conn = self.conn().await?;
        let update = conn
            .prepare_cached(&format!(
                "UPDATE bo_inspectors SET grp = $2 WHERE id = $3 AND region = $1
                   AND {GROUP_OF_REGION}"
            ))
            .await?;
        if conn.execute(&update, &[&region, &group, &id]).await? == 1 {
            return Ok(GroupChange::Done);
        }
        let known = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM bo_inspectors WHERE id = $1 AND region = $2)",
            )
            .await?;
        Ok(
            if conn
                .query_one(&known, &[&id, &region])
                .await?
                .get::<_, bool>(0)
            {
                GroupChange::NoSuchGroup
            } else {
                GroupChange::NoSuchInspector
            },
        )
    }

    async fn inspectors(&self, region: &str, group: Option<&str>) -> StorageResult<Vec<Inspector>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT id, name, unit, phone, sectors, grp FROM bo_inspectors
                 WHERE region = $1 AND ($2::text IS NULL OR grp = $2::text)
                 ORDER BY grp COLLATE \"C\" NULLS FIRST, name COLLATE \"C\", id",
            )
            .await?;
        let rows = conn.query(&stmt, &[&region, &group]).await?;
        Ok(rows.iter().map(inspector_row).collect())
    }

    async fn add_expert(&self, region: &str, n: &Expert) -> StorageResult<i64> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "INSERT INTO bo_experts (region, name, specialty, sectors, unit, phone)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .await?;
        let sectors = sectors_text(&n.sectors);
        let row = conn
            .query_one(
                &stmt,
                &[&region, &n.name, &n.specialty, &sectors, &n.unit, &n.phone],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn experts(&self, region: &str) -> StorageResult<Vec<Expert>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT id, name, specialty, sectors, unit, phone FROM bo_experts
                 WHERE region = $1 ORDER BY name COLLATE \"C\", id",
            )
            .await?;
        let rows = conn.query(&stmt, &[&region]).await?;
        Ok(rows.iter().map(expert_row).collect())
    }
}
