//! Routes of tiered supervision: the tier view, the lists (key list, blacklist, audit) and
//! their forms, and planning.

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use siteproof_core::Tier;

use super::{List, TierFilter, pages};
use crate::backoffice::dates;
use crate::backoffice::extract::{
    Office, PageResult, Posted, RouteTable, non_empty, page, parse_due,
};
use crate::error::Error;

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route("/office/supervision", get(tiers))
        .route("/office/supervision/lists", get(lists))
        .route("/office/supervision/key-list", post(add_key))
        .route("/office/supervision/key-list/{id}/remove", post(remove_key))
        .route("/office/supervision/blacklist", post(add_black))
        .route(
            "/office/supervision/blacklist/{id}/remove",
            post(remove_black),
        )
        .route("/office/planning", get(planning).post(plan))
}

/// The tier view's query.
#[derive(Clone, Debug, Default, Deserialize)]
pub(in crate::backoffice) struct TierQuery {
    pub(in crate::backoffice) sector: Option<String>,
    pub(in crate::backoffice) group: Option<String>,
    pub(in crate::backoffice) tier: Option<String>,
}

async fn tiers(o: Office, Query(q): Query<TierQuery>) -> PageResult {
    let filter = TierFilter {
        sector: non_empty(&q.sector),
        group: non_empty(&q.group),
        tier: match non_empty(&q.tier) {
            Some(t) => Some(
                Tier::from_code(&t)
                    .ok_or_else(|| Error::InvalidInput(format!("unknown tier {t:?}")))?,
            ),
            None => None,
        },
    };
    let rows = o.office.tier_view(&o.user, &filter).await?;
    let groups = o.office.groups(&o.user).await?;
    Ok(page(
        o.lang,
        pages::tier_page(o.lang, &o.user, &rows, &groups, &q),
    ))
}

async fn lists(o: Office) -> PageResult {
    let lists = o.office.supervision_lists(&o.user).await?;
    Ok(page(o.lang, pages::lists_page(o.lang, &o.user, &lists)))
}

#[derive(Deserialize)]
struct AddForm {
    credit_code: String,
    reason: String,
    decided_on: Option<String>,
}

#[derive(Deserialize)]
struct RemoveForm {
    reason: String,
}

const LISTS: &str = "/office/supervision/lists";

async fn add_key(Posted { o, form }: Posted<AddForm>) -> PageResult {
    o.office
        .add_to_list(
            &o.user,
            List::KeyList,
            &form.credit_code,
            &form.reason,
            None,
        )
        .await?;
    Ok(Redirect::to(LISTS).into_response())
}

async fn remove_key(Path(id): Path<i64>, Posted { o, form }: Posted<RemoveForm>) -> PageResult {
    o.office
        .remove_from_list(&o.user, List::KeyList, id, &form.reason)
        .await?;
    Ok(Redirect::to(LISTS).into_response())
}

async fn add_black(Posted { o, form }: Posted<AddForm>) -> PageResult {
    let decided = match non_empty(&form.decided_on) {
        Some(d) => Some(
            dates::parse_date(&d)
                .ok_or_else(|| Error::InvalidInput(format!("{d:?} is not a date (YYYY-MM-DD)")))?,
        ),
        None => None,
    };
    o.office
        .add_to_list(
            &o.user,
            List::Blacklist,
            &form.credit_code,
            &form.reason,
            decided,
        )
        .await?;
    Ok(Redirect::to(LISTS).into_response())
}

async fn remove_black(Path(id): Path<i64>, Posted { o, form }: Posted<RemoveForm>) -> PageResult {
    o.office
        .remove_from_list(&o.user, List::Blacklist, id, &form.reason)
        .await?;
    Ok(Redirect::to(LISTS).into_response())
}

/// The planning view's query.
#[derive(Clone, Debug, Default, Deserialize)]
pub(in crate::backoffice) struct PlanningQuery {
    pub group: Option<String>,
    /// `1`: the whole region instead of the group's area.
    pub all: Option<String>,
}

async fn planning(o: Office, Query(q): Query<PlanningQuery>) -> PageResult {
    let groups = o.office.groups(&o.user).await?;
    let group = non_empty(&q.group).or_else(|| groups.first().cloned());
    let whole = q.all.as_deref() == Some("1");
    let proposals = match &group {
        Some(g) => {
            o.office
                .planning_at(&o.user, g, whole, siteproof_core::now())
                .await?
        }
        None => Vec::new(),
    };
    Ok(page(
        o.lang,
        pages::planning_page(
            o.lang,
            &o.user,
            &groups,
            group.as_deref(),
            whole,
            &proposals,
        ),
    ))
}

#[derive(Deserialize)]
struct PlanForm {
    group: String,
    #[serde(default)]
    code: Vec<String>,
    due: Option<String>,
}

async fn plan(Posted { o, form }: Posted<PlanForm>) -> PageResult {
    let due = parse_due(non_empty(&form.due))?;
    o.office
        .plan_covert_visits(&o.user, &form.group, &form.code, due)
        .await?;
    Ok(Redirect::to("/office/assignments").into_response())
}
