//! The back office's router: the routes of every feature folder, merged. The security
//! headers go over it in `crate::app` (`headers.rs`).

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::extract::{RouteTable, lang_of, page};
use super::headers::content_security_policy;
use super::layout::{BASE, message_page};
use crate::AppState;
use crate::identity::{SESSION_COOKIE, cookie};

/// Every back-office route (the public lead form included), with their paths: each
/// feature folder brings its own.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route(BASE, get(|| async { Redirect::to("/office/visits") }))
        .merge(super::visits::routes::routes())
        .merge(super::ledger::routes::routes())
        .merge(super::reports::routes::routes())
        .merge(super::briefing::routes::routes())
        .merge(super::assignments::routes::routes())
        .merge(super::leads::routes::routes())
        .merge(super::collections::routes())
        .merge(super::rosters::routes::routes())
        .merge(super::supervision::routes::routes())
        .merge(super::library::routes::routes())
        .merge(super::enterprises::routes::routes())
        .merge(super::leads::public::routes())
        .merge(super::login::routes())
}

/// The back office's router.
pub fn router() -> Router<AppState> {
    routes().into_router()
}

/// The paths of every back-office route, as routed (`{id}` for parameters).
pub fn paths() -> Vec<&'static str> {
    routes().paths().to_vec()
}

/// Where `GET /` sends a browser: the visits for a caller with a session cookie (a stale one
/// is sent on to the sign-in page from there), the sign-in page otherwise.
pub fn front_door(headers: &HeaderMap) -> Redirect {
    if cookie(headers, SESSION_COOKIE).is_some() {
        Redirect::to("/office/visits")
    } else {
        Redirect::to("/office/login")
    }
}

/// Whether `path` is under the back office, whose unknown URLs answer [`not_found`].
pub fn is_office_path(path: &str) -> bool {
    path == BASE || path.starts_with("/office/")
}

/// The answer to an office URL that no route serves: a 404 page in the office's style and
/// the caller's language, with the office's security headers.
pub fn not_found(uri: &Uri, headers: &HeaderMap) -> Response {
    let lang = lang_of(uri, headers);
    let markup = message_page(
        lang,
        lang.t("页面不存在", "Page not found"),
        lang.t(
            "没有这个页面。请检查地址，或从检查记录重新进入。",
            "There is no such page. Check the address, or start again from the visits.",
        ),
    );
    let mut response = (StatusCode::NOT_FOUND, page(lang, markup)).into_response();
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(content_security_policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
