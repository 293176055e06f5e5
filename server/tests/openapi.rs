//! The OpenAPI description checked in as `docs/openapi.json` is the one the code generates,
//! and the server serves it at `GET /v1/openapi.json`.

use siteproof_server::openapi;

const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");

#[test]
fn the_checked_in_description_is_the_generated_one() {
    let generated = openapi::document_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(CHECKED_IN, &generated).expect("write docs/openapi.json");
    }
    let checked_in = std::fs::read_to_string(CHECKED_IN).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/openapi.json differs from the description the handlers generate; regenerate it \
         with `UPDATE_OPENAPI=1 cargo test -p siteproof-server --test openapi` and commit it"
    );
}

#[test]
fn the_description_is_openapi_3_1_and_names_every_json_endpoint() {
    let doc: serde_json::Value = serde_json::from_str(&openapi::document_json()).expect("JSON");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for path in [
        "/v1/health",
        "/v1/enroll",
        "/v1/sync",
        "/v1/uploads",
        "/v1/uploads/{id}",
        "/v1/media/{hash}",
        "/v1/media/{hash}/thumbnail",
        "/v1/leads",
        "/v1/leads/status",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not described");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}
