//! Routes that answer with reports and files: the report page, the ledger as CSV and XLSX,
//! and a case's rectification notice as PDF.

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::http::{Office, failed, non_empty, page};
use super::report::{ReportKind, report_day};
use super::{export, pages};
use crate::AppState;
use crate::error::Error;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/office/reports", get(report))
        .route("/office/ledger.csv", get(ledger_csv))
        .route("/office/ledger.xlsx", get(ledger_xlsx))
        .route("/office/cases/{id}/notice.pdf", get(notice))
}

#[derive(Deserialize)]
struct ReportQuery {
    kind: Option<String>,
    date: Option<String>,
}

async fn report(o: Office, Query(q): Query<ReportQuery>) -> Response {
    let kind = non_empty(&q.kind).map_or(Some(ReportKind::Daily), |k| ReportKind::from_code(&k));
    let Some(kind) = kind else {
        return failed(
            o.lang,
            Error::InvalidInput("kind must be daily, half or month".into()),
        );
    };
    let at = match report_day(q.date.as_deref()) {
        Ok(at) => at,
        Err(e) => return failed(o.lang, e),
    };
    match o.office.report(&o.user, kind, at).await {
        Ok(r) => page(
            o.lang,
            pages::report_page(o.lang, &o.user, &r, &super::dates::date(at)),
        ),
        Err(e) => failed(o.lang, e),
    }
}

async fn ledger_csv(o: Office) -> Response {
    match o.office.ledger(&o.user, None, None, None).await {
        Ok(rows) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"ledger.csv\"",
                ),
            ],
            export::ledger_csv(o.lang, &rows, siteproof_core::now()),
        )
            .into_response(),
        Err(e) => failed(o.lang, e),
    }
}

async fn ledger_xlsx(o: Office) -> Response {
    let rows = match o.office.ledger(&o.user, None, None, None).await {
        Ok(rows) => rows,
        Err(e) => return failed(o.lang, e),
    };
    let lang = o.lang;
    let made = tokio::task::spawn_blocking(move || {
        export::ledger_xlsx(lang, &rows, siteproof_core::now())
    })
    .await;
    match made {
        Ok(Ok(bytes)) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"ledger.xlsx\"",
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(e)) => failed(o.lang, Error::Internal(format!("xlsx: {e}"))),
        Err(e) => failed(o.lang, Error::Internal(format!("xlsx task: {e}"))),
    }
}

async fn notice(o: Office, Path(id): Path<String>) -> Response {
    match o.office.notice(&o.user, &id).await {
        Ok(pdf) => (
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"notice.pdf\"",
                ),
            ],
            pdf,
        )
            .into_response(),
        Err(e) => failed(o.lang, e),
    }
}
