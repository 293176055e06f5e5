//! Re-inspection (复查) through `siteproof client` against `siteproof serve`: the office sends a
//! hazard back to the group over HTTP, the laptop client lists it with its original finding,
//! starts the re-inspection visit, records the result with a photo (uploaded and verified),
//! and the office verifies the hazard by it.

mod common;

use common::{
    create_gas_visit, enroll_client, ok, publish_gas_template_and_create_group, siteproof,
    siteproof_with_env, start_server, text,
};
use reqwest::blocking::{Client, Response};
use siteproof_core::RecordId;

const PASSWORD: &str = "correct horse battery staple";

/// An office user's browser: its session cookie and CSRF token (redirects not followed).
struct Office {
    http: Client,
    url: String,
    session: String,
    csrf: String,
}

/// `application/x-www-form-urlencoded` of `pairs`.
fn encode(pairs: &[(&str, &str)]) -> String {
    let part = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", part(k), part(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn cookie(resp: &Response, name: &str) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no cookie {name}"))
        .to_owned()
}

impl Office {
    fn sign_in(data: &str, url: &str, login: &str) -> Self {
        let env = [("SITEPROOF_USER_PASSWORD".to_owned(), PASSWORD.to_owned())];
        let args = [
            "admin", "--data", data, "user", "add", "--login", login, "--name", login, "--role",
            "reviewer", "--region", "hebei",
        ];
        let out = siteproof_with_env(&args, &env);
        assert!(out.status.success(), "{}", text(&out));
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let form = http
            .get(format!("{url}/office/login"))
            .send()
            .expect("login page");
        let token = cookie(&form, "sp_login_csrf");
        let signed_in = http
            .post(format!("{url}/office/login"))
            .header("cookie", format!("sp_login_csrf={token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&[
                ("csrf", token.as_str()),
                ("login", login),
                ("password", PASSWORD),
            ]))
            .send()
            .expect("sign in");
        assert_eq!(signed_in.status().as_u16(), 303);
        let session = format!("sp_session={}", cookie(&signed_in, "sp_session"));
        let mut office = Self {
            http,
            url: url.to_owned(),
            session,
            csrf: String::new(),
        };
        let page = office.get("/office/ledger");
        let at = page.find("name=\"csrf\" value=\"").expect("csrf") + 19;
        office.csrf = page[at..at + page[at..].find('"').expect("end")].to_owned();
        office
    }

    fn get(&self, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.url))
            .header("cookie", &self.session)
            .send()
            .expect("get")
            .text()
            .expect("body")
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> u16 {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(form);
        self.http
            .post(format!("{}{path}", self.url))
            .header("cookie", &self.session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&all))
            .send()
            .expect("post")
            .status()
            .as_u16()
    }
}

#[test]
fn a_reinspection_is_done_with_the_client_and_verified_by_the_office() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("server");
    let data = data.to_str().expect("utf-8");
    let (_server, url) = start_server(data);
    let group = publish_gas_template_and_create_group(data);
    let home = dir.path().join("laptop");
    let home = home.to_str().expect("home");
    enroll_client(data, &group, &url, home, "张三");
    let visit = create_gas_visit(home, "某燃气公司储配站", "石家庄");
    let finding = ok(&[
        "client",
        "--home",
        home,
        "finding",
        &visit,
        "--description",
        "储罐区可燃气体报警器失效",
        "--severity",
        "major",
    ]);
    ok(&["client", "--home", home, "sync"]);
    let case = RecordId::for_finding_case(
        &visit.parse().expect("visit id"),
        &finding.parse().expect("finding id"),
    )
    .to_string();

    let office = Office::sign_in(data, &url, "cli-office");
    let sent = office.post("/office/ledger/reinspection", &[("case", &case)]);
    assert_eq!(sent, 303);

    ok(&["client", "--home", home, "sync"]);
    let pushes: serde_json::Value =
        serde_json::from_str(&ok(&["client", "--home", home, "assignments"])).expect("json");
    let pushed = pushes
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["kind"] == "reinspection")
        .expect("the re-inspection");
    assert_eq!(pushed["cases"][0], case.as_str());
    let assignment = pushed["id"].as_str().expect("id");
    let tasks: serde_json::Value =
        serde_json::from_str(&ok(&["client", "--home", home, "reinspection", assignment]))
            .expect("json");
    assert_eq!(tasks[0]["case"]["id"], case.as_str());
    assert_eq!(
        tasks[0]["finding"]["description"],
        "储罐区可燃气体报警器失效"
    );

    let trip = ok(&[
        "client",
        "--home",
        home,
        "start",
        assignment,
        "--mode",
        "announced",
        "--team",
        "张三",
    ]);
    let photo = dir.path().join("after.jpg");
    image::RgbImage::from_fn(32, 24, |x, y| image::Rgb([x as u8 * 8, y as u8 * 10, 60]))
        .save(&photo)
        .expect("jpeg");
    let refused = siteproof(&[
        "client",
        "--home",
        home,
        "reinspect",
        &visit,
        &case,
        "--outcome",
        "rectified",
    ]);
    assert!(
        !refused.status.success(),
        "an ordinary visit holds no result"
    );
    let out = ok(&[
        "client",
        "--home",
        home,
        "reinspect",
        &trip,
        &case,
        "--outcome",
        "rectified",
        "--note",
        "报警器已更换",
        photo.to_str().expect("path"),
    ]);
    let result = out.lines().next().expect("the result's id").to_owned();
    assert!(out.contains("1 uploaded and verified"), "{out}");

    let page = office.get(&format!("/office/cases/{case}"));
    assert!(
        page.contains(&format!(
            "data-result=\"{result}\" data-outcome=\"rectified\""
        )),
        "{page}"
    );
    let verified = office.post(
        &format!("/office/cases/{case}/reinspections/{result}/verify"),
        &[],
    );
    assert_eq!(verified, 303);
    let page = office.get(&format!("/office/cases/{case}"));
    assert!(page.contains("data-status=\"verified\""), "{page}");
}
