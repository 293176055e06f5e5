//! # siteproof-server
//!
//! The sync server of siteproof: devices enroll with a one-time code, then push the changes
//! they captured and pull what changed in their group's scope, in one round trip
//! (`POST /v1/sync`, CBOR). The contract is `docs/sync-protocol.md`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use siteproof_server::{AppState, ServerConfig, SqliteStorage, serve, shutdown_signal};
//!
//! let storage = SqliteStorage::open("/var/lib/siteproof/siteproof.db")?;
//! let state = AppState::new(std::sync::Arc::new(storage), ServerConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, state, shutdown_signal()).await?;
//! # Ok(()) }
//! ```
//!
//! ## Layout
//!
//! - [`app`]: the axum `Router`; handlers only translate HTTP to the services below.
//! - [`SyncService`]: push validation and pull paging, HTTP-free.
//! - [`DeviceRegistry`]: enrollment codes into devices with bearer tokens; [`Principal`].
//! - [`AdminService`]: groups, enrollment codes, devices, template publishing.
//! - [`SyncStorage`]: the storage trait, with [`SqliteStorage`] as the embedded backend and
//!   [`storage_suite`] as the test suite every backend runs.

pub mod admin;
pub mod backoffice;
pub mod blob;
mod devices;
mod error;
pub mod evidence;
#[doc(hidden)]
pub mod fuzz_entry;
mod http;
pub mod ids;
mod principal;
mod secret;
pub mod storage;
pub mod storage_suite;
mod sync;
pub mod tus;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::response::{IntoResponse, Response};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::trace::TraceLayer;

pub use admin::{AdminService, IssuedCode};
pub use devices::{
    DeviceRegistry, ENROLL_FAILURES_PER_ADDRESS, ENROLL_WINDOW, EnrollRequest, EnrollResponse,
};
pub use error::{AppError, Error, Result};
pub use ids::{GroupId, RegionCode};
pub use principal::Principal;
pub use storage::{SqliteStorage, StorageError, SyncStorage};
pub use sync::{SyncLimits, SyncService, visible_to};

/// Settings of a server process.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The largest `POST /v1/sync` body accepted, in bytes (larger: 413).
    pub sync_body_limit: usize,
    /// Limits of the sync service.
    pub sync: SyncLimits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            sync_body_limit: 32 << 20,
            sync: SyncLimits::default(),
        }
    }
}

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
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
    /// Evidence uploads and serving; `None` until a blob store is attached
    /// ([`AppState::with_media`]).
    pub media: Option<Arc<tus::MediaService>>,
    /// The back office's pages; `None` until attached ([`AppState::with_backoffice`]).
    pub backoffice: Option<Arc<backoffice::BackOffice>>,
    /// Evidence checks and the custody log; `None` until attached
    /// ([`AppState::with_evidence`]).
    pub evidence: Option<Arc<evidence::EvidenceService>>,
}

impl AppState {
    /// The services over one storage.
    pub fn new(storage: Arc<dyn SyncStorage>, config: ServerConfig) -> Self {
        Self {
            sync: Arc::new(SyncService::new(Arc::clone(&storage), config.sync.clone())),
            devices: Arc::new(DeviceRegistry::new(Arc::clone(&storage))),
            admin: Arc::new(AdminService::new(Arc::clone(&storage))),
            storage,
            config: Arc::new(config),
            media: None,
            backoffice: None,
            evidence: None,
        }
    }

    /// The embedded setup under `data_dir`: `siteproof.db` (SQLite) and `blobs/` for media.
    pub fn open_embedded(data_dir: &Path, config: ServerConfig) -> Result<Self> {
        for dir in [data_dir.to_path_buf(), data_dir.join("blobs")] {
            std::fs::create_dir_all(&dir).map_err(|e| {
                Error::Internal(format!(
                    "cannot create data directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let storage = SqliteStorage::open(data_dir.join("siteproof.db"))?;
        let blobs = blob::FsBlobStore::open(data_dir.join("blobs"))
            .map_err(|e| Error::Internal(format!("cannot open the blob store: {e}")))?;
        let db_path = storage.path().to_path_buf();
        Self::new(Arc::new(storage), config)
            .with_media(Arc::new(blobs), tus::MediaConfig::default())
            .with_evidence(&db_path)?
            .with_backoffice(&db_path, backoffice::BackOfficeConfig::default())
    }

    /// Attaches evidence checks and the custody log over the SQLite file at `db_path`, using
    /// the blob store attached before (without one there is no evidence: nothing is done).
    pub fn with_evidence(mut self, db_path: &Path) -> Result<Self> {
        let Some(media) = self.media.clone() else {
            return Ok(self);
        };
        let service = Arc::new(evidence::EvidenceService::open(
            db_path,
            Arc::clone(&self.storage),
            Arc::clone(media.blobs()),
        )?);
        media.attach_evidence(Arc::clone(&service));
        self.evidence = Some(service);
        Ok(self)
    }

    /// Attaches the back office over the SQLite file at `db_path` (the one the storage opened),
    /// using the blob store attached before, if any.
    pub fn with_backoffice(
        mut self,
        db_path: &Path,
        config: backoffice::BackOfficeConfig,
    ) -> Result<Self> {
        let blobs = self.media.as_ref().map(|m| Arc::clone(m.blobs()));
        let office =
            backoffice::BackOffice::open(db_path, Arc::clone(&self.storage), blobs, config)?;

        self.backoffice = Some(Arc::new(office));
        Ok(self)
    }

    /// Attaches a blob store: turns on the tus upload and media endpoints.
    pub fn with_media(mut self, blobs: Arc<dyn blob::BlobStore>, config: tus::MediaConfig) -> Self {
        let storage = Arc::clone(&self.storage);
        self.media = Some(Arc::new(tus::MediaService::new(blobs, storage, config)));
        self
    }
}

impl AppState {
    /// Stops the services in order, once no request is left: the background compaction
    /// finishes what is queued, the back office and evidence close their connections, and the
    /// storage lets its queued writes commit and folds its log into the database file. When
    /// this returns nothing writes to the data directory any more, so it can be copied as a
    /// backup. Every clone is closed with it.
    pub async fn shutdown(&self) -> Result<()> {
        self.sync.close().await;
        if let Some(office) = &self.backoffice {
            office.close().await;
        }
        if let Some(evidence) = &self.evidence {
            evidence.close().await;
        }
        self.storage.close().await?;
        tracing::info!("storage closed");
        Ok(())
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let limit = state.config.sync_body_limit;
    let app = http::router(&state)
        .layer(RequestBodyLimitLayer::new(limit))
        // Outside the limit layer, so it sees (and rewrites) that layer's own 413s.
        .layer(axum::middleware::map_response(move |r: Response| {
            json_413(r, limit)
        }))
        .layer(TraceLayer::new_for_http())
        .merge(tus::router()) // after the body limit: uploads stream any size
        .merge(backoffice::headers::secured(backoffice::router()))
        .with_state(state);
    // Outermost: credentials are marked sensitive before any layer could log them.
    backoffice::headers::everywhere(app).layer(SetSensitiveHeadersLayer::new([
        AUTHORIZATION,
        COOKIE,
        SET_COOKIE,
    ]))
}

/// The body-limit layer answers 413 on its own, before any handler; say it in JSON like
/// every other error.
async fn json_413(response: Response, limit: usize) -> Response {
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        AppError::PayloadTooLarge { limit }.into_response()
    } else {
        response
    }
}

/// Serves `app(state)` on `listener` until `shutdown` completes, then stops taking
/// connections, lets requests in flight finish and shuts the services down
/// ([`AppState::shutdown`]) before returning. Tests pass a listener bound to port 0.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // With the peer address, so login throttling can count per client address.
    let service = app(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await;
    let closed = state.shutdown().await;
    served?;
    closed.map_err(std::io::Error::other)
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
