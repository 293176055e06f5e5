//! Office users for the integration tests: created through the service, signed in through
//! the login form.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use siteproof_core::Sector;
use siteproof_server::backoffice::{NewUser, Role, WebUser};
use tower::ServiceExt;

use crate::common::TestServer;

pub async fn add_user(
    server: &TestServer,
    login: &str,
    role: Role,
    region: &str,
    sectors: Vec<Sector>,
) {
    server
        .state
        .backoffice
        .create_user(NewUser {
            login: login.into(),
            name: login.into(),
            password: "correct horse battery".into(),
            role,
            region: region.into(),
            sectors,
        })
        .await
        .expect("user");
}

/// Signs in through the login form; returns the user, the Cookie header and the CSRF token.
pub async fn sign_in(server: &TestServer, login: &str) -> (WebUser, String, String) {
    let office = &server.state.backoffice;
    let form = server
        .app()
        .oneshot(
            Request::get("/office/login")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    let login_csrf = form
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("sp_login_csrf="))
        .and_then(|c| c.split(';').next())
        .expect("login csrf")
        .to_owned();
    let resp = server
        .app()
        .oneshot(
            Request::post("/office/login")
                .header(header::COOKIE, format!("sp_login_csrf={login_csrf}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "csrf={login_csrf}&login={login}&password=correct+horse+battery"
                )))
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "sign-in of {login}");
    let session = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("sp_session="))
        .and_then(|c| c.split(';').next())
        .expect("session")
        .to_owned();
    let user = office
        .session(&session)
        .await
        .expect("session")
        .expect("user");
    let csrf = user.csrf.clone();
    (user, format!("sp_session={session}"), csrf)
}
