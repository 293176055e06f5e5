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
use siteproof_core::sync::wire::{self, SyncRequest};

use crate::AppState;
use crate::devices::{EnrollRequest, EnrollResponse};
use crate::error::{AppError, Error};
use crate::identity::{ClientAddr, Principal};
use crate::metrics;

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

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

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

async fn sync(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let device = principal.device()?;
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
    let resp = state.sync.sync(device, req).await?;
    let encoded = wire::encode(&resp);
    metrics::sync_round(
        resp.acked.len(),
        resp.records.len(),
        body.len(),
        encoded.len(),
    );
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static(wire::CONTENT_TYPE))],
        encoded,
    )
        .into_response())
}
