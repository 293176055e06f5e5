//! Routes of the assignments (六推送: what the office issues to a group).

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use serde::Deserialize;

use super::NewAssignment;
use super::pages::{self, AssignmentChoices};
use crate::backoffice::extract::{
    Office, PageResult, Posted, RouteTable, non_empty, page, parse_due, parse_template_ref,
};
use crate::error::Error;
use siteproof_core::{AssignmentKind, Sector, Site};

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route(
            "/office/assignments",
            get(assignments).post(issue_assignment),
        )
        .route("/office/assignments/{id}", get(assignment))
}

async fn assignments(o: Office) -> PageResult {
    let loaded = async {
        let rows = o.office.assignments(&o.user).await?;
        let groups = o.office.groups(&o.user).await?;
        let experts = o.office.experts(&o.user).await?;
        let templates = o.office.published_templates().await?;
        Ok::<_, Error>((rows, groups, experts, templates))
    };
    let (rows, groups, experts, templates) = loaded.await?;

    let choices = AssignmentChoices {
        groups: &groups,
        experts: &experts,
        templates: &templates,
    };
    Ok(page(
        o.lang,
        pages::assignments_page(o.lang, &o.user, &rows, &choices),
    ))
}

#[derive(Deserialize)]
struct AssignmentForm {
    group: String,
    kind: String,
    title: String,
    #[serde(default)]
    body: String,
    sector: Option<String>,
    site_name: Option<String>,
    site_credit_code: Option<String>,
    site_address: Option<String>,
    template: Option<String>,
    due: Option<String>,
    #[serde(default)]
    expert: Vec<i64>,
}

async fn issue_assignment(Posted { o, form }: Posted<AssignmentForm>) -> PageResult {
    let made = async {
        let kind = AssignmentKind::from_code(&form.kind)
            .ok_or_else(|| Error::InvalidInput(format!("unknown push kind {:?}", form.kind)))?;
        let sector = non_empty(&form.sector)
            .map(|c| {
                Sector::from_code(&c)
                    .ok_or_else(|| Error::InvalidInput(format!("unknown sector {c:?}")))
            })
            .transpose()?;
        let site = match (non_empty(&form.site_name), sector) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(Error::InvalidInput(
                    "a push that names a site needs the site's sector".into(),
                ));
            }
            (Some(name), Some(sector)) => Some(Site {
                name,
                credit_code: non_empty(&form.site_credit_code),
                address: non_empty(&form.site_address).unwrap_or_default(),
                sector,
            }),
        };
        let mut body = form.body.trim().to_owned();
        if kind == AssignmentKind::GroupInfo {
            let members = o.office.group_members(&o.user, &form.group).await?;
            if !members.is_empty() {
                let names: Vec<String> = members
                    .iter()
                    .map(|m| format!("{}（{}）", m.name, m.unit))
                    .collect();
                body = format!("{body}\n\n组员 / Members: {}", names.join("、"));
            }
        }
        let new = NewAssignment {
            group: form.group.clone(),
            kind,
            title: form.title.clone(),
            body,
            sector,
            site,
            template: parse_template_ref(non_empty(&form.template))?,
            due: parse_due(non_empty(&form.due))?,
            experts: form.expert.clone(),
            lead: None,
            cases: Vec::new(),
        };
        o.office.issue_assignment(&o.user, new).await
    };
    let id = made.await?;
    Ok(Redirect::to(&format!("/office/assignments/{id}")).into_response())
}

async fn assignment(o: Office, Path(id): Path<String>) -> PageResult {
    let (row, a, visits) = o.office.assignment(&o.user, &id).await?;
    Ok(page(
        o.lang,
        pages::assignment_page(o.lang, &o.user, &row, &a, &visits),
    ))
}
