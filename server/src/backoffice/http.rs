//! The back office's routes under `/office`: each handler checks who is calling and the form's
//! CSRF token, calls [`BackOffice`], and renders a page. Pages and forms take a signed-in
//! user; a device token is refused (403) even where a device could read.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use siteproof_core::CaseEventKind;

use super::i18n::Lang;
use super::pages::{self, BASE, visits::FilterForm};
use super::{BackOffice, CaseInput, VisitFilter, WebUser, csrf_ok, dates};
use crate::AppState;
use crate::error::{AppError, Error};
use crate::principal::{SESSION_COOKIE, cookie};

const LANG_COOKIE: &str = "sp_lang";
pub(super) const LOGIN_CSRF_COOKIE: &str = "sp_login_csrf";

/// The back office's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE, get(|| async { Redirect::to("/office/visits") }))
        .route("/office/visits", get(visits))
        .route("/office/visits/{id}", get(visit))
        .route(
            "/office/visits/{id}/findings/{finding}/case",
            post(open_case),
        )
        .route("/office/ledger", get(ledger))
        .route("/office/cases/{id}", get(case))
        .route("/office/cases/{id}/events", post(case_event))
        .merge(super::http_files::routes())
        .merge(super::http_content::routes())
        .merge(super::http_public::routes())
        .merge(super::http_session::routes())
}

fn lang_of(parts: &Parts) -> Lang {
    let query = parts.uri.query().unwrap_or("");
    let asked = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "lang")
        .map(|(_, v)| v);
    Lang::from_code(asked)
        .or_else(|| Lang::from_code(cookie(&parts.headers, LANG_COOKIE)))
        .unwrap_or(Lang::Zh)
}

/// A request to a back-office page: the service, the signed-in user and the page language.
pub struct Office {
    pub(super) office: Arc<BackOffice>,
    pub(super) user: WebUser,
    pub(super) lang: Lang,
}

/// Why a request is not let through to a page.
pub struct Refused(Response);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        self.0
    }
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": code, "message": message })),
    )
        .into_response()
}

impl FromRequestParts<AppState> for Office {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let Some(office) = state.backoffice.clone() else {
            return Err(Refused(StatusCode::NOT_FOUND.into_response()));
        };
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Err(Refused(json_error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the back office takes a signed-in user; device tokens cannot use it",
            )));
        }
        let lang = lang_of(parts);
        let user = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(session) => office
                .session(session)
                .await
                .map_err(|e| Refused(AppError::from(e).into_response()))?,
            None => None,
        };
        match user {
            Some(user) => Ok(Office { office, user, lang }),
            None if parts.method == Method::GET => {
                Err(Refused(Redirect::to("/office/login").into_response()))
            }
            None => Err(Refused(json_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "sign in first: the session is missing or expired",
            ))),
        }
    }
}

/// The client's address, for login throttling.
pub struct ClientAddr(pub(super) String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(
                    || super::auth::UNKNOWN_ADDRESS.into(),
                    |c| c.0.ip().to_string(),
                ),
        ))
    }
}

/// Lang from a request that has no signed-in user.
pub struct PageLang(pub(super) Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PageLang(lang_of(parts)))
    }
}

pub(super) fn page(lang: Lang, markup: maud::Markup) -> Response {
    let mut response = Html(markup.into_string()).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000",
        lang.code()
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

pub(super) fn refused_form(lang: Lang) -> Response {
    let message = lang.t(
        "表单缺少有效的 CSRF 令牌，请刷新页面后重试。",
        "The form's CSRF token is missing or wrong; reload the page and try again.",
    );
    (
        StatusCode::FORBIDDEN,
        page(lang, pages::message_page(lang, "403", message)),
    )
        .into_response()
}

pub(super) fn failed(lang: Lang, e: Error) -> Response {
    let app = AppError::from(e);
    let (status, _) = app.status_and_code();
    if status.is_server_error() {
        return app.into_response();
    }
    let message = match app {
        AppError::Service(ref e) => e.to_string(),
        _ => status.to_string(),
    };
    (
        status,
        page(lang, pages::message_page(lang, status.as_str(), &message)),
    )
        .into_response()
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

pub(super) fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

async fn visits(o: Office, Query(form): Query<FilterForm>) -> Response {
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
    let listed = o
        .office
        .visits(&o.user, filter, form.page.unwrap_or(0))
        .await;
    let groups = o.office.groups(&o.user).await;
    match (listed, groups) {
        (Ok((rows, counts)), Ok(groups)) => page(
            o.lang,
            pages::visits_page(o.lang, &o.user, &form, &groups, &rows, &counts),
        ),
        (Err(e), _) | (_, Err(e)) => failed(o.lang, e),
    }
}

async fn visit(o: Office, Path(id): Path<String>) -> Response {
    match o.office.visit(&o.user, &id).await {
        Ok(detail) => page(o.lang, pages::visit_page(o.lang, &o.user, &detail)),
        Err(e) => failed(o.lang, e),
    }
}

async fn open_case(
    o: Office,
    Path((visit, finding)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&o.user, &form.csrf) {
        return refused_form(o.lang);
    }
    match o.office.open_case(&o.user, &visit, &finding).await {
        Ok(id) => Redirect::to(&format!("/office/cases/{id}")).into_response(),
        Err(e) => failed(o.lang, e),
    }
}

#[derive(Deserialize)]
struct LedgerQuery {
    status: Option<String>,
}

async fn ledger(o: Office, Query(q): Query<LedgerQuery>) -> Response {
    let status = non_empty(&q.status);
    match o.office.ledger(&o.user, None, None, status.clone()).await {
        Ok(rows) => page(
            o.lang,
            pages::ledger_page(o.lang, &o.user, &rows, status.as_deref()),
        ),
        Err(e) => failed(o.lang, e),
    }
}

async fn case(o: Office, Path(id): Path<String>) -> Response {
    match o.office.case(&o.user, &id).await {
        Ok((row, case)) => page(o.lang, pages::case_page(o.lang, &o.user, &row, &case)),
        Err(e) => failed(o.lang, e),
    }
}

#[derive(Deserialize)]
struct EventForm {
    #[serde(default)]
    csrf: String,
    kind: String,
    note: Option<String>,
    unit: Option<String>,
    deadline: Option<String>,
    media: Option<String>,
}

async fn case_event(o: Office, Path(id): Path<String>, Form(form): Form<EventForm>) -> Response {
    if !csrf_ok(&o.user, &form.csrf) {
        return refused_form(o.lang);
    }
    let media = match form
        .media
        .as_deref()
        .unwrap_or("")
        .split([',', ' ', '\n'])
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().map_err(|_| ()))
        .collect::<Result<Vec<_>, ()>>()
    {
        Ok(media) => media,
        Err(_) => {
            return failed(
                o.lang,
                Error::InvalidInput("evidence must be SHA-256 file hashes (64 hex digits)".into()),
            );
        }
    };
    let deadline = match non_empty(&form.deadline) {
        None => None,
        Some(d) => match dates::parse_date(&d) {
            // The deadline is the end of that day.
            Some(t) => Some(t + dates::DAY_MS - 1),
            None => {
                return failed(
                    o.lang,
                    Error::InvalidInput(format!("{d:?} is not a date (YYYY-MM-DD)")),
                );
            }
        },
    };
    let input = CaseInput {
        kind: CaseEventKind::from_code(&form.kind),
        note: form.note,
        unit: form.unit,
        deadline,
        media,
    };
    match o.office.add_case_event(&o.user, &id, input).await {
        Ok(_) => Redirect::to(&format!("/office/cases/{id}")).into_response(),
        Err(e) => failed(o.lang, e),
    }
}
