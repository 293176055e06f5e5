//! Security headers of the back office's pages (and any public page served beside them),
//! set in one layer over the whole `/office` router so new routes get them too.
//!
//! The pages use one inline `<style>` and one inline `<script>` (the photo viewer), no other
//! origin, and forms that post to themselves; the Content-Security-Policy allows exactly that.
//! The script is allowed by its SHA-256: a page that adds another inline script must add its
//! hash in [`content_security_policy`]. Handlers that set one of these headers themselves
//! (a file download's `Cache-Control`, say) keep theirs.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::identity::headers::if_absent;

/// The largest form body the back office reads: its forms are a few short fields. A route
/// that takes more (an attachment) sets its own `DefaultBodyLimit`, which wins over this one.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The policy of the pages: nothing from elsewhere, the viewer script by hash, styles inline
/// (the page's one `<style>`; maud escapes every value, so no markup of ours carries input),
/// images and media from this server, the script's uploads (rectification evidence) to this
/// server, no framing, forms posting here only.
pub fn content_security_policy() -> &'static str {
    static POLICY: LazyLock<String> = LazyLock::new(|| {
        let script = B64.encode(Sha256::digest(super::layout::VIEWER_JS.as_bytes()));
        format!(
            "default-src 'none'; script-src 'sha256-{script}'; style-src 'unsafe-inline'; \
             img-src 'self'; media-src 'self'; connect-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; \
             base-uri 'none'"
        )
    });
    &POLICY
}

/// Adds the security headers and the form body limit to every route of `router`.
pub fn secured(router: Router<AppState>) -> Router<AppState> {
    let csp = HeaderValue::from_str(content_security_policy())
        .expect("the policy is ASCII without control characters");
    router
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .layer(if_absent(header::CONTENT_SECURITY_POLICY, csp))
        // nosniff, DENY and no-referrer come from `identity::headers::everywhere`, which
        // wraps the whole app.
        // Pages show confidential findings: no copy in any cache, the browser's included.
        .layer(if_absent(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}
