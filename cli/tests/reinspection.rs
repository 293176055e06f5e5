//! Re-inspection (复查) through `siteproof client` against `siteproof serve`: the office sends a
//! hazard back to the group over HTTP, the laptop client lists it with its original finding,
//! starts the re-inspection visit, records the result with a photo (uploaded and verified),
//! and the office verifies the hazard by it.

mod common;

use common::office::Office;
use common::{
    create_gas_visit, enroll_client, ok, publish_gas_template_and_create_group, siteproof,
    start_server,
};
use siteproof_core::RecordId;

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
