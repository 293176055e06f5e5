//! [`RateStore`] for SQLite: hits in `rate_hits`, unlocks in `bo_login_unlocks`. An admission
//! runs on the writer, inside the write transaction (`BEGIN IMMEDIATE`), so the count it reads
//! is the count it adds to, for every process on the file.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::SqliteStorage;
use crate::storage::rate::{first_full, hit_rows};
use crate::storage::{Admission, RateKey, RateStore, StorageResult};

#[async_trait]
impl RateStore for SqliteStorage {
    async fn admit(&self, keys: &[RateKey], now: i64) -> StorageResult<Admission> {
        let keys = keys.to_vec();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM rate_hits WHERE expires_at <= ?1")?
                .execute([now])?;
            let mut live = conn
                .prepare_cached("SELECT COUNT(*), MIN(expires_at) FROM rate_hits WHERE key = ?1")?;
            let mut counts = Vec::with_capacity(keys.len());
            for k in &keys {
                let (count, oldest): (u32, Option<i64>) =
                    live.query_row([&k.key], |r| Ok((r.get(0)?, r.get(1)?)))?;
                counts.push((k.key.clone(), (count, oldest.unwrap_or(now))));
            }
            let found = |key: &str| counts.iter().find(|(k, _)| k == key).map(|(_, c)| *c);
            if let Some(refused) = first_full(&keys, found) {
                return Ok(refused);
            }
            let mut insert =
                conn.prepare_cached("INSERT INTO rate_hits (key, expires_at) VALUES (?1, ?2)")?;
            for (key, expires) in hit_rows(&keys, now) {
                insert.execute(params![key, expires])?;
            }
            Ok(Admission::Admitted)
        })
        .await
    }

    async fn live_hits(&self, key: &str, now: i64) -> StorageResult<(u32, Option<i64>)> {
        let key = key.to_owned();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT COUNT(*), MIN(expires_at) FROM rate_hits
                     WHERE key = ?1 AND expires_at > ?2",
                )?
                .query_row(params![key, now], |r| Ok((r.get(0)?, r.get(1)?)))?)
        })
        .await
    }

    async fn clear(&self, keys: &[String]) -> StorageResult<()> {
        let keys = keys.to_vec();
        self.write(move |conn| {
            let mut delete = conn.prepare_cached("DELETE FROM rate_hits WHERE key = ?1")?;
            for key in &keys {
                delete.execute([key])?;
            }
            Ok(())
        })
        .await
    }

    async fn clear_prefix(&self, prefix: &str) -> StorageResult<()> {
        let prefix = prefix.to_owned();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM rate_hits WHERE substr(key, 1, length(?1)) = ?1")?
                .execute([prefix])?;
            Ok(())
        })
        .await
    }

    async fn refund(&self, key: &str) -> StorageResult<()> {
        let key = key.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(
                "DELETE FROM rate_hits WHERE id = (SELECT id FROM rate_hits WHERE key = ?1
                 ORDER BY expires_at DESC, id DESC LIMIT 1)",
            )?
            .execute([key])?;
            Ok(())
        })
        .await
    }

    async fn store_unlock(&self, login: &str, at: i64) -> StorageResult<()> {
        let login = login.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO bo_login_unlocks (login, unlocked_at) VALUES (?1, ?2)
                 ON CONFLICT (login) DO UPDATE SET unlocked_at = excluded.unlocked_at",
            )?
            .execute(params![login, at])?;
            Ok(())
        })
        .await
    }

    async fn unlock_of(&self, login: &str) -> StorageResult<Option<i64>> {
        let login = login.to_owned();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT unlocked_at FROM bo_login_unlocks WHERE login = ?1")?
                .query_row([login], |r| r.get(0))
                .optional()?)
        })
        .await
    }
}
