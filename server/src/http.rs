//! The HTTP surface: one handler per endpoint, each a thin translation between HTTP and a
//! service. `docs/sync-protocol.md` describes every endpoint.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use siteproof_core::RecordKind;
use siteproof_core::sync::wire::{self, SyncRequest};

use crate::AppState;
use crate::devices::{EnrollRequest, EnrollResponse};
use crate::error::{AppError, Error, ErrorBody};
use crate::identity::ClientAddr;
use crate::identity::visibility::Reads;
use crate::metrics;
use crate::storage::DeviceSession;

/// The largest enrollment body accepted.
const ENROLL_BODY_LIMIT: usize = 16 * 1024;

/// The routes of protocol version 1.
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/health", get(health))
        .route(
            "/v1/enroll",
            post(enroll).layer(DefaultBodyLimit::max(ENROLL_BODY_LIMIT)),
        )
        .route(
            "/v1/sync",
            post(sync).layer(DefaultBodyLimit::max(state.config.sync_body_limit)),
        )
}

/// The sync endpoints, described for `GET /v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(health, enroll, sync))]
pub(crate) struct SyncApi;

/// The server answers (kept for older clients; load balancers use `/healthz`, `/readyz`).
#[utoipa::path(get, path = "/v1/health", tag = "sync",
    responses((status = 200, description = "The server answers", body = serde_json::Value,
        example = json!({"status": "ok"}))))]
async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Turns a one-time enrollment code into a device and its bearer token
/// (`docs/sync-protocol.md`, "Enrollment").
#[utoipa::path(post, path = "/v1/enroll", tag = "sync",
    request_body = EnrollRequest,
    responses(
        (status = 200, description = "Enrolled; the token is never shown again", body = EnrollResponse),
        (status = 400, description = "`malformed`: not the JSON described", body = ErrorBody),
        (status = 403, description = "`enrollment_refused`: unknown, used or expired code", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 16 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 429, description = "`too_many_attempts` from this address", body = ErrorBody),
    ))]
async fn enroll(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    body: Result<Json<EnrollRequest>, JsonRejection>,
) -> Result<Json<EnrollResponse>, AppError> {
    let Json(req) = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge {
            limit: ENROLL_BODY_LIMIT,
        },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType("application/json"),
        _ => Error::Malformed(format!(
            "the body must be JSON {{\"code\": \"...\", \"device_name\": \"...\"}}: {}",
            rejection.body_text()
        ))
        .into(),
    })?;
    Ok(Json(state.devices.enroll_from(&req, &address).await?))
}

/// One round trip: push the changes captured, pull what changed in the device's scope. The
/// body is a CBOR `SyncRequest`, the answer a CBOR `SyncResponse`: their fields, paging and
/// cursor rules are in `docs/sync-protocol.md`, which OpenAPI cannot describe.
#[utoipa::path(post, path = "/v1/sync", tag = "sync",
    security(("device_token" = [])),
    request_body(content = Vec<u8>, content_type = "application/cbor",
        description = "A CBOR `SyncRequest` (docs/sync-protocol.md)"),
    responses(
        (status = 200, description = "A CBOR `SyncResponse` (docs/sync-protocol.md)",
            content_type = "application/cbor", body = Vec<u8>),
        (status = 400, description = "`malformed`: the body is not a SyncRequest", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no or a revoked device token", body = ErrorBody),
        (status = 403, description = "`forbidden_scope`, `forbidden_kind`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over --sync-body-limit-mib, or a push of more than 500 records", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not application/cbor", body = ErrorBody),
        (status = 422, description = "`invalid_record`, `missing_dependencies`, `header_changed`", body = ErrorBody),
        (status = 503, description = "`busy`: retry after the `Retry-After` seconds", body = ErrorBody),
    ))]
async fn sync(
    State(state): State<AppState>,
    session: DeviceSession,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let device = &session.device;
    let is_cbor = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(wire::CONTENT_TYPE))
        });
    if !is_cbor {
        return Err(AppError::UnsupportedMediaType(wire::CONTENT_TYPE));
    }
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge {
            limit: state.config.sync_body_limit,
        },
        _ => Error::Malformed(format!(
            "could not read the body: {}",
            rejection.body_text()
        ))
        .into(),
    })?;
    let req: SyncRequest = wire::decode(&body).map_err(|e| Error::Malformed(e.to_string()))?;
    // The raw body is not kept while the push is checked and the page is built.
    let body_len = body.len();
    drop(body);
    // The region's enterprise directory is brought up to date first, so this pull carries
    // it; a failure there is logged and the sync goes on (`backoffice/directory.rs`). Only
    // for a client that reads it (`Reads`: older app builds are never sent one).
    let region = device.scope.region.clone();
    if Reads::announced(&req.reads).receives(RecordKind::Directory)
        && let Err(e) = state.backoffice.sync_directory(&region).await
    {
        tracing::warn!(%region, error = %e, "enterprise directory not rebuilt");
    }
    let pushed = !req.push.is_empty();
    let resp = state.sync.sync(&session, req).await?;
    if pushed {
        state.backoffice.directory_pushed(&region);
    }
    let encoded = wire::encode(&resp);
    metrics::sync_round(
        resp.acked.len(),
        resp.records.len(),
        body_len,
        encoded.len(),
    );
    drop(resp);
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static(wire::CONTENT_TYPE))],
        encoded,
    )
        .into_response())
}
