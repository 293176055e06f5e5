//! What the office's handlers take and return: the signed-in [`Office`] request, forms
//! that passed the CSRF check ([`Posted`]), the [`PageError`] every page handler returns,
//! and the [`RouteTable`] that lists the routes it holds.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::MethodRouter;
use axum_extra::extract::Form;
use serde::de::DeserializeOwned;

use super::i18n::Lang;
use siteproof_core::TemplateRef;

use super::layout as pages;
use super::{BackOffice, WebUser, dates};
use crate::AppState;
use crate::error::{AppError, Error};
use crate::identity::{SESSION_COOKIE, cookie, csrf_ok};

const LANG_COOKIE: &str = "sp_lang";

/// The cookie that carries the login form's CSRF token (there is no session yet).
pub(super) const LOGIN_CSRF_COOKIE: &str = "sp_login_csrf";

/// A template version named in a form (`id@version`).
pub(super) fn parse_template_ref(text: Option<String>) -> Result<Option<TemplateRef>, Error> {
    let Some(text) = text else { return Ok(None) };
    let bad = || Error::InvalidInput(format!("{text:?} is not a template version (id@version)"));
    let (id, version) = text.rsplit_once('@').ok_or_else(bad)?;
    Ok(Some(TemplateRef {
        id: id.parse().map_err(|_| bad())?,
        version: version.parse().map_err(|_| bad())?,
    }))
}

/// A deadline typed into a form (`YYYY-MM-DD`): the end of that day.
pub(super) fn parse_due(text: Option<String>) -> Result<Option<i64>, Error> {
    text.map(|d| {
        dates::parse_date(&d)
            .map(|t| t + dates::DAY_MS - 1)
            .ok_or_else(|| Error::InvalidInput(format!("{d:?} is not a date (YYYY-MM-DD)")))
    })
    .transpose()
}

/// A form field's value, trimmed; `None` when absent or blank.
pub(super) fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The page language: `?lang=`, else the language cookie, else Chinese.
pub(super) fn lang_of(uri: &Uri, headers: &HeaderMap) -> Lang {
    let query = uri.query().unwrap_or("");
    let asked = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "lang")
        .map(|(_, v)| v);
    Lang::from_code(asked)
        .or_else(|| Lang::from_code(cookie(headers, LANG_COOKIE)))
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
        let office = Arc::clone(&state.backoffice);
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Err(Refused(json_error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the back office takes a signed-in user; device tokens cannot use it",
            )));
        }
        let lang = lang_of(&parts.uri, &parts.headers);
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

/// Lang from a request that has no signed-in user.
pub struct PageLang(pub(super) Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PageLang(lang_of(&parts.uri, &parts.headers)))
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

/// What a page handler returns: the page, or an error shown as a page in the request's
/// language ([`render_page_errors`]); 5xx stay opaque and their detail is logged.
pub type PageResult = Result<Response, PageError>;

/// A failed page request.
pub struct PageError(Error);

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        PageError(e)
    }
}

/// The message of a refused page request, for [`render_page_errors`] to render.
#[derive(Clone)]
struct PageFailure(String);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let app = AppError::from(self.0);
        let (status, _) = app.status_and_code();
        if status.is_server_error() {
            return app.into_response();
        }
        let message = match app {
            AppError::Service(ref e) => e.to_string(),
            _ => status.to_string(),
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(PageFailure(message));
        response
    }
}

/// Renders [`PageError`]s as pages in the request's language (the error itself cannot see
/// the request).
pub async fn render_page_errors(req: Request, next: Next) -> Response {
    let lang = lang_of(req.uri(), req.headers());
    let response = next.run(req).await;
    match response.extensions().get::<PageFailure>() {
        Some(PageFailure(message)) => {
            let status = response.status();
            (
                status,
                page(lang, pages::message_page(lang, status.as_str(), message)),
            )
                .into_response()
        }
        None => response,
    }
}

/// A form POSTed by a signed-in user with the session's CSRF token. Every state-changing
/// office route takes its form through this, so none can skip the check; the token is
/// checked before the rest of the form is read.
pub struct Posted<T> {
    /// The request.
    pub(super) o: Office,
    /// The form's other fields.
    pub(super) form: T,
}

/// A form with no fields but the CSRF token.
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// The `csrf` field of a URL-encoded body (hex digits: nothing to decode).
fn csrf_field(body: &[u8]) -> &str {
    body.split(|b| *b == b'&')
        .find_map(|kv| kv.strip_prefix(b"csrf="))
        .and_then(|v| std::str::from_utf8(v).ok())
        .unwrap_or("")
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let o = signed_in(&mut parts, state).await?;
        let kept = parts.clone();
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !csrf_ok(&o.user, csrf_field(&bytes)) {
            return Err(refused_form(o.lang));
        }
        let Form(form) =
            Form::<T>::from_request(Request::from_parts(kept, Body::from(bytes)), state)
                .await
                .map_err(IntoResponse::into_response)?;
        Ok(Posted { o, form })
    }
}

/// A file download named `name`.
pub(super) fn download(
    content_type: &'static str,
    name: &str,
    body: impl IntoResponse,
) -> PageResult {
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// The signed-in user of a state-changing request, or the refusal.
async fn signed_in(parts: &mut Parts, state: &AppState) -> Result<Office, Response> {
    Office::from_request_parts(parts, state)
        .await
        .map_err(IntoResponse::into_response)
}

/// A file POSTed as the raw body by a signed-in user's page script, with the session's CSRF
/// token in the `x-csrf-token` header (checked before the body is read).
pub struct PostedFile {
    /// The request.
    pub(super) o: Office,
    /// The file.
    pub(super) bytes: Bytes,
}

impl FromRequest<AppState> for PostedFile {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let o = signed_in(&mut parts, state).await?;
        let token = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !csrf_ok(&o.user, token) {
            return Err(refused_form(o.lang));
        }
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(PostedFile { o, bytes })
    }
}

/// The office's routes and their paths, so tests can walk every route (the CSRF test
/// sends each POST route a form without a token).
pub struct RouteTable {
    router: Router<AppState>,
    paths: Vec<&'static str>,
}

impl Default for RouteTable {
    fn default() -> Self {
        Self {
            router: Router::new(),
            paths: Vec::new(),
        }
    }
}

impl RouteTable {
    /// Adds a route.
    pub fn route(mut self, path: &'static str, method: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, method);
        self.paths.push(path);
        self
    }

    /// Adds every route of `other`.
    pub fn merge(mut self, other: RouteTable) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    /// The paths, as routed (`{id}` for parameters).
    pub fn paths(&self) -> &[&'static str] {
        &self.paths
    }

    /// The router, with errors rendered as pages.
    pub fn into_router(self) -> Router<AppState> {
        self.router
            .layer(axum::middleware::from_fn(render_page_errors))
    }
}
