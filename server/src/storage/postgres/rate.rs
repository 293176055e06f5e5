//! [`RateStore`] for PostgreSQL. An admission is one transaction that first takes a
//! transaction-scoped advisory lock per key (in one order, so two admissions never wait on
//! each other in a circle), then counts and inserts: admissions touching a key run one at a
//! time across every process, and each counts every hit committed before it.
//!
//! Expired hits are deleted by the admissions themselves, a bounded batch each, skipping rows
//! another transaction holds, so pruning never waits and the table stays at the live hits.

use async_trait::async_trait;

use super::PostgresStorage;
use crate::storage::rate::{first_full, hit_rows};
use crate::storage::{Admission, RateKey, RateStore, StorageResult};

/// The first half of the two-key advisory locks of counters (the ASCII of "rate"); that key
/// space is apart from the one-key locks of migrations and appends.
const RATE_LOCK_CLASS: i32 = 0x7261_7465;

/// Expired rows one admission deletes at most.
const PRUNE_BATCH: i64 = 500;

#[async_trait]
impl RateStore for PostgresStorage {
    async fn admit(&self, keys: &[RateKey], now: i64) -> StorageResult<Admission> {
        let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        let lock = tx
            .prepare_cached(
                "SELECT pg_advisory_xact_lock($1, h)
                 FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY h) AS keys",
            )
            .await?;
        tx.query(&lock, &[&RATE_LOCK_CLASS, &names]).await?;
        let live = tx
            .prepare_cached(
                "SELECT key, COUNT(*)::bigint, MIN(expires_at) FROM rate_hits
                 WHERE key = ANY($1) AND expires_at > $2 GROUP BY key",
            )
            .await?;
        let counts: Vec<(String, (u32, i64))> = tx
            .query(&live, &[&names, &now])
            .await?
            .iter()
            .map(|r| {
                let count: i64 = r.get(1);
                (
                    r.get(0),
                    (u32::try_from(count).unwrap_or(u32::MAX), r.get(2)),
                )
            })
            .collect();
        let found = |key: &str| counts.iter().find(|(k, _)| k == key).map(|(_, c)| *c);
        if let Some(refused) = first_full(keys, found) {
            tx.commit().await?;
            return Ok(refused);
        }
        let (names, expiries): (Vec<&str>, Vec<i64>) = hit_rows(keys, now).into_iter().unzip();
        let insert = tx
            .prepare_cached(
                "INSERT INTO rate_hits (key, expires_at) SELECT * FROM unnest($1::text[], $2::bigint[])",
            )
            .await?;
        tx.execute(&insert, &[&names, &expiries]).await?;
        let prune = tx
            .prepare_cached(
                "DELETE FROM rate_hits WHERE id IN (SELECT id FROM rate_hits
                 WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            )
            .await?;
        tx.execute(&prune, &[&now, &PRUNE_BATCH]).await?;
        tx.commit().await?;
        Ok(Admission::Admitted)
    }

    async fn live_hits(&self, key: &str, now: i64) -> StorageResult<(u32, Option<i64>)> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "SELECT COUNT(*)::bigint, MIN(expires_at) FROM rate_hits
                 WHERE key = $1 AND expires_at > $2",
            )
            .await?;
        let row = conn.query_one(&stmt, &[&key, &now]).await?;
        let count: i64 = row.get(0);
        Ok((u32::try_from(count).unwrap_or(u32::MAX), row.get(1)))
    }

    async fn clear(&self, keys: &[String]) -> StorageResult<()> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("DELETE FROM rate_hits WHERE key = ANY($1)")
            .await?;
        conn.execute(&stmt, &[&keys]).await?;
        Ok(())
    }

    async fn clear_prefix(&self, prefix: &str) -> StorageResult<()> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("DELETE FROM rate_hits WHERE starts_with(key, $1)")
            .await?;
        conn.execute(&stmt, &[&prefix]).await?;
        Ok(())
    }

    async fn refund(&self, key: &str) -> StorageResult<()> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "DELETE FROM rate_hits WHERE id = (SELECT id FROM rate_hits WHERE key = $1
                 ORDER BY expires_at DESC, id DESC LIMIT 1 FOR UPDATE SKIP LOCKED)",
            )
            .await?;
        conn.execute(&stmt, &[&key]).await?;
        Ok(())
    }

    async fn store_unlock(&self, login: &str, at: i64) -> StorageResult<()> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(
                "INSERT INTO login_unlocks (login, unlocked_at) VALUES ($1, $2)
                 ON CONFLICT (login) DO UPDATE SET unlocked_at = excluded.unlocked_at",
            )
            .await?;
        conn.execute(&stmt, &[&login, &at]).await?;
        Ok(())
    }

    async fn unlock_of(&self, login: &str) -> StorageResult<Option<i64>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("SELECT unlocked_at FROM login_unlocks WHERE login = $1")
            .await?;
        Ok(conn.query_opt(&stmt, &[&login]).await?.map(|r| r.get(0)))
    }
}
