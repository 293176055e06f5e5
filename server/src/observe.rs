//! What every HTTP request leaves behind: a request id (the caller's `x-request-id` when it
//! is a sane token, a new one otherwise) carried by a `request` span around everything the
//! request logs and returned in the response's `x-request-id`; and its count and latency in
//! the metrics, by route template and status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::metrics;

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest caller-chosen request id kept.
const MAX_ID_LEN: usize = 128;

/// The middleware (`axum::middleware::from_fn`). Added with `Router::layer` so it runs after
/// routing and sees the matched route.
pub async fn observe(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = incoming_id(req.headers()).unwrap_or_else(new_id);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = req.method().as_str().to_owned();
    let span =
        tracing::info_span!("request", request_id = %id.to_str().unwrap_or(""), %method, %route);
    req.headers_mut().insert(REQUEST_ID, id.clone());
    let mut response = next.run(req).instrument(span).await;
    metrics::http_request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// The caller's id, if it is 1 to 128 characters of letters, digits and `-_.:`: anything
/// else could forge log lines or carry data.
fn incoming_id(headers: &HeaderMap) -> Option<HeaderValue> {
    let value = headers.get(REQUEST_ID)?;
    let bytes = value.as_bytes();
    let sane = !bytes.is_empty()
        && bytes.len() <= MAX_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    sane.then(|| value.clone())
}

fn new_id() -> HeaderValue {
    HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
        .expect("a UUID is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(id: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID, HeaderValue::from_bytes(id).expect("header"));
        h
    }

    #[test]
    fn sane_ids_are_kept_and_others_replaced() {
        assert!(incoming_id(&with(b"abc-123_x.y:z")).is_some());
        assert!(incoming_id(&with(b"has space")).is_none());
        assert!(incoming_id(&with(b"quote\"")).is_none());
        assert!(incoming_id(&with(&[b'a'; 129])).is_none());
        assert!(incoming_id(&HeaderMap::new()).is_none());
    }
}
