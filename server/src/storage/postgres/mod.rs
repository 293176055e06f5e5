//! The PostgreSQL backend of [`SyncStorage`](super::SyncStorage): a pool of `tokio-postgres`
//! connections (deadpool), numbered migrations run once under an advisory lock, and a change
//! log whose appends are serialised by a transaction-scoped advisory lock, so that several
//! server processes can share one database.

mod appends;
mod assignments;
mod cases;
mod custody;
mod enterprises;
mod leads;
mod log;
mod migrate;
mod office_index;
mod queries;
mod rate;
mod risk_facts;
mod rosters;
mod row_filter;
mod supervision;
mod templates;
mod tls;
mod upload_leases;
mod uploads;
mod web_users;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{StorageError, StorageResult};
pub use migrate::SCHEMA_VERSION;
pub use row_filter::PostgresCondition;

/// How many connections one storage (one server process) holds at most.
const POOL_SIZE: usize = 16;

/// How long an operation waits for a connection, and a new connection for the server: a
/// database that does not answer fails requests instead of piling them up.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// PostgreSQL storage (see the module docs). Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PostgresStorage {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// One permit per pooled connection; closing takes them all, so it waits for the work in
    /// flight and refuses later work.
    permits: Semaphore,
    /// Pushes waiting for the next group commit (`appends.rs`).
    appends: appends::AppendQueue,
    epoch: String,
    certificate_seed: [u8; 32],
}

/// A pooled connection, held with its permit.
struct Conn<'a> {
    client: Object,
    _permit: SemaphorePermit<'a>,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Object;
    fn deref(&self) -> &Object {
        &self.client
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Object {
        &mut self.client
    }
}

impl PostgresStorage {
    /// Connects to the database at `url` (`postgres://USER:PASSWORD@HOST:PORT/DATABASE`, with
    /// libpq's `sslmode` and `sslrootcert` parameters: see [`tls`]), creating or upgrading its
    /// schema.
    pub async fn open(url: &str) -> StorageResult<Self> {
        let (config, tls) = tls::from_url(url)?;
        Self::connect_with(config, tls).await
    }

    /// Connects with a parsed configuration, trusting the system's roots for TLS, creating or
    /// upgrading the schema.
    pub async fn connect(config: tokio_postgres::Config) -> StorageResult<Self> {
        Self::connect_with(config, tls::with_system_roots()?).await
    }

    /// Connects with a parsed configuration and a TLS connector. Processes that start
    /// together migrate once: the others wait for the lock and find the work done.
    async fn connect_with(
        config: tokio_postgres::Config,
        tls: MakeRustlsConnect,
    ) -> StorageResult<Self> {
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                // A connection that broke (the database restarted) fails its next query;
                // checking each one before use would cost a round trip per operation.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_WAIT))
            .create_timeout(Some(CONNECT_WAIT))
            .build()
            .map_err(|e| StorageError::Backend(format!("building the connection pool: {e}")))?;
        let mut client = pool.get().await?;
        let (epoch, certificate_seed) = migrate::upgrade(&mut client).await?;
        drop(client);
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                permits: Semaphore::new(POOL_SIZE),
                appends: appends::AppendQueue::default(),
                epoch,
                certificate_seed,
            }),
        })
    }

    /// A connection from the pool, unless the storage is closed.
    async fn conn(&self) -> StorageResult<Conn<'_>> {
        let permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| StorageError::Backend("the storage is closed".into()))?;
        Ok(Conn {
            client: self.inner.pool.get().await?,
            _permit: permit,
        })
    }

    /// Waits for the operations in flight, then closes every connection. Each write was
    /// durable when it was acknowledged (the database's commit), so nothing is left to flush.
    pub async fn close(&self) -> StorageResult<()> {
        let permits = u32::try_from(POOL_SIZE).expect("a small pool");
        if let Ok(all) = self.inner.permits.acquire_many(permits).await {
            all.forget();
        }
        self.inner.permits.close();
        self.inner.pool.close();
        Ok(())
    }

    /// The readiness check: a connection within [`CONNECT_WAIT`], this build's schema, and a
    /// primary that takes writes (not a standby in recovery).
    pub async fn check_ready(&self) -> StorageResult<()> {
        let conn = self.conn().await?;
        let row = conn
            .query_one(
                "SELECT (SELECT MAX(version) FROM schema_migrations), pg_is_in_recovery()",
                &[],
            )
            .await?;
        let (version, in_recovery): (Option<i32>, bool) = (row.get(0), row.get(1));
        if version != Some(migrate::version_i32()) {
            return Err(StorageError::Backend(format!(
                "schema version {version:?}, this build needs {SCHEMA_VERSION}"
            )));
        }
        if in_recovery {
            return Err(StorageError::Backend(
                "the database is a standby in recovery: it takes no writes".into(),
            ));
        }
        Ok(())
    }
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(e: tokio_postgres::Error) -> Self {
        // `Display` of a server error says only "db error"; its message and code are the news.
        match e.as_db_error() {
            Some(db) => {
                StorageError::Backend(format!("postgres {}: {}", db.code().code(), db.message()))
            }
            // Its `Display` leaves out the cause (a TLS handshake's is rustls' reason).
            None => {
                let mut message = format!("postgres: {e}");
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    message.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                StorageError::Backend(message)
            }
        }
    }
}

impl From<deadpool_postgres::PoolError> for StorageError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            e => StorageError::Backend(format!("postgres connection pool: {e}")),
        }
    }
}
