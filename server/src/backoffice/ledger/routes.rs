//! Routes of the hazard ledger (台账) and its cases: the ledger, one case, opening a case
//! from a finding, adding an event.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;

use super::CaseInput;
use super::pages;
use crate::backoffice::extract::{
    NoFields, Office, PageResult, Posted, RouteTable, non_empty, page, parse_due,
};
use crate::error::Error;
use siteproof_core::CaseEventKind;

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route(
            "/office/visits/{id}/findings/{finding}/case",
            post(open_case),
        )
        .route("/office/ledger", get(ledger))
        .route("/office/cases/{id}", get(case))
        .route("/office/cases/{id}/events", post(case_event))
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
    let deadline = parse_due(non_empty(&form.deadline))?;
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
