//! The composition root: [`Services::open`] opens every service of a server over one data
//! directory, each exactly once and each mandatory, in the one order their dependencies
//! allow. The HTTP routes ([`crate::app`]), the CLI's admin commands and the tests all start
//! here.

use std::path::Path;
use std::sync::Arc;

use crate::admin::AdminService;
use crate::backoffice::{BackOffice, BackOfficeConfig};
use crate::blob::{BlobLocation, BlobStore};
use crate::connections::ConnectionLimits;
use crate::devices::DeviceRegistry;
use crate::error::{Error, Result};
use crate::evidence::EvidenceService;
use crate::identity::{Sessions, TrustedProxies};
use crate::storage::{Database, SyncStorage};
use crate::sync::{SyncLimits, SyncService};
use crate::tus::{MediaConfig, MediaService};

pub use crate::blob::BLOBS_DIR;

/// Settings of a server process.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The largest `POST /v1/sync` body accepted, in bytes (larger: 413).
    pub sync_body_limit: usize,
    /// Limits of the sync service.
    pub sync: SyncLimits,
    /// Uploads and media serving.
    pub media: MediaConfig,
    /// The back office (sessions, cookies, throttling).
    pub office: BackOfficeConfig,
    /// Timeouts and caps of every connection.
    pub connections: ConnectionLimits,
    /// Where blobs live: the data directory's `blobs/` unless told otherwise.
    pub blobs: BlobLocation,
    /// Where the state lives: the data directory's SQLite file unless told otherwise.
    pub database: Database,
    /// Whether `GET /metrics` is on the main listener (false when a listener of its own
    /// serves it: `--metrics-listen`).
    pub metrics_on_main_listener: bool,
    /// Peers whose `X-Forwarded-For` names the client (`--trusted-proxy`); none by default.
    pub trusted_proxies: TrustedProxies,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            sync_body_limit: 32 << 20,
            sync: SyncLimits::default(),
            media: MediaConfig::default(),
            office: BackOfficeConfig::default(),
            connections: ConnectionLimits::default(),
            blobs: BlobLocation::DataDir,
            database: Database::Embedded,
            metrics_on_main_listener: true,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// Every service of a server. Cheap to clone; what every handler shares.
#[derive(Clone)]
pub struct Services {
    /// Push and pull.
    pub sync: Arc<SyncService>,
    /// Enrollment and authentication.
    pub devices: Arc<DeviceRegistry>,
    /// Administration.
    pub admin: Arc<AdminService>,
    /// The storage itself (for tests and tools).
    pub storage: Arc<dyn SyncStorage>,
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// Evidence uploads and serving.
    pub media: Arc<MediaService>,
    /// The back office.
    pub backoffice: Arc<BackOffice>,
    /// Web users' logins and sessions (the back office's, shared).
    pub sessions: Arc<Sessions>,
    /// Evidence checks and the custody log.
    pub evidence: Arc<EvidenceService>,
    /// The blob store the media service and the back office use (for readiness and tools).
    pub blobs: Arc<dyn BlobStore>,
}

/// The state the HTTP routes take: the services.
pub type AppState = Services;

impl Services {
    /// Opens the services under `data_dir`: the database (`siteproof.db`, SQLite, unless
    /// `config.database` names PostgreSQL; migrated on open) and `blobs/` for media (unless
    /// `config.blobs` names another store), created if missing.
    pub async fn open(data_dir: &Path, config: ServerConfig) -> Result<Self> {
        crate::metrics::install();
        for dir in [data_dir.to_path_buf(), data_dir.join(BLOBS_DIR)] {
            std::fs::create_dir_all(&dir).map_err(|e| {
                Error::Internal(format!(
                    "cannot create data directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let storage = config.database.open(data_dir).await?;
        let blobs: Arc<dyn BlobStore> = config
            .blobs
            .open(data_dir)
            .map_err(|e| Error::Internal(format!("cannot open the blob store: {e}")))?;
        let evidence = Arc::new(EvidenceService::new(
            Arc::clone(&storage),
            Arc::clone(&blobs),
        ));
        let media = Arc::new(MediaService::new(
            Arc::clone(&blobs),
            Arc::clone(&storage),
            Arc::clone(&evidence),
            config.media.clone(),
        ));
        // Uploads an older version staged with their descriptions beside the bytes: into the
        // database, once. One that fails is tried again at the next start (nothing is lost).
        if let Err(e) = media.import_staged().await {
            tracing::warn!(error = %e, "importing uploads staged by an older version failed");
        }
        let backoffice = Arc::new(BackOffice::open(
            Arc::clone(&storage),
            Some(Arc::clone(&blobs)),
            config.office.clone(),
        )?);
        Ok(Self {
            sync: Arc::new(SyncService::new(Arc::clone(&storage), config.sync.clone())),
            devices: Arc::new(DeviceRegistry::new(Arc::clone(&storage))),
            admin: Arc::new(AdminService::new(Arc::clone(&storage))),
            storage,
            config: Arc::new(config),
            media,
            sessions: Arc::clone(backoffice.sessions()),
            backoffice,
            evidence,
            blobs,
        })
    }

    /// Stops the services in order, once no request is left: the background compaction
    /// finishes what is queued, the back office closes its connection, and the
    /// storage lets its queued writes commit and folds its log into the database file. When
    /// this returns nothing writes to the data directory any more, so it can be copied as a
    /// backup. Every clone is closed with it.
    pub async fn shutdown(&self) -> Result<()> {
        self.sync.close().await;
        self.backoffice.close().await;
        self.storage.close().await?;
        tracing::info!("storage closed");
        Ok(())
    }
}
