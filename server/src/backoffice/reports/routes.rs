//! Routes that answer with reports and files: the report page, the ledger as CSV and XLSX,
//! and a case's rectification notice as PDF.

use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Deserialize;

use super::{ReportKind, report_day};
use super::{export, pages};
use crate::backoffice::extract::{Office, PageResult, RouteTable, non_empty, page};
use crate::error::Error;

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
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

async fn report(o: Office, Query(q): Query<ReportQuery>) -> PageResult {
    let kind = non_empty(&q.kind)
        .map_or(Some(ReportKind::Daily), |k| ReportKind::from_code(&k))
        .ok_or_else(|| Error::InvalidInput("kind must be daily, half or month".into()))?;
    let at = report_day(q.date.as_deref())?;
    let r = o.office.report(&o.user, kind, at).await?;
    Ok(page(
        o.lang,
        pages::report_page(o.lang, &o.user, &r, &crate::backoffice::dates::date(at)),
    ))
}

async fn ledger_csv(o: Office) -> PageResult {
    let rows = o.office.ledger(&o.user, None, None, None).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"ledger.csv\"",
            ),
        ],
        export::ledger_csv(o.lang, &rows, siteproof_core::now()),
    )
        .into_response())
}

async fn ledger_xlsx(o: Office) -> PageResult {
    let rows = o.office.ledger(&o.user, None, None, None).await?;
    let lang = o.lang;
    let bytes = o
        .office
        .documents()
        .run(move || export::ledger_xlsx(lang, &rows, siteproof_core::now()))
        .await?
        .map_err(|e| Error::Internal(format!("xlsx: {e}")))?;
    Ok((
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
        .into_response())
}

async fn notice(o: Office, Path(id): Path<String>) -> PageResult {
    let pdf = o.office.notice(&o.user, &id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"notice.pdf\"",
            ),
        ],
        pdf,
    )
        .into_response())
}
