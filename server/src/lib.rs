//! # siteproof-server
//!
//! The sync server of siteproof: devices enroll with a one-time code, then push the changes
//! they captured and pull what changed in their group's scope, in one round trip
//! (`POST /v1/sync`, CBOR). The contract is `docs/sync-protocol.md`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use siteproof_server::{ServerConfig, Services, serve, shutdown_signal};
//!
//! let state = Services::open("/var/lib/siteproof".as_ref(), ServerConfig::default()).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, state, shutdown_signal()).await?;
//! # Ok(()) }
//! ```
//!
//! ## Layout
//!
//! - [`app`]: the axum `Router`; handlers only translate HTTP to the services below. Every
//!   request runs in a span with its request id (returned in [`REQUEST_ID`]) and is counted
//!   in [`metrics`]; `/healthz`, `/readyz` and `/metrics` are for operators
//!   (`docs/operations.md`).
//! - [`Services`]: the composition root, every service opened once (`services.rs`).
//! - [`Visibility`]: who may read or write what, for every route and service.
//! - [`SyncService`]: push validation and pull paging, HTTP-free.
//! - [`DeviceRegistry`]: enrollment codes into devices with bearer tokens; [`Principal`].
//! - [`AdminService`]: groups, enrollment codes, devices, template publishing.
//! - [`openapi`]: the OpenAPI 3.1 description, generated from the handlers, at
//!   `GET /v1/openapi.json` (checked in as `docs/openapi.json`).
//! - [`tls`]: optional built-in HTTPS, its certificate reloaded on SIGHUP ([`serve_tls`]).
//! - [`SyncStorage`]: the storage trait, with [`SqliteStorage`] as the embedded backend,
//!   [`storage::PostgresStorage`] for several processes on one database (`storage::Database`
//!   selects one)
//!   and [`storage_suite`] as the test suite every backend runs.
//!
//! `docs/ARCHITECTURE.md` maps the layers.

pub mod admin;
pub mod allocator;
pub mod backoffice;
pub mod backup;
pub mod blob;
mod caller;
pub mod connections;
mod devices;
mod error;
pub mod evidence;
#[doc(hidden)]
pub mod fuzz_entry;
mod health;
mod http;
pub mod identity;
pub mod ids;
pub mod linger;
pub mod metrics;
mod observe;
pub mod openapi;
mod secret;
mod services;
pub mod storage;
pub mod storage_suite;
mod sync;
pub mod tls;
pub mod tus;
pub mod work_gate;

/// Login limits, under their former path (`identity::login_guard`).
pub use identity::login_guard;
/// The throttles, under their former path (`identity::rate_limit`).
pub use identity::rate_limit;
/// The visibility policy, under its former path (`identity::visibility`).
pub use identity::visibility;

use std::future::Future;

use axum::Router;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::trace::TraceLayer;

pub use admin::{AdminService, IssuedCode};
pub use devices::{
    DeviceRegistry, ENROLL_FAILURES_PER_ADDRESS, ENROLL_WINDOW, EnrollRequest, EnrollResponse,
};
pub use error::{AppError, Error, Result};
pub use identity::Principal;
pub use ids::{GroupId, RegionCode};
pub use services::{AppState, ServerConfig, Services};
pub use storage::{SqliteStorage, StorageError, SyncStorage};
pub use sync::{SyncLimits, SyncService};
pub use visibility::{Action, Duty, RecordFacts, Unsectored, Visibility};

pub use observe::REQUEST_ID;

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let limit = state.config.sync_body_limit;
    let with_metrics = state.config.metrics_on_main_listener;
    let trusted = std::sync::Arc::new(state.config.trusted_proxies.clone());
    let app = http::router(&state)
        .layer(RequestBodyLimitLayer::new(limit))
        // Outside the limit layer, so it sees (and rewrites) that layer's own 413s.
        .layer(axum::middleware::map_response(move |r: Response| {
            json_413(r, limit)
        }))
        .layer(TraceLayer::new_for_http())
        .merge(tus::router()) // after the body limit: uploads stream any size
        .merge(backoffice::headers::secured(backoffice::router()))
        .merge(health::router(with_metrics))
        .merge(openapi::router())
        .route(
            "/",
            get(|headers: HeaderMap| async move { backoffice::front_door(&headers) }),
        )
        .fallback(no_route)
        .with_state(state);
    // Credentials are marked sensitive before any layer could log them; the request's span
    // and id wrap everything, after routing (the metrics label requests by route).
    identity::headers::everywhere(app)
        .layer(SetSensitiveHeadersLayer::new([
            AUTHORIZATION,
            COOKIE,
            SET_COOKIE,
        ]))
        .layer(axum::middleware::from_fn(observe::observe))
        // What `identity::ClientAddr` reads to believe a proxy's X-Forwarded-For.
        .layer(axum::Extension(trusted))
}

/// A URL no route serves: the office's 404 page under `/office`, a JSON error elsewhere.
async fn no_route(uri: Uri, headers: HeaderMap) -> Response {
    if backoffice::is_office_path(uri.path()) {
        backoffice::not_found(&uri, &headers)
    } else {
        AppError::NoRoute.into_response()
    }
}

/// Serves `GET /metrics` alone on `listener` (`--metrics-listen`) until `shutdown` completes.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, health::metrics_router())
        .with_graceful_shutdown(shutdown)
        .await
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
/// ([`AppState::shutdown`]) before returning. Tests pass a listener bound to port 0. Every
/// connection is held to `ServerConfig::connections` ([`connections::ConnectionLimits`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, None, shutdown).await
}

/// [`serve`] over HTTPS, with the certificate `certificate` presents (and reloads,
/// [`tls::CertificateReloader::reload`]); the connection limits hold the same.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    state: AppState,
    certificate: &std::sync::Arc<tls::CertificateReloader>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = certificate.acceptor().map_err(std::io::Error::other)?;
    serve_with(listener, state, Some(acceptor), shutdown).await
}

async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Each connection carries its peer address, so login throttling counts per address.
    let mut limits = state.config.connections.clone();
    // Each connection holds a descriptor; keep some for the database, blobs and logs.
    let files = connections::raise_open_file_limit();
    let fit = usize::try_from(files.saturating_sub(256)).unwrap_or(usize::MAX);
    if files > 0 && limits.overall + limits.reserve > fit {
        tracing::warn!(files, "few open files allowed: fewer connections accepted");
        limits.reserve = limits.reserve.min(fit / 8);
        limits.overall = fit - limits.reserve;
    }
    let app = app(state.clone());
    let served = connections::serve_connections(listener, app, limits, tls, shutdown).await;
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
