//! [`WebUserStore`] for SQLite: tables `bo_users` and `bo_sessions` (migration 002).

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::SqliteStorage;
use crate::storage::{NewSession, NewWebUser, StorageResult, WebUserRow, WebUserStore};

#[async_trait]
impl WebUserStore for SqliteStorage {
    async fn insert_user(&self, user: &NewWebUser) -> StorageResult<Option<i64>> {
        let u = user.clone();
        self.write(move |conn| {
            let n = conn.execute(
                "INSERT OR IGNORE INTO bo_users
                     (login, name, password_hash, role, region, sectors, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    u.login,
                    u.name,
                    u.password_hash,
                    u.role,
                    u.region,
                    u.sectors,
                    u.created_at
                ],
            )?;
            Ok((n == 1).then(|| conn.last_insert_rowid()))
        })
        .await
    }

    async fn password_of(&self, login: &str) -> StorageResult<Option<(i64, String)>> {
        let login = login.to_owned();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT id, password_hash FROM bo_users WHERE login = ?1")?
                .query_row([login], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?)
        })
        .await
    }

    async fn insert_session(&self, session: &NewSession) -> StorageResult<()> {
        let s = session.clone();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO bo_sessions (id_hash, user_id, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![&s.id_hash[..], s.user, s.csrf, s.created_at, s.expires_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_session(&self, id_hash: &[u8; 32], now: i64) -> StorageResult<()> {
        let id_hash = *id_hash;
        self.write(move |conn| {
            conn.execute(
                "DELETE FROM bo_sessions WHERE id_hash = ?1 OR expires_at < ?2",
                params![&id_hash[..], now],
            )?;
            Ok(())
        })
        .await
    }

    async fn session_user(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> StorageResult<Option<(WebUserRow, String)>> {
        let id_hash = *id_hash;
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT u.id, u.login, u.name, u.role, u.region, u.sectors, s.csrf
                     FROM bo_sessions s JOIN bo_users u ON u.id = s.user_id
                     WHERE s.id_hash = ?1 AND s.expires_at > ?2",
                )?
                .query_row(params![&id_hash[..], now], |r| {
                    Ok((
                        WebUserRow {
                            id: r.get(0)?,
                            login: r.get(1)?,
                            name: r.get(2)?,
                            role: r.get(3)?,
                            region: r.get(4)?,
                            sectors: r.get(5)?,
                        },
                        r.get(6)?,
                    ))
                })
                .optional()?)
        })
        .await
    }
}
