//! Office users for the integration tests: created through the service, signed in through
//! the login form.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use siteproof_core::Sector;
use siteproof_server::backoffice::{NewUser, Role, WebUser};
use tower::ServiceExt;

use crate::common::{RealServer, TestServer};

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

/// An office user's browser on a real port: the session cookie and the CSRF token.
pub struct Browser {
    pub http: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
    pub user: WebUser,
}

impl Browser {
    /// Creates the user and signs in through the login form.
    pub async fn open(
        server: &TestServer,
        login: &str,
        role: Role,
        region: &str,
        sectors: Vec<Sector>,
    ) -> Self {
        add_user(server, login, role, region, sectors).await;
        let (user, cookie, csrf) = sign_in(server, login).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            http,
            cookie,
            csrf,
            user,
        }
    }

    /// A page: its status and body.
    pub async fn get(&self, real: &RealServer, path: &str) -> (u16, String) {
        let resp = self
            .http
            .get(real.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("get");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }

    /// A form sent with the CSRF token: the answer's status and body.
    pub async fn post(
        &self,
        real: &RealServer,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, String) {
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("csrf", &self.csrf);
        for (k, v) in form {
            body.append_pair(k, v);
        }
        let resp = self
            .http
            .post(real.url(path))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.finish())
            .send()
            .await
            .expect("post");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }

    /// Sends a roster file (CSV or XLSX) as the enterprise list page's script does.
    pub async fn import(&self, real: &RealServer, file: Vec<u8>) -> (u16, String) {
        let resp = self
            .http
            .post(real.url("/office/enterprises/import"))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .body(file)
            .send()
            .await
            .expect("post");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }
}
