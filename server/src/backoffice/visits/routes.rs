//! Routes of the visits: the filtered list and one visit.

use axum::extract::{Path, Query};
use axum::routing::get;

use super::pages::{self, FilterForm};
use crate::backoffice::extract::{Office, PageResult, RouteTable, non_empty, page};
use crate::backoffice::{VisitFilter, dates};

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route("/office/visits", get(visits))
        .route("/office/visits/{id}", get(visit))
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
