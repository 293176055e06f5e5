//! What load balancers, orchestrators and Prometheus ask: `GET /healthz` (the process
//! answers: always 200), `GET /readyz` (the database answers with this build's schema and
//! can be written, and the blob store can be used: 200, or 503 naming what failed) and
//! `GET /metrics` (the Prometheus text format, on this listener or on `--metrics-listen`).
//! `docs/operations.md` says how to use them.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;
use crate::metrics;

/// How long one readiness check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// `/healthz` and `/readyz`, and `/metrics` unless it is served on a listener of its own.
pub fn router(with_metrics: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if with_metrics {
        router.route("/metrics", get(metrics_text))
    } else {
        router
    }
}

/// The router of a metrics-only listener (`--metrics-listen`).
pub fn metrics_router() -> Router {
    Router::new().route("/metrics", get(metrics_text))
}

/// The probes and metrics, described for `GET /v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, readyz, metrics_text))]
pub(crate) struct HealthApi;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = serde_json::Value,
        example = json!({"status": "alive"}))))]
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "alive" }))
}

/// Readiness: the database answers with this build's schema and can be written, and the
/// blob store can be used.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = serde_json::Value,
            example = json!({"status": "ready", "checks": {"database": "ok", "blob_store": "ok"}})),
        (status = 503, description = "Not ready; the log says why", body = serde_json::Value,
            example = json!({"status": "not_ready", "checks": {"database": "failed", "blob_store": "ok"}})),
    ))]
async fn readyz(State(state): State<AppState>) -> Response {
    let (database, blobs) = tokio::join!(
        within(state.storage.check_ready()),
        within(state.blobs.check_ready()),
    );
    let (database, blobs) = (outcome("database", database), outcome("blob_store", blobs));
    let ready = database == "ok" && blobs == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": { "database": database, "blob_store": blobs },
    });
    (status, Json(body)).into_response()
}

/// A check's result, a timeout counting as a failure.
async fn within<E: std::fmt::Display>(
    check: impl Future<Output = Result<(), E>>,
) -> Result<(), String> {
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
    }
}

/// `ok`, or `failed` with the reason in the log (it may name paths and hosts, which the
/// body does not show).
fn outcome(check: &str, result: Result<(), String>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(reason) => {
            tracing::warn!(check, %reason, "readiness check failed");
            "failed"
        }
    }
}

/// The Prometheus text format (on `--metrics-listen` instead, when that is set).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics", content_type = "text/plain; version=0.0.4", body = String)))]
async fn metrics_text() -> Response {
    let mut response = metrics::render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
