//! The enterprise directory through `siteproof client` against `siteproof serve`: the office
//! imports its roster over HTTP, the laptop client lists and searches the region's
//! enterprises after a sync, and `client create --enterprise` starts a visit that the office
//! finds on the enterprise's page.

mod common;

use common::office::Office;
use common::{
    enroll_client, ok, publish_gas_template_and_create_group, siteproof, start_server, text,
};

const A: &str = "91350100M000100Y43";
const B: &str = "91110000600037341L";

fn codes(json: &str) -> Vec<String> {
    let list: Vec<serde_json::Value> = serde_json::from_str(json).expect("a JSON list");
    list.iter()
        .map(|e| e["credit_code"].as_str().expect("code").to_owned())
        .collect()
}

#[test]
fn the_client_lists_the_directory_and_creates_a_visit_at_one_of_its_enterprises() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("server");
    let data = data.to_str().expect("utf-8");
    let (_server, url) = start_server(data);
    let group = publish_gas_template_and_create_group(data);
    let home = dir.path().join("laptop");
    let home = home.to_str().expect("home");
    enroll_client(data, &group, &url, home, "张三");
    assert_eq!(ok(&["client", "--home", home, "enterprises"]), "[]");

    let office = Office::sign_in(data, &url, "alice");
    office.import(&format!(
        "统一社会信用代码,名称,地址,行业领域\n{A},某燃气有限公司,石家庄市长安区,gas\n{B},某化工有限公司,石家庄市桥西区,hazardous_chemicals\n"
    ));
    ok(&["client", "--home", home, "sync"]);
    let all = ok(&["client", "--home", home, "enterprises"]);
    assert_eq!(codes(&all), [B, A], "by name: {all}");
    assert!(all.contains("石家庄市长安区"), "{all}");
    let found = ok(&["client", "--home", home, "enterprises", "--search", "燃气"]);
    assert_eq!(codes(&found), [A]);

    let visit = ok(&[
        "client",
        "--home",
        home,
        "create",
        "--enterprise",
        A,
        "--template",
        "gas-operator-major",
    ]);
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&["client", "--home", home, "show", &visit])).expect("json");
    assert_eq!(shown["visit"]["site"]["name"], "某燃气有限公司");
    assert_eq!(shown["visit"]["site"]["credit_code"], A);
    assert_eq!(shown["visit"]["site"]["address"], "石家庄市长安区");
    ok(&["client", "--home", home, "sync"]);
    assert!(
        office
            .get(&format!("/office/enterprises/{A}"))
            .contains(&visit)
    );

    // An enterprise the directory does not hold, and a site given beside --enterprise.
    let out = siteproof(&[
        "client",
        "--home",
        home,
        "create",
        "--enterprise",
        "91130100MA00000012",
        "--template",
        "gas-operator-major",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("91130100MA00000012"), "{}", text(&out));
    let out = siteproof(&[
        "client",
        "--home",
        home,
        "create",
        "--enterprise",
        A,
        "--site",
        "别的",
        "--template",
        "gas-operator-major",
    ]);
    assert!(!out.status.success());
}
