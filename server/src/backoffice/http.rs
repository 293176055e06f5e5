//! The back office's routes under `/office` (visits and cases here; files, content, the
//! public lead form and sessions in the `http_*` modules): each handler takes a signed-in
//! [`Office`] request or a CSRF-checked [`Posted`] form, calls [`super::BackOffice`], and
//! renders a page. A device token is refused (403) even where a device could read.

use axum::Router;
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use siteproof_core::CaseEventKind;

use super::extract::{NoFields, Office, PageResult, Posted, RouteTable, non_empty, page};
use super::pages::{self, BASE, visits::FilterForm};
use super::{CaseInput, VisitFilter, dates};
use crate::AppState;
use crate::error::Error;

/// Every back-office route (the public lead form included), with their paths.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route(BASE, get(|| async { Redirect::to("/office/visits") }))
        .route("/office/visits", get(visits))
        .route("/office/visits/{id}", get(visit))
        .route(
            "/office/visits/{id}/findings/{finding}/case",
            post(open_case),
        )
        .route("/office/ledger", get(ledger))
        .route("/office/cases/{id}", get(case))
        .route("/office/cases/{id}/events", post(case_event))
        .merge(super::http_files::routes())
        .merge(super::http_content::routes())
        .merge(super::http_public::routes())
        .merge(super::http_session::routes())
}

/// The back office's router.
pub fn router() -> Router<AppState> {
    routes().into_router()
}

/// The paths of every back-office route, as routed (`{id}` for parameters).
pub fn paths() -> Vec<&'static str> {
    routes().paths().to_vec()
}

async fn visits(o: Office, Query(form): Query<FilterForm>) -> PageResult {
    let filter = VisitFilter {
        from: non_empty(&form.from).and_then(|d| dates::parse_date(&d)),
        to: non_empty(&form.to)
            .and_then(|d| dates::parse_date(&d))
            .map(|t| t + dates::DAY_MS),
        group: non_empty(&form.group),
        sector: non_empty(&form.sector),
        mode: non_empty(&form.mode),
        severity: non_empty(&form.severity),
        status: non_empty(&form.status),
    };
    let (rows, counts) = o
        .office
        .visits(&o.user, filter, form.page.unwrap_or(0))
        .await?;
    let groups = o.office.groups(&o.user).await?;
    Ok(page(
        o.lang,
        pages::visits_page(o.lang, &o.user, &form, &groups, &rows, &counts),
    ))
}

async fn visit(o: Office, Path(id): Path<String>) -> PageResult {
    let detail = o.office.visit(&o.user, &id).await?;
    Ok(page(o.lang, pages::visit_page(o.lang, &o.user, &detail)))
}

async fn open_case(
    Path((visit, finding)): Path<(String, String)>,
    Posted { o, .. }: Posted<NoFields>,
) -> PageResult {
    let id = o.office.open_case(&o.user, &visit, &finding).await?;
    Ok(Redirect::to(&format!("/office/cases/{id}")).into_response())
}

#[derive(Deserialize)]
struct LedgerQuery {
    status: Option<String>,
}

async fn ledger(o: Office, Query(q): Query<LedgerQuery>) -> PageResult {
    let status = non_empty(&q.status);
    let rows = o.office.ledger(&o.user, None, None, status.clone()).await?;
    Ok(page(
        o.lang,
        pages::ledger_page(o.lang, &o.user, &rows, status.as_deref()),
    ))
}

async fn case(o: Office, Path(id): Path<String>) -> PageResult {
    let (row, case) = o.office.case(&o.user, &id).await?;
    Ok(page(o.lang, pages::case_page(o.lang, &o.user, &row, &case)))
}

#[derive(Deserialize)]
struct EventForm {
    kind: String,
    note: Option<String>,
    unit: Option<String>,
    deadline: Option<String>,
    media: Option<String>,
}

async fn case_event(Path(id): Path<String>, Posted { o, form }: Posted<EventForm>) -> PageResult {
    let media = form
        .media
        .as_deref()
        .unwrap_or("")
        .split([',', ' ', '\n'])
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            Error::InvalidInput("evidence must be SHA-256 file hashes (64 hex digits)".into())
        })?;
    let deadline = match non_empty(&form.deadline) {
        None => None,
        // The deadline is the end of that day.
        Some(d) => Some(
            dates::parse_date(&d)
                .ok_or_else(|| Error::InvalidInput(format!("{d:?} is not a date (YYYY-MM-DD)")))?
                + dates::DAY_MS
                - 1,
        ),
    };
    let input = CaseInput {
        kind: CaseEventKind::from_code(&form.kind),
        note: form.note,
        unit: form.unit,
        deadline,
        media,
    };
    o.office.add_case_event(&o.user, &id, input).await?;
    Ok(Redirect::to(&format!("/office/cases/{id}")).into_response())
}
