//! Signing in and out: the login form with its double-submit CSRF token, the session cookie,
//! and logout.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::http::{
    ClientAddr, CsrfForm, LOGIN_CSRF_COOKIE, Office, PageLang, failed, page, refused_form,
};
use super::{csrf_ok, pages};
use crate::AppState;
use crate::error::Error;
use crate::principal::{SESSION_COOKIE, cookie};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/office/login", get(login_form).post(login))
        .route("/office/logout", post(logout))
}

async fn login_form(PageLang(lang): PageLang) -> Response {
    let token = super::auth::random_token();
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
    login: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let Some(office) = state.backoffice else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !super::auth::tokens_equal(expected, &form.csrf) {
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
            let token = super::auth::random_token();
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
        Err(e) => failed(lang, e),
    }
}

async fn logout(o: Office, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    if !csrf_ok(&o.user, &form.csrf) {
        return refused_form(o.lang);
    }
    if let Some(session) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = o.office.logout(session).await
    {
        return failed(o.lang, e);
    }
    let mut response = Redirect::to("/office/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("sp_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}
