//! `siteproof client` end to end against `siteproof serve`: two laptops of one group enroll,
//! capture, sync and see each other's work; a file uploads and is verified.

mod common;

use common::{enroll_client, ok, publish_gas_template_and_create_group, siteproof, start_server};

#[test]
fn every_client_command_has_help() {
    for sub in [
        "enroll",
        "templates",
        "create",
        "answer",
        "finding",
        "list",
        "show",
        "sync",
        "upload",
        "reinspection",
        "reinspect",
    ] {
        let text = ok(&["client", sub, "--help"]);
        assert!(text.contains("Usage:"), "{sub}: {text}");
    }
}

#[test]
fn two_laptops_capture_sync_and_upload_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("server");
    let data = data.to_str().expect("utf-8");
    let (_server, url) = start_server(data);
    let group = publish_gas_template_and_create_group(data);
    let home_a = dir.path().join("a");
    let home_b = dir.path().join("b");
    let (a, b) = (home_a.to_str().expect("a"), home_b.to_str().expect("b"));
    for (home, name) in [(a, "张三"), (b, "李四")] {
        let out = enroll_client(data, &group, &url, home, name);
        assert!(out.contains("enrolled as device"), "{out}");
    }
    assert!(ok(&["client", "--home", a, "templates"]).contains("gas-operator-major"));

    let visit = ok(&[
        "client",
        "--home",
        a,
        "create",
        "--site",
        "某燃气公司储配站",
        "--sector",
        "gas",
        "--template",
        "gas-operator-major",
        "--address",
        "石家庄",
    ]);
    ok(&[
        "client",
        "--home",
        a,
        "answer",
        &visit,
        "go-01",
        "fail",
        "--note",
        "未设置泄漏报警",
    ]);
    let finding = ok(&[
        "client",
        "--home",
        a,
        "finding",
        &visit,
        "--description",
        "储罐区可燃气体报警器失效",
        "--severity",
        "major",
        "--item",
        "go-01",
    ]);
    assert!(!finding.is_empty());
    let bad = siteproof(&[
        "client",
        "--home",
        a,
        "answer",
        &visit,
        "no-such-item",
        "pass",
    ]);
    assert!(
        !bad.status.success(),
        "an item outside the template is refused"
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no-such-item"));

    let list: serde_json::Value =
        serde_json::from_str(&ok(&["client", "--home", a, "list"])).expect("json");
    assert_eq!(list[0]["major_findings"], 1);
    let synced: serde_json::Value =
        serde_json::from_str(&ok(&["client", "--home", a, "sync"])).expect("json");
    assert!(synced["pushed"].as_u64().expect("pushed") >= 3, "{synced}");

    ok(&["client", "--home", b, "sync"]);
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&["client", "--home", b, "show", &visit])).expect("json");
    assert_eq!(shown["visit"]["answers"]["go-01"]["note"], "未设置泄漏报警");
    assert_eq!(shown["visit"]["answers"]["go-01"]["by"], "张三");
    assert_eq!(shown["conflicts"].as_array().expect("conflicts").len(), 0);

    let footage = dir.path().join("clip.mp4");
    let bytes: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&footage, bytes).expect("write clip");
    let out = ok(&[
        "client",
        "--home",
        b,
        "upload",
        &visit,
        footage.to_str().expect("path"),
    ]);
    assert!(out.contains("1 uploaded and verified"), "{out}");
    let again = ok(&[
        "client",
        "--home",
        b,
        "upload",
        &visit,
        footage.to_str().expect("path"),
    ]);
    assert!(
        again.contains("uploaded and verified"),
        "a rerun is harmless: {again}"
    );
}

#[test]
fn a_record_the_client_cannot_read_is_named_by_list_and_show_and_left_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().to_str().expect("utf-8");
    // A visit as a peer or an older server might hand over: a header and nothing else.
    let id = siteproof_core::RecordId::random();
    {
        let mut store =
            siteproof_core::Store::open(dir.path().join("siteproof.db")).expect("store");
        let mut doc = siteproof_core::RecordHeader {
            kind: siteproof_core::RecordKind::Visit,
            id: id.clone(),
            scope: siteproof_core::Scope::group("hebei", "g1"),
        }
        .create(siteproof_core::ActorId::random())
        .expect("doc");
        store
            .merge(None, &doc.save(), siteproof_core::MergeOrigin::Server)
            .expect("kept, not refused");
    }
    let out = siteproof(&["client", "--home", home, "list"]);
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list, serde_json::json!([]), "left out of the list");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("unreadable visit {id}: site")),
        "{stderr}"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&["client", "--home", home, "show", id.as_str()])).expect("json");
    assert_eq!(shown["unreadable"]["id"], id.as_str());
    assert_eq!(shown["unreadable"]["path"], "site");
}
