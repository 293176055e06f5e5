//! The office's routes of the whistleblower leads: the list, one lead, its triage (the
//! public form is `public.rs`).

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;

use super::Triage;
use super::pages;
use crate::backoffice::extract::{
    Office, PageResult, Posted, RouteTable, non_empty, page, parse_due, parse_template_ref,
};
use crate::error::Error;

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route("/office/leads", get(leads))
        .route("/office/leads/{id}", get(lead))
        .route("/office/leads/{id}/triage", post(triage))
}

#[derive(Deserialize)]
struct StatusQuery {
    status: Option<String>,
}

async fn leads(o: Office, Query(q): Query<StatusQuery>) -> PageResult {
    let rows = o.office.leads(&o.user, non_empty(&q.status)).await?;
    Ok(page(o.lang, pages::leads_page(o.lang, &o.user, &rows)))
}

async fn lead(o: Office, Path(id): Path<String>) -> PageResult {
    let loaded = async {
        let lead = o.office.lead(&o.user, &id).await?;
        let groups = o.office.groups(&o.user).await?;
        let templates = o.office.published_templates().await?;
        Ok::<_, Error>((lead, groups, templates))
    };
    let (lead, groups, templates) = loaded.await?;
    Ok(page(
        o.lang,
        pages::lead_page(o.lang, &o.user, &lead, &groups, &templates),
    ))
}

#[derive(Deserialize)]
struct TriageForm {
    decision: String,
    group: Option<String>,
    note: Option<String>,
    template: Option<String>,
    due: Option<String>,
}

async fn triage(Path(id): Path<String>, Posted { o, form }: Posted<TriageForm>) -> PageResult {
    let done = async {
        let triage = match form.decision.as_str() {
            "assign" => Triage::Assign {
                group: non_empty(&form.group)
                    .ok_or_else(|| Error::InvalidInput("choose a group".into()))?,
                note: non_empty(&form.note),
                template: parse_template_ref(non_empty(&form.template))?,
                due: parse_due(non_empty(&form.due))?,
            },
            "dismiss" => Triage::Dismiss {
                reason: non_empty(&form.note).unwrap_or_default(),
            },
            other => {
                return Err(Error::InvalidInput(format!(
                    "unknown decision {other:?}: assign or dismiss"
                )));
            }
        };
        o.office.triage_lead(&o.user, &id, triage).await
    };
    done.await?;
    Ok(Redirect::to(&format!("/office/leads/{id}")).into_response())
}
