//! An office user signed in over HTTP, for the tests that play the office beside the client.

use reqwest::blocking::{Client, Response};

use super::text;

const PASSWORD: &str = "correct horse battery staple";

/// An office user's browser: its session cookie and CSRF token (redirects not followed).
pub struct Office {
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
    pub fn sign_in(data: &str, url: &str, login: &str) -> Self {
        Self::add_and_sign_in(&["--data", data], url, login)
    }

    /// Adds reviewer `login` of region hebei with `siteproof admin ADMIN_ARGS user add` (the
    /// options naming the server's data: `--data`, `--database`) and signs in at `url`.
    pub fn add_and_sign_in(admin_args: &[&str], url: &str, login: &str) -> Self {
        let env = [("SITEPROOF_USER_PASSWORD".to_owned(), PASSWORD.to_owned())];
        let mut args = vec!["admin"];
        args.extend_from_slice(admin_args);
        args.extend_from_slice(&[
            "user", "add", "--login", login, "--name", login, "--role", "reviewer", "--region",
            "hebei",
        ]);
        let out = super::siteproof_with_env(&args, &env);
        assert!(out.status.success(), "{}", text(&out));
        Self::sign_in_only(url, login)
    }

    /// Signs in at `url` as `login`, who exists already.
    pub fn sign_in_only(url: &str, login: &str) -> Self {
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

    pub fn get(&self, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.url))
            .header("cookie", &self.session)
            .send()
            .expect("get")
            .text()
            .expect("body")
    }

    /// Posts `form` (with the CSRF token); the status and the `location` header.
    pub fn post_to(&self, path: &str, form: &[(&str, &str)]) -> (u16, Option<String>) {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(form);
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .header("cookie", &self.session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&all))
            .send()
            .expect("post");
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (resp.status().as_u16(), location)
    }

    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> u16 {
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
    /// Imports an enterprise roster (CSV) as the enterprise list's script does.
    pub fn import(&self, csv: &str) {
        let resp = self
            .http
            .post(format!("{}/office/enterprises/import", self.url))
            .header("cookie", &self.session)
            .header("x-csrf-token", &self.csrf)
            .body(csv.as_bytes().to_vec())
            .send()
            .expect("import");
        let status = resp.status().as_u16();
        assert!(status < 400, "import: {}", resp.text().expect("body"));
    }
}
