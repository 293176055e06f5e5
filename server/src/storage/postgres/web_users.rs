//! [`WebUserStore`] for PostgreSQL: tables `bo_users` and `bo_sessions` (migration 003). A
//! login taken by another process at the same moment is found by `ON CONFLICT DO NOTHING`.

use async_trait::async_trait;

use super::PostgresStorage;
use crate::storage::{NewSession, NewWebUser, StorageResult, WebUserRow, WebUserStore};

#[async_trait]
impl WebUserStore for PostgresStorage {
    async fn insert_user(&self, u: &NewWebUser) -> StorageResult<Option<i64>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "INSERT INTO bo_users
                     (login, name, password_hash, role, region, sectors, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (login) DO NOTHING RETURNING id",
            )
            .await?;
        let row = conn
            .query_opt(
                &stmt,
                &[
                    &u.login,
                    &u.name,
                    &u.password_hash,
                    &u.role,
                    &u.region,
                    &u.sectors,
                    &u.created_at,
                ],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn password_of(&self, login: &str) -> StorageResult<Option<(i64, String)>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("SELECT id, password_hash FROM bo_users WHERE login = $1")
            .await?;
        let row = conn.query_opt(&stmt, &[&login]).await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    async fn insert_session(&self, s: &NewSession) -> StorageResult<()> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "INSERT INTO bo_sessions (id_hash, user_id, csrf, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .await?;
        conn.execute(
            &stmt,
            &[
                &&s.id_hash[..],
                &s.user,
                &s.csrf,
                &s.created_at,
                &s.expires_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &[u8; 32], now: i64) -> StorageResult<()> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("DELETE FROM bo_sessions WHERE id_hash = $1 OR expires_at < $2")
            .await?;
        conn.execute(&stmt, &[&&id_hash[..], &now]).await?;
        Ok(())
    }

    async fn session_user(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> StorageResult<Option<(WebUserRow, String)>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT u.id, u.login, u.name, u.role, u.region, u.sectors, s.csrf
                 FROM bo_sessions s JOIN bo_users u ON u.id = s.user_id
                 WHERE s.id_hash = $1 AND s.expires_at > $2",
            )
            .await?;
        let row = conn.query_opt(&stmt, &[&&id_hash[..], &now]).await?;
        Ok(row.map(|r| {
            (
                WebUserRow {
                    id: r.get(0),
                    login: r.get(1),
                    name: r.get(2),
                    role: r.get(3),
                    region: r.get(4),
                    sectors: r.get(5),
                },
                r.get(6),
            )
        }))
    }
}
