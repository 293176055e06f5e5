//! Routes of the inspection content: pushes, leads (office side), collections, rosters and
//! the template library. Every POST checks the session's CSRF token.

use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use siteproof_core::{PushKind, Sector, Site, TemplateRef};

use super::extract::page;
use super::extract::{NoFields, Office, PageResult, Posted, RouteTable, non_empty};
use super::library::TemplateState;
use super::pages::{self, PushChoices};
use super::{Expert, Inspector, NewAssignment, Triage, dates};
use crate::error::Error;
use crate::identity::visibility::{Duty, Visibility};

/// A template pasted into the import form (URL-encoded JSON: the library's largest file is
/// about 31 KiB so).
const TEMPLATE_BODY_LIMIT: usize = 1024 * 1024;

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route(
            "/office/assignments",
            get(assignments).post(issue_assignment),
        )
        .route("/office/assignments/{id}", get(assignment))
        .route("/office/leads", get(leads))
        .route("/office/leads/{id}", get(lead))
        .route("/office/leads/{id}/triage", post(triage))
        .route("/office/collections", get(collections))
        .route("/office/roster", get(roster))
        .route("/office/roster/inspectors", post(add_inspector))
        .route("/office/roster/inspectors/{id}/group", post(set_group))
        .route("/office/roster/experts", post(add_expert))
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

fn parse_template_ref(text: Option<String>) -> Result<Option<TemplateRef>, Error> {
    let Some(text) = text else { return Ok(None) };
    let bad = || Error::InvalidInput(format!("{text:?} is not a template version (id@version)"));
    let (id, version) = text.rsplit_once('@').ok_or_else(bad)?;
    Ok(Some(TemplateRef {
        id: id.parse().map_err(|_| bad())?,
        version: version.parse().map_err(|_| bad())?,
    }))
}

fn parse_due(text: Option<String>) -> Result<Option<i64>, Error> {
    text.map(|d| {
        dates::parse_date(&d)
            .map(|t| t + dates::DAY_MS - 1)
            .ok_or_else(|| Error::InvalidInput(format!("{d:?} is not a date (YYYY-MM-DD)")))
    })
    .transpose()
}

fn parse_sectors(codes: &[String]) -> Result<Vec<Sector>, Error> {
    codes
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| {
            Sector::from_code(c).ok_or_else(|| Error::InvalidInput(format!("unknown sector {c:?}")))
        })
        .collect()
}

async fn published(o: &Office) -> Result<Vec<super::TemplateEntry>, Error> {
    Ok(o.office
        .template_library()
        .await?
        .into_iter()
        .filter(|e| e.state == TemplateState::Published)
        .collect())
}

async fn assignments(o: Office) -> PageResult {
    let loaded = async {
        let rows = o.office.assignments(&o.user).await?;
        let groups = o.office.groups(&o.user).await?;
        let experts = o.office.experts(&o.user).await?;
        let templates = published(&o).await?;
        Ok::<_, Error>((rows, groups, experts, templates))
    };
    let (rows, groups, experts, templates) = loaded.await?;

    let choices = PushChoices {
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
        let kind = PushKind::from_code(&form.kind)
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
        if kind == PushKind::GroupInfo {
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
        };
        o.office.push_assignment(&o.user, new).await
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
        let templates = published(&o).await?;
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

async fn collections(o: Office) -> PageResult {
    let rows = o.office.collections(&o.user).await?;
    Ok(page(
        o.lang,
        pages::collections_page(o.lang, &o.user, &rows),
    ))
}

async fn roster(o: Office) -> PageResult {
    let loaded = async {
        Ok::<_, Error>((
            o.office.inspectors(&o.user).await?,
            o.office.experts(&o.user).await?,
            o.office.groups(&o.user).await?,
        ))
    };
    let (inspectors, experts, groups) = loaded.await?;
    Ok(page(
        o.lang,
        pages::roster_page(o.lang, &o.user, &inspectors, &experts, &groups),
    ))
}

#[derive(Deserialize)]
struct PersonForm {
    name: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    specialty: String,
    phone: Option<String>,
    group: Option<String>,
    #[serde(default)]
    sector: Vec<String>,
}

async fn add_inspector(Posted { o, form }: Posted<PersonForm>) -> PageResult {
    let added = async {
        let new = Inspector {
            id: 0,
            name: form.name.clone(),
            unit: form.unit.clone(),
            phone: non_empty(&form.phone),
            sectors: parse_sectors(&form.sector)?,
            group: non_empty(&form.group),
        };
        o.office.add_inspector(&o.user, new).await
    };
    added.await?;
    Ok(Redirect::to("/office/roster").into_response())
}

#[derive(Deserialize)]
struct GroupForm {
    group: Option<String>,
}

async fn set_group(Path(id): Path<i64>, Posted { o, form }: Posted<GroupForm>) -> PageResult {
    o.office
        .set_inspector_group(&o.user, id, non_empty(&form.group))
        .await?;
    Ok(Redirect::to("/office/roster").into_response())
}

async fn add_expert(Posted { o, form }: Posted<PersonForm>) -> PageResult {
    let added = async {
        let new = Expert {
            id: 0,
            name: form.name.clone(),
            specialty: form.specialty.clone(),
            sectors: parse_sectors(&form.sector)?,
            unit: form.unit.clone(),
            phone: non_empty(&form.phone),
        };
        o.office.add_expert(&o.user, new).await
    };
    added.await?;
    Ok(Redirect::to("/office/roster").into_response())
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
