//! `siteproof client peer listen|connect`: two laptops of one group merge their visits
//! directly, with the server gone.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use siteproof_core::MediaHash;
use siteproof_core::media::MediaStore;

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

/// A server with a gas-station template and one group, and two laptops of that group
/// enrolled with it (homes `a/` and `b/` in `dir`, inspectors 张三 and 李四).
struct TwoLaptops {
    dir: tempfile::TempDir,
    server: common::Server,
    a: String,
    b: String,
}

impl TwoLaptops {
    fn enrolled() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("server");
        let data = data.to_str().expect("utf-8");
        let (server, url) = start_server(data);
        let group = publish_gas_template_and_create_group(data);
        let home = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_string();
        let (a, b) = (home("a"), home("b"));
        for (home, name) in [(&a, "张三"), (&b, "李四")] {
            enroll_client(data, &group, &url, home, name);
        }
        TwoLaptops { dir, server, a, b }
    }
}

/// Two enrolled laptops with a visit each; one listens (advertised as `name`, if any), the
/// other connects by address or by that name; both end with both visits.
fn merge_two_laptops(name: Option<&str>) {
    let laptops = TwoLaptops::enrolled();
    let (a, b) = (laptops.a.as_str(), laptops.b.as_str());
    drop(laptops.server);
    let visit_a = create_gas_visit(a, "甲燃气站", "石家庄");
    let visit_b = create_gas_visit(b, "乙燃气站", "保定");

    let out = merge(b, a, name, &[], &[]);
    assert!(out.contains("\"records_received\": 1"), "{out}");

    for home in [a, b] {
        let list = ok(&["client", "--home", home, "list"]);
        assert!(
            list.contains(&visit_a) && list.contains(&visit_b),
            "{home}: {list}"
        );
    }
}

/// `listener` listens (advertised as `name`, if any) with `listen_args`; `connector`
/// connects to it, by that name or by address, with `connect_args`. Returns what the
/// connecting side printed, once both sides ended well.
fn merge(
    listener: &str,
    connector: &str,
    name: Option<&str>,
    listen_args: &[&str],
    connect_args: &[&str],
) -> String {
    let mut args = vec![
        "client",
        "--home",
        listener,
        "peer",
        "listen",
        "--addr",
        "127.0.0.1:0",
    ];
    if let Some(name) = name {
        args.extend(["--name", name]);
    }
    args.extend(listen_args);
    let mut child = Command::new(env!("CARGO_BIN_EXE_siteproof"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("listen");
    let mut line = String::new();
    // Kept open until the listener exits: it logs to standard error as it goes.
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    stderr.read_line(&mut line).expect("read");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    let target = name.unwrap_or(&addr);
    let mut args = vec!["client", "--home", connector, "peer", "connect", target];
    args.extend(connect_args);
    let out = ok(&args);
    let listened = child.wait_with_output().expect("listener");
    assert!(listened.status.success(), "listener failed");
    drop(stderr);
    out
}

/// A photo one laptop took reaches the other as a thumbnail at once; its original only
/// when the other asks for it, and then byte for byte.
#[test]
fn a_teammates_photo_arrives_as_a_thumbnail_and_its_original_only_when_asked_for() {
    let laptops = TwoLaptops::enrolled();
    let (a, b) = (laptops.a.as_str(), laptops.b.as_str());
    let dir = &laptops.dir;
    let visit = create_gas_visit(a, "甲燃气站", "石家庄");
    let photo = dir.path().join("leak.jpg");
    let img = image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([x as u8, y as u8, 90]));
    img.save(&photo).expect("photo");
    ok(&[
        "client",
        "--home",
        a,
        "upload",
        &visit,
        photo.to_str().expect("path"),
    ]);
    drop(laptops.server);

    let media_a = MediaStore::open(dir.path().join("a/media")).expect("a's media");
    let media_b = MediaStore::open(dir.path().join("b/media")).expect("b's media");
    let shown = ok(&["client", "--home", a, "show", &visit]);
    let hash = media_hashes(&shown)
        .pop()
        .expect("the visit refers to the photo");
    assert!(media_a.original_path(&hash).is_some());

    // B connects and asks for nothing but what always comes.
    let out = merge(a, b, None, &[], &[]);
    assert!(out.contains("\"media_received\": 1"), "{out}");
    assert!(media_b.thumbnail_path(&hash).is_some(), "no thumbnail");
    assert!(
        media_b.original_path(&hash).is_none(),
        "original unasked for"
    );

    // Asked for by hash, the original comes and is the photo.
    let wanted = hash.to_string();
    let out = merge(a, b, None, &[], &["--originals", &wanted]);
    assert!(out.contains("\"media_received\": 1"), "{out}");
    let original = media_b.original_path(&hash).expect("original fetched");
    assert_eq!(
        std::fs::read(original).expect("read"),
        std::fs::read(&photo).expect("read")
    );

    // Nothing is left to ask for: a third session with `all` moves no media.
    let out = merge(b, a, None, &["--originals", "all"], &[]);
    assert!(out.contains("\"media_received\": 0"), "{out}");
}

/// The hashes of the files a `client show` visit refers to (in answers and findings).
fn media_hashes(shown: &str) -> Vec<MediaHash> {
    let mut found = Vec::new();
    let mut rest = shown;
    while let Some(at) = rest.find("\"hash\": \"") {
        rest = &rest[at + 9..];
        if let Some(hash) = rest.get(..64).and_then(|h| h.parse().ok()) {
            found.push(hash);
        }
    }
    found
}
