//! The public side of whistleblower leads: the form at `/report`, the status check at
//! `/report/status`, and the same as JSON at `POST /v1/leads` and `POST /v1/leads/status`.
//! No sign-in, no cookie; bodies over 16 KiB are refused before they are read whole, and
//! submissions are rate-limited (see `leads`).

use std::sync::Arc;

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};

use super::public_pages as public;
use super::{LeadInput, LeadReceiptStatus, LeadStatus, MAX_BODY};
use crate::AppState;
use crate::backoffice::BackOffice;
use crate::backoffice::extract::{PageLang, RouteTable};
use crate::backoffice::i18n::Lang;
use crate::error::{AppError, Error, ErrorBody};
use crate::identity::ClientAddr;

/// The routes. Public: no session, so no CSRF token to check (nothing rides on a cookie).
pub fn routes() -> RouteTable {
    let limit = || DefaultBodyLimit::max(MAX_BODY);
    RouteTable::default()
        .route("/report", get(form).post(submit_form).layer(limit()))
        .route(
            "/report/status",
            get(status_form).post(status_check).layer(limit()),
        )
        .route("/v1/leads", post(submit_json).layer(limit()))
        .route("/v1/leads/status", post(status_json).layer(limit()))
}

fn office(state: &AppState) -> Result<Arc<BackOffice>, AppError> {
    Ok(Arc::clone(&state.backoffice))
}

/// A public page: HTML without a cookie (never cached, never framed and no referrer, like
/// every page under `headers::secured`).
fn public_page(status: StatusCode, markup: maud::Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

fn rejected(rejection_status: StatusCode, text: String) -> AppError {
    match rejection_status {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge { limit: MAX_BODY },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType("application/json"),
        _ => Error::InvalidInput(format!("the report could not be read: {text}")).into(),
    }
}

fn form_error(lang: Lang, e: AppError) -> (StatusCode, String) {
    let (status, _) = e.status_and_code();
    let message = match (&e, status) {
        (AppError::PayloadTooLarge { .. }, _) => lang
            .t("举报内容过长。", "The report is too long.")
            .to_owned(),
        (AppError::Service(Error::RateLimited(_)), _) => lang
            .t(
                "提交过于频繁，请稍后再试。",
                "Too many reports were sent; please try again later.",
            )
            .to_owned(),
        (AppError::Service(e), s) if s.is_client_error() => e.to_string(),
        _ => lang
            .t(
                "暂时无法受理，请稍后再试。",
                "The report cannot be taken now; try again later.",
            )
            .to_owned(),
    };
    (status, message)
}

async fn form(State(state): State<AppState>, PageLang(lang): PageLang) -> Response {
    let regions = match office(&state) {
        Ok(o) => o.lead_regions().await.unwrap_or_default(),
        Err(e) => return e.into_response(),
    };
    public_page(StatusCode::OK, public::report_form(lang, &regions, None))
}

async fn submit_form(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    ClientAddr(addr): ClientAddr,
    body: Result<Form<LeadInput>, FormRejection>,
) -> Response {
    let office = match office(&state) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let result = match body {
        Ok(Form(input)) => office
            .submit_lead(input, &addr)
            .await
            .map_err(AppError::from),
        Err(r) => Err(rejected(r.status(), r.body_text())),
    };
    match result {
        Ok(code) => public_page(StatusCode::CREATED, public::receipt_page(lang, &code)),
        Err(e) => {
            let (status, message) = form_error(lang, e);
            let regions = office.lead_regions().await.unwrap_or_default();
            public_page(status, public::report_form(lang, &regions, Some(&message)))
        }
    }
}

/// The body of `POST /v1/leads/status`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReceiptInput {
    /// The receipt code `POST /v1/leads` returned (case, spaces and dashes do not matter).
    receipt: String,
}

/// The answer to `POST /v1/leads`.
#[derive(Serialize, utoipa::ToSchema)]
struct LeadReceipt {
    /// The receipt code, shown once: the reporter's only handle on the lead.
    #[schema(example = "7K2M-Q9XD-4TNA-0B1R")]
    receipt: String,
    /// Always `received`.
    status: LeadStatus,
}

/// The public JSON endpoints, described for `GET /v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(submit_json, status_json))]
pub(crate) struct LeadsApi;

async fn status_form(PageLang(lang): PageLang) -> Response {
    public_page(StatusCode::OK, public::status_page(lang, false, None))
}

async fn status_check(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    body: Result<Form<ReceiptInput>, FormRejection>,
) -> Response {
    let office = match office(&state) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let Ok(Form(input)) = body else {
        return public_page(
            StatusCode::BAD_REQUEST,
            public::status_page(lang, true, None),
        );
    };
    match office.lead_status(&input.receipt).await {
        Ok(Some(s)) => public_page(StatusCode::OK, public::status_page(lang, true, Some(&s))),
        Ok(None) => public_page(StatusCode::NOT_FOUND, public::status_page(lang, true, None)),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// Reports a work-safety hazard, without signing in (docs/leads-api.md).
#[utoipa::path(post, path = "/v1/leads", tag = "leads",
    request_body = LeadInput,
    responses(
        (status = 201, description = "Received; the receipt code is shown once", body = LeadReceipt),
        (status = 400, description = "`invalid_input`: a field out of bounds, an unknown region or sector, malformed JSON", body = ErrorBody),
        (status = 413, description = "`payload_too_large`: over 16 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not JSON", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
async fn submit_json(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    body: Result<Json<LeadInput>, JsonRejection>,
) -> Result<Response, AppError> {
    let Json(input) = body.map_err(|r| rejected(r.status(), r.body_text()))?;
    let code = office(&state)?.submit_lead(input, &addr).await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(LeadReceipt {
            receipt: code,
            status: LeadStatus::Received,
        }),
    )
        .into_response())
}

/// Where a reported lead stands, by its receipt code.
#[utoipa::path(post, path = "/v1/leads/status", tag = "leads",
    request_body = ReceiptInput,
    responses(
        (status = 200, description = "The lead's status and day of receipt", body = LeadReceiptStatus),
        (status = 400, description = "`invalid_input`", body = ErrorBody),
        (status = 404, description = "`unknown_record`: no lead has that receipt code", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
    ))]
async fn status_json(
    State(state): State<AppState>,
    body: Result<Json<ReceiptInput>, JsonRejection>,
) -> Result<Response, AppError> {
    let Json(input) = body.map_err(|r| rejected(r.status(), r.body_text()))?;
    match office(&state)?.lead_status(&input.receipt).await? {
        Some(s) => Ok(Json(s).into_response()),
        None => Err(Error::UnknownRecord {
            id: "that receipt code".into(),
        }
        .into()),
    }
}
