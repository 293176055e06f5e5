//! Routes of the hazard ledger (台账) and its cases: the ledger, one case, opening a case
//! from a finding, adding an event.

use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{CaseInput, evidence, pages};
use crate::backoffice::LedgerFilter;
use crate::backoffice::dates;
use crate::backoffice::extract::{
    NoFields, Office, PageResult, Posted, PostedFile, RouteTable, non_empty, page, parse_due,
};
use crate::error::Error;
use siteproof_core::CaseEventKind;

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route(
            "/office/visits/{id}/findings/{finding}/case",
            post(open_case),
        )
        .route("/office/ledger", get(ledger))
        .route("/office/cases/{id}", get(case))
        .route("/office/cases/{id}/events", post(case_event))
        .route("/office/ledger/reinspection", post(send_reinspection))
        .route(
            "/office/cases/{id}/reinspections/{result}/verify",
            post(verify_reinspection),
        )
        .route(
            "/office/cases/{id}/evidence",
            post(case_evidence).layer(DefaultBodyLimit::max(evidence::MAX_EVIDENCE_BYTES)),
        )
}

async fn open_case(
    Path((visit, finding)): Path<(String, String)>,
    Posted { o, .. }: Posted<NoFields>,
) -> PageResult {
    let id = o.office.open_case(&o.user, &visit, &finding).await?;
    Ok(Redirect::to(&format!("/office/cases/{id}")).into_response())
}

/// The ledger's filters as the form sends them (echoed back into the form and the export
/// links).
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct LedgerQuery {
    /// Status code.
    pub status: Option<String>,
    /// Sector code.
    pub sector: Option<String>,
    /// Group id.
    pub group: Option<String>,
    /// `major` or `general`.
    pub severity: Option<String>,
    /// `1`: only overdue hazards.
    pub overdue: Option<String>,
    /// `1`: only listed hazards.
    pub listed: Option<String>,
    /// Found from (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Found through (`YYYY-MM-DD`, inclusive).
    pub to: Option<String>,
}

impl LedgerQuery {
    /// The filter the query asks for.
    pub(crate) fn filter(&self) -> LedgerFilter {
        let flag = |v: &Option<String>| non_empty(v).is_some_and(|v| v != "0");
        LedgerFilter {
            from: non_empty(&self.from).and_then(|d| dates::parse_date(&d)),
            to: non_empty(&self.to)
                .and_then(|d| dates::parse_date(&d))
                .map(|t| t + dates::DAY_MS),
            status: non_empty(&self.status),
            sector: non_empty(&self.sector),
            group: non_empty(&self.group),
            severity: non_empty(&self.severity),
            overdue: flag(&self.overdue),
            listed: flag(&self.listed),
            covert: false,
        }
    }

    /// The query string that asks for the same filter (for the export links).
    pub(crate) fn query_string(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("sector", &self.sector),
            ("group", &self.group),
            ("severity", &self.severity),
            ("overdue", &self.overdue),
            ("listed", &self.listed),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = non_empty(v) {
                out.append_pair(k, &v);
            }
        }
        out.finish()
    }
}

/// Rows the ledger page shows at most (the count and the exports cover every match).
const PAGE_ROWS: i64 = 500;

async fn ledger(o: Office, Query(q): Query<LedgerQuery>) -> PageResult {
    let filter = q.filter();
    let rows = o.office.ledger(&o.user, filter.clone(), PAGE_ROWS).await?;
    let total = o.office.ledger_count(&o.user, filter).await?;
    let groups = o.office.groups(&o.user).await?;
    Ok(page(
        o.lang,
        pages::ledger_page(o.lang, &o.user, &q, &groups, &rows, total),
    ))
}

async fn case(o: Office, Path(id): Path<String>) -> PageResult {
    let (row, case) = o.office.case(&o.user, &id).await?;
    let uploads = if row.recorded {
        o.office.case_uploads(&row.id).await?
    } else {
        Default::default()
    };
    let results = o.office.reinspection_results(&o.user, &row.id).await?;
    let shown = pages::CaseShown {
        uploads: &uploads,
        results: &results,
    };
    Ok(page(
        o.lang,
        pages::case_page(o.lang, &o.user, &row, &case, &shown),
    ))
}

#[derive(Deserialize)]
struct EvidenceQuery {
    name: Option<String>,
}

/// A file of rectification evidence, sent by the case page's script; answers its hash.
async fn case_evidence(
    Path(id): Path<String>,
    Query(q): Query<EvidenceQuery>,
    PostedFile { o, bytes }: PostedFile,
) -> PageResult {
    let name = q.name.unwrap_or_default();
    let hash = o
        .office
        .upload_case_evidence(&o.user, &id, &name, bytes)
        .await?;
    Ok(axum::Json(serde_json::json!({ "hash": hash.as_str() })).into_response())
}

#[derive(Deserialize)]
struct EventForm {
    kind: String,
    note: Option<String>,
    unit: Option<String>,
    deadline: Option<String>,
    media: Option<String>,
}

async fn case_event(Path(id): Path<String>, Posted { o, form }: Posted<EventForm>) -> PageResult {
    let media = form
        .media
        .as_deref()
        .unwrap_or("")
        .split([',', ' ', '\n'])
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            Error::InvalidInput("evidence must be SHA-256 file hashes (64 hex digits)".into())
        })?;
    let deadline = parse_due(non_empty(&form.deadline))?;
    let input = CaseInput {
        kind: CaseEventKind::from_code(&form.kind),
        note: form.note,
        unit: form.unit,
        deadline,
        media,
    };
    o.office.add_case_event(&o.user, &id, input).await?;
    Ok(Redirect::to(&format!("/office/cases/{id}")).into_response())
}

#[derive(Deserialize)]
struct ReinspectionForm {
    /// The ledger entries (one from a case page, the ticked rows from the ledger).
    #[serde(default)]
    case: Vec<String>,
    note: Option<String>,
    due: Option<String>,
}

/// Sends a re-inspection (复查) of the chosen entries to the group that found them.
async fn send_reinspection(Posted { o, form }: Posted<ReinspectionForm>) -> PageResult {
    let due = parse_due(non_empty(&form.due))?;
    let note = form.note.unwrap_or_default();
    let id = o
        .office
        .issue_reinspection(&o.user, &form.case, &note, due)
        .await?;
    Ok(Redirect::to(&format!("/office/assignments/{id}")).into_response())
}

/// Verifies an entry on the strength of a re-inspection result that found it rectified.
async fn verify_reinspection(
    Path((id, result)): Path<(String, String)>,
    Posted { o, .. }: Posted<NoFields>,
) -> PageResult {
    o.office
        .verify_by_reinspection(&o.user, &id, &result)
        .await?;
    Ok(Redirect::to(&format!("/office/cases/{id}")).into_response())
}
