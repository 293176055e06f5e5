//! `siteproof client peer listen|connect`: two laptops of one group merge their visits
//! directly, with the server gone.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{
    create_gas_visit, enroll_client, ok, publish_gas_template_and_create_group, start_server,
};

#[test]
fn two_laptops_merge_directly_with_the_server_stopped() {
    merge_two_laptops(None);
}

/// The listener advertises itself by mDNS on loopback and the other finds it by name.
#[test]
fn a_teammate_advertised_by_name_is_found_and_merged_with() {
    merge_two_laptops(Some("乙 laptop"));
}

/// Two enrolled laptops with a visit each; one listens (advertised as `name`, if any), the
/// other connects by address or by that name; both end with both visits.
fn merge_two_laptops(name: Option<&str>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("server");
    let data = data.to_str().expect("utf-8");
    let (server, url) = start_server(data);
    let group = publish_gas_template_and_create_group(data);
    let (home_a, home_b) = (dir.path().join("a"), dir.path().join("b"));
    let (a, b) = (home_a.to_str().expect("a"), home_b.to_str().expect("b"));
    for (home, name) in [(a, "张三"), (b, "李四")] {
        enroll_client(data, &group, &url, home, name);
    }
    drop(server);
    let visit_a = create_gas_visit(a, "甲燃气站", "石家庄");
    let visit_b = create_gas_visit(b, "乙燃气站", "保定");

    let mut args = vec![
        "client",
        "--home",
        b,
        "peer",
        "listen",
        "--addr",
        "127.0.0.1:0",
    ];
    if let Some(name) = name {
        args.extend(["--name", name]);
    }
    let mut listener = Command::new(env!("CARGO_BIN_EXE_siteproof"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("listen");
    let mut line = String::new();
    // Kept open until the listener exits: it logs to standard error as it goes.
    let mut stderr = BufReader::new(listener.stderr.take().expect("stderr"));
    stderr.read_line(&mut line).expect("read");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    let target = name.unwrap_or(&addr);
    let out = ok(&["client", "--home", a, "peer", "connect", target]);
    assert!(out.contains("\"records_received\": 1"), "{out}");
    let listened = listener.wait_with_output().expect("listener");
    assert!(listened.status.success(), "listener failed");
    drop(stderr);

    for home in [a, b] {
        let list = ok(&["client", "--home", home, "list"]);
        assert!(
            list.contains(&visit_a) && list.contains(&visit_b),
            "{home}: {list}"
        );
    }
}
