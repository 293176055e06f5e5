//! The OpenAPI 3.1 description of the HTTP API, generated from the handlers' annotations
//! (`utoipa`): each routing module describes its own endpoints (`SyncApi`, `MediaApi`,
//! `LeadsApi`, `HealthApi`) and [`document`] merges them. Served at `GET /v1/openapi.json`
//! and checked in as `docs/openapi.json` (a test compares the two). The office's HTML pages
//! are not in it; the CBOR sync body and the tus protocol are described as far as OpenAPI
//! goes, `docs/sync-protocol.md` and `docs/media-upload.md` say the rest.

use std::sync::OnceLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::AppState;

/// Where the description is served.
pub const PATH: &str = "/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "siteproof",
        description = "The sync server's HTTP API: device enrollment and sync (CBOR, \
            docs/sync-protocol.md), evidence uploads over tus 1.0.0 and evidence reads \
            (docs/media-upload.md), public whistleblower leads (docs/leads-api.md), and the \
            probes of docs/operations.md. Every error is JSON `{error, message}`."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "sync", description = "Enrollment and sync: docs/sync-protocol.md"),
        (name = "media", description = "tus 1.0.0 uploads and evidence reads: docs/media-upload.md"),
        (name = "leads", description = "Public whistleblower leads: docs/leads-api.md"),
        (name = "operations", description = "Probes and metrics: docs/operations.md"),
    )
)]
struct ApiDoc;

/// The bearer token of an enrolled device, and the back office's session cookie (evidence
/// reads accept either).
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "device_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token `POST /v1/enroll` returned (64 hex digits).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "office_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::identity::SESSION_COOKIE,
                "A back-office session (sign in at /office/login).",
            ))),
        );
    }
}

/// The whole description.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::http::SyncApi::openapi());
    doc.merge(crate::tus::MediaApi::openapi());
    doc.merge(crate::backoffice::LeadsApi::openapi());
    doc.merge(crate::health::HealthApi::openapi());
    doc
}

/// The description as `docs/openapi.json` holds it: pretty JSON and a final newline.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("the description serialises: it is built from plain values");
    json.push('\n');
    json
}

/// `GET /v1/openapi.json`.
pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(openapi_json))
}

async fn openapi_json() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON.get_or_init(document_json).clone();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response()
}
