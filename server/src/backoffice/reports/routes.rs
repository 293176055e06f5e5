//! Routes that answer with reports and files: the report page and its figures as CSV, XLSX
//! and PDF, the ledger as CSV and XLSX (with the ledger page's filters), and a case's
//! rectification notice as PDF.

use axum::extract::{Path, Query};
use axum::routing::get;
use serde::Deserialize;

use super::{Report, ReportKind, report_day};
use super::{export, pages};
use crate::backoffice::extract::{
    Office, PageResult, RouteTable, download as file, non_empty, page,
};
use crate::backoffice::ledger::routes::LedgerQuery;
use crate::error::Error;

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route("/office/reports", get(report))
        .route("/office/reports.csv", get(report_csv))
        .route("/office/reports.xlsx", get(report_xlsx))
        .route("/office/reports.pdf", get(report_pdf))
        .route("/office/ledger.csv", get(ledger_csv))
        .route("/office/ledger.xlsx", get(ledger_xlsx))
        .route("/office/cases/{id}/notice.pdf", get(notice))
}

#[derive(Deserialize)]
struct ReportQuery {
    kind: Option<String>,
    date: Option<String>,
}

impl ReportQuery {
    /// The report the query asks for, and the day it names.
    async fn report(&self, o: &Office) -> Result<(Report, i64), Error> {
        let kind = non_empty(&self.kind)
            .map_or(Some(ReportKind::Daily), |k| ReportKind::from_code(&k))
            .ok_or_else(|| Error::InvalidInput("kind must be daily, half or month".into()))?;
        let at = report_day(self.date.as_deref())?;
        Ok((o.office.report(&o.user, kind, at).await?, at))
    }
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn report(o: Office, Query(q): Query<ReportQuery>) -> PageResult {
    let (r, at) = q.report(&o).await?;
    Ok(page(
        o.lang,
        pages::report_page(o.lang, &o.user, &r, &crate::backoffice::dates::date(at)),
    ))
}

async fn report_csv(o: Office, Query(q): Query<ReportQuery>) -> PageResult {
    let (r, _) = q.report(&o).await?;
    file(
        "text/csv; charset=utf-8",
        "report.csv",
        export::report_csv(o.lang, &r),
    )
}

async fn report_xlsx(o: Office, Query(q): Query<ReportQuery>) -> PageResult {
    let (r, _) = q.report(&o).await?;
    let lang = o.lang;
    let bytes = o
        .office
        .documents()
        .run(move || export::report_xlsx(lang, &r))
        .await?
        .map_err(|e| Error::Internal(format!("xlsx: {e}")))?;
    file(XLSX, "report.xlsx", bytes)
}

async fn report_pdf(o: Office, Query(q): Query<ReportQuery>) -> PageResult {
    let (r, _) = q.report(&o).await?;
    let region = o.user.region.clone();
    let bytes = o
        .office
        .documents()
        .run(move || export::report_pdf(&r, &region))
        .await??;
    file("application/pdf", "report.pdf", bytes)
}

async fn ledger_csv(o: Office, Query(q): Query<LedgerQuery>) -> PageResult {
    let rows = o.office.ledger(&o.user, q.filter(), EXPORT_ROWS).await?;
    file(
        "text/csv; charset=utf-8",
        "ledger.csv",
        export::ledger_csv(o.lang, &rows, siteproof_core::now()),
    )
}

async fn ledger_xlsx(o: Office, Query(q): Query<LedgerQuery>) -> PageResult {
    let rows = o.office.ledger(&o.user, q.filter(), EXPORT_ROWS).await?;
    let lang = o.lang;
    let bytes = o
        .office
        .documents()
        .run(move || export::ledger_xlsx(lang, &rows, siteproof_core::now()))
        .await?
        .map_err(|e| Error::Internal(format!("xlsx: {e}")))?;
    file(XLSX, "ledger.xlsx", bytes)
}

/// Ledger rows an export holds at most.
const EXPORT_ROWS: i64 = 1_000_000;

async fn notice(o: Office, Path(id): Path<String>) -> PageResult {
    let pdf = o.office.notice(&o.user, &id).await?;
    file("application/pdf", "notice.pdf", pdf)
}
