//! Signing in and out: the login form with its double-submit CSRF token, the session cookie,
//! and logout.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::extract::{LOGIN_CSRF_COOKIE, NoFields, PageResult, Posted, RouteTable};
use super::extract::{PageError, PageLang, page, refused_form};
use super::layout as pages;
use crate::AppState;
use crate::error::Error;
use crate::identity::ClientAddr;
use crate::identity::{SESSION_COOKIE, cookie};

/// The routes.
pub fn routes() -> RouteTable {
    RouteTable::default()
        .route("/office/login", get(login_form).post(login))
        .route("/office/logout", post(logout))
}

async fn login_form(PageLang(lang): PageLang) -> Response {
    let token = crate::identity::users::random_token();
    let mut response = page(lang, pages::login_page(lang, &token, None));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/office/login; HttpOnly; SameSite=Strict"
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    // Defaults, so a form without its token is refused as such (403) whatever else it lacks.
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

async fn login(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let office = state.backoffice;
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !crate::identity::users::tokens_equal(expected, &form.csrf) {
        return refused_form(lang);
    }
    match office.login(form.login.trim(), &form.password, &addr).await {
        Ok((session, _)) => {
            let secure = if office.config().secure_cookies {
                "; Secure"
            } else {
                ""
            };
            let max_age = office.config().session_ttl.as_secs();
            let mut response = Redirect::to("/office/visits").into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
            )) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(Error::Unauthorized(message)) => {
            let token = crate::identity::users::random_token();
            let mut response = (
                StatusCode::UNAUTHORIZED,
                page(lang, pages::login_page(lang, &token, Some(message))),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{LOGIN_CSRF_COOKIE}={token}; Path=/office/login; HttpOnly; SameSite=Strict"
            )) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

async fn logout(headers: HeaderMap, Posted { o, .. }: Posted<NoFields>) -> PageResult {
    if let Some(session) = cookie(&headers, SESSION_COOKIE) {
        o.office.logout(session).await?;
    }
    let mut response = Redirect::to("/office/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("sp_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}
