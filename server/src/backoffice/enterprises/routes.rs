//! Routes of the enterprise registry: the list (search, pages), one enterprise's history,
//! merging a name-only site and undoing it, the roster import and the exports.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{import, pages};
use crate::backoffice::extract::{
    NoFields, Office, PageResult, Posted, PostedFile, RouteTable, download, non_empty, page,
};
use crate::backoffice::reports::export;
use crate::backoffice::supervision::pages::risk_panel;
use crate::error::Error;

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route("/office/enterprises", get(list))
        .route("/office/enterprises.csv", get(export_csv))
        .route("/office/enterprises.xlsx", get(export_xlsx))
        .route("/office/enterprises/import", post(import_roster))
        .route("/office/enterprises/{code}", get(enterprise))
        .route("/office/enterprises/{code}/merge", post(merge))
        .route("/office/enterprises/merges/{id}/undo", post(undo))
}

/// The list's query: a search term and a page.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// Searched in names, former names and codes.
    pub q: Option<String>,
    /// Page, from 0.
    pub page: Option<i64>,
}

async fn list(o: Office, Query(q): Query<ListQuery>) -> PageResult {
    let (rows, total) = o
        .office
        .enterprises(&o.user, non_empty(&q.q), q.page.unwrap_or(0))
        .await?;
    Ok(page(
        o.lang,
        pages::list_page(o.lang, &o.user, &q, &rows, total),
    ))
}

async fn enterprise(o: Office, Path(code): Path<String>) -> PageResult {
    let history = o.office.enterprise(&o.user, &code).await?;
    let risk = o
        .office
        .enterprise_risk_at(
            &o.user,
            &history.enterprise.credit_code,
            siteproof_core::now(),
        )
        .await?;
    let panel = risk_panel(o.lang, risk.as_ref());
    Ok(page(
        o.lang,
        pages::enterprise_page(o.lang, &o.user, &history, panel),
    ))
}

#[derive(Deserialize)]
struct MergeForm {
    site: String,
}

async fn merge(Path(code): Path<String>, Posted { o, form }: Posted<MergeForm>) -> PageResult {
    o.office.merge_site(&o.user, &code, &form.site).await?;
    Ok(Redirect::to(&format!("/office/enterprises/{code}")).into_response())
}

async fn undo(Path(id): Path<i64>, Posted { o, .. }: Posted<NoFields>) -> PageResult {
    let merge = o.office.undo_merge(&o.user, id).await?;
    Ok(Redirect::to(&format!("/office/enterprises/{}", merge.credit_code)).into_response())
}

/// The roster file, sent by the list page's script: a plain-text answer saying how many
/// enterprises were written, or (400) every bad line and why, nothing having been written.
async fn import_roster(PostedFile { o, bytes }: PostedFile) -> PageResult {
    let outcome = o.office.import_enterprises(&o.user, bytes.to_vec()).await?;
    Ok(match outcome {
        Ok(n) => (
            StatusCode::OK,
            format!("{} {n}", o.lang.t("已导入企业", "Enterprises imported:")),
        )
            .into_response(),
        Err(problems) => {
            let mut text = o
                .lang
                .t(
                    "未导入：以下各行有误。",
                    "Nothing imported: these lines are wrong.",
                )
                .to_owned();
            for p in problems {
                text.push('\n');
                text.push_str(&p.to_string());
            }
            (StatusCode::BAD_REQUEST, text).into_response()
        }
    })
}

fn table(o: &Office, rows: &[super::Enterprise]) -> Vec<Vec<String>> {
    std::iter::once(import::header(o.lang))
        .chain(rows.iter().map(import::cells))
        .collect()
}

async fn export_csv(o: Office) -> PageResult {
    let rows = o.office.all_enterprises(&o.user).await?;
    download(
        "text/csv; charset=utf-8",
        "enterprises.csv",
        export::csv(table(&o, &rows)),
    )
}

async fn export_xlsx(o: Office) -> PageResult {
    let rows = o.office.all_enterprises(&o.user).await?;
    let (lang, table) = (o.lang, table(&o, &rows));
    let bytes = o
        .office
        .documents()
        .run(move || export::xlsx(lang.t("企业", "Enterprises"), &table, &[]))
        .await?
        .map_err(|e| Error::Internal(format!("xlsx: {e}")))?;
    download(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "enterprises.xlsx",
        bytes,
    )
}
