//! Routes of the rosters: inspectors and the expert pool.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;

use super::pages;
use super::{Expert, Inspector};
use crate::backoffice::extract::{Office, PageResult, Posted, RouteTable, non_empty, page};
use crate::error::Error;
use siteproof_core::Sector;

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route("/office/roster", get(roster))
        .route("/office/roster/inspectors", post(add_inspector))
        .route("/office/roster/inspectors/{id}/group", post(set_group))
        .route("/office/roster/experts", post(add_expert))
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

fn parse_sectors(codes: &[String]) -> Result<Vec<Sector>, Error> {
    codes
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| {
            Sector::from_code(c).ok_or_else(|| Error::InvalidInput(format!("unknown sector {c:?}")))
        })
        .collect()
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
