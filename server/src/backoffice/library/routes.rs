//! Routes of the template library: import and publish checklist versions.

use axum::extract::{DefaultBodyLimit, Path};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;

use super::pages;
use crate::backoffice::extract::{NoFields, Office, PageResult, Posted, RouteTable, page};
use crate::identity::visibility::{Duty, Visibility};

/// A template pasted into the import form (URL-encoded JSON: the library's largest file is
/// about 31 KiB so).
const TEMPLATE_BODY_LIMIT: usize = 1024 * 1024;

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route(
            "/office/templates",
            get(templates)
                .post(import_template)
                .layer(DefaultBodyLimit::max(TEMPLATE_BODY_LIMIT)),
        )
        .route(
            "/office/templates/{id}/{version}/publish",
            post(publish_template),
        )
}

async fn templates(o: Office) -> PageResult {
    let entries = o.office.template_library().await?;
    Ok(page(
        o.lang,
        pages::templates_page(o.lang, &o.user, &entries),
    ))
}

#[derive(Deserialize)]
struct ImportForm {
    json: String,
}

async fn import_template(Posted { o, form }: Posted<ImportForm>) -> PageResult {
    Visibility::user(&o.user).require(Duty::ManageTemplates)?;
    o.office.import_template(&form.json).await?;
    Ok(Redirect::to("/office/templates").into_response())
}

async fn publish_template(
    Path((id, version)): Path<(String, u32)>,
    Posted { o, .. }: Posted<NoFields>,
) -> PageResult {
    o.office.publish_template(&o.user, &id, version).await?;
    Ok(Redirect::to("/office/templates").into_response())
}
