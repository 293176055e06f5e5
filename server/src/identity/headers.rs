//! The headers every response of the server carries, set in one layer over the whole app
//! (`crate::app`). The back office's pages add their own policy on top
//! (`backoffice/headers.rs`).

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// A layer that sets `name` to `value` unless the response has it already.
pub fn if_absent(name: HeaderName, value: HeaderValue) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, value)
}

/// The headers every response carries (the API's JSON and the evidence files too), unless a
/// route set them already: no MIME sniffing, no framing, no referrer, and for anything that is
/// not a page a policy that runs nothing. An evidence file whose claimed type is HTML or SVG
/// therefore cannot run script in this origin when opened directly.
pub fn everywhere<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(if_absent(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; sandbox"),
        ))
        .layer(if_absent(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(if_absent(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(if_absent(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}
