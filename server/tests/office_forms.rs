//! Every state-changing office route refuses a form without the session's CSRF token: the
//! test walks the router's own list of routes and sends each one that takes a POST an empty
//! form from a signed-in user.

mod common;
mod office_fixture;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use siteproof_server::backoffice::{Role, paths};
use tower::ServiceExt;

use common::TestServer;
use office_fixture::{add_user, sign_in};

/// The path with every `{parameter}` filled in (numbers parse as ids, versions and names).
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "1" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_office_post_route_refuses_a_form_without_the_csrf_token() {
    let server = TestServer::new().await;
    add_user(&server, "adm", Role::Admin, "hebei", vec![]).await;
    let (_, cookie, _) = sign_in(&server, "adm").await;

    let mut refused = Vec::new();
    for path in paths().into_iter().filter(|p| p.starts_with("/office")) {
        let uri = concrete(path);
        let resp = server
            .app()
            .oneshot(
                Request::post(&uri)
                    .header(header::COOKIE, &cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("note=x"))
                    .expect("request"),
            )
            .await
            .expect("infallible");
        let status = resp.status();
        if status == StatusCode::METHOD_NOT_ALLOWED {
            continue; // a page: no POST on this path
        }
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "POST {uri} without a CSRF token: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(
            String::from_utf8_lossy(&body).contains("CSRF"),
            "POST {uri} says why"
        );
        refused.push(path);
    }
    // The routes that change state today; a new one is covered by the walk above.
    for known in [
        "/office/login",
        "/office/logout",
        "/office/visits/{id}/findings/{finding}/case",
        "/office/cases/{id}/events",
        "/office/assignments",
        "/office/leads/{id}/triage",
        "/office/roster/inspectors",
        "/office/roster/inspectors/{id}/group",
        "/office/roster/experts",
        "/office/templates",
        "/office/templates/{id}/{version}/publish",
        "/office/supervision/key-list",
        "/office/supervision/key-list/{id}/remove",
        "/office/supervision/blacklist",
        "/office/supervision/blacklist/{id}/remove",
        "/office/planning",
    ] {
        assert!(refused.contains(&known), "{known} was walked: {refused:?}");
    }
}
