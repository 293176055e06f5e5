//! Numbered migrations for PostgreSQL. `schema_migrations` lists the versions applied; the
//! upgrade runs in one transaction under an advisory lock, so of several processes starting
//! at once one migrates and the others, once the lock is theirs, find the schema current.
//! PostgreSQL's DDL is transactional: a migration that fails leaves nothing behind.

use deadpool_postgres::Object;

use crate::storage::{StorageError, StorageResult};

/// The migrations, in order; migration `i` upgrades the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_sync.sql"),
    include_str!("migrations/002_rate_hits.sql"),
    include_str!("migrations/003_web_users.sql"),
    include_str!("migrations/004_leads.sql"),
    include_str!("migrations/005_template_drafts.sql"),
    include_str!("migrations/006_rosters.sql"),
    include_str!("migrations/007_assignments.sql"),
    include_str!("migrations/008_custody.sql"),
    include_str!("migrations/009_cases.sql"),
    include_str!("migrations/010_upload_leases.sql"),
    include_str!("migrations/011_office_index.sql"),
    include_str!("migrations/012_risk_changes.sql"),
    include_str!("migrations/013_uploads.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = siteproof_core::migrations::version_of(MIGRATIONS);

/// The advisory lock key of the migration (any constant no other lock of the database uses:
/// the ASCII of "spMIGRAT").
const MIGRATION_LOCK: i64 = 0x7370_4d49_4752_4154;

pub(super) fn version_i32() -> i32 {
    i32::try_from(SCHEMA_VERSION).expect("a few migrations")
}

/// Brings the schema up to date and returns the installation's epoch and certificate key
/// seed, both made once (by whichever process migrated first).
pub(super) async fn upgrade(client: &mut Object) -> StorageResult<(String, [u8; 32])> {
    let tx = client.transaction().await?;
    // Held until the commit; taken before anything is read, so every statement after it sees
    // what an earlier holder committed.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await?;
    let found: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    if found > version_i32() {
        return Err(StorageError::Backend(format!(
            "database schema version {found} is newer than this build supports ({SCHEMA_VERSION})"
        )));
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let version = i32::try_from(i + 1).expect("a few migrations");
        tracing::info!(to = version, "migrating the PostgreSQL schema");
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
    }
    // Made here rather than in SQL so that they come from the operating system's random
    // source; `DO NOTHING` keeps the first process's values.
    let insert = "INSERT INTO server_meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING";
    tx.execute(
        insert,
        &[&"epoch", &hex::encode(rand::random::<[u8; 16]>())],
    )
    .await?;
    tx.execute(
        insert,
        &[&"certificate_key", &hex::encode(rand::random::<[u8; 32]>())],
    )
    .await?;
    let meta = |key: &'static str| {
        let tx = &tx;
        async move {
            let value: String = tx
                .query_one("SELECT value FROM server_meta WHERE key = $1", &[&key])
                .await?
                .get(0);
            Ok::<_, StorageError>(value)
        }
    };
    let epoch = meta("epoch").await?;
    let seed = meta("certificate_key").await?;
    tx.commit().await?;
    let seed = hex::decode(seed)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StorageError::Backend("stored certificate key is damaged".into()))?;
    Ok((epoch, seed))
}
