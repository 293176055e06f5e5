//! The back office's router: the routes of every feature folder, merged. The security
//! headers go over it in `crate::app` (`headers.rs`).

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

use super::extract::RouteTable;
use super::layout::BASE;
use crate::AppState;

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
        .merge(super::library::routes::routes())
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
