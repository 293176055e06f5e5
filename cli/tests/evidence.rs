//! Signed evidence and the chain of custody end to end: a laptop client enrolls (with its
//! key), captures and uploads; `siteproof admin evidence verify`, `custody verify` and
//! `custody export` check and package it; the package is checked with the commands of
//! `docs/evidence.md` (sha256sum, openssl, python3); tampering is caught at each level.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{
    create_gas_visit, enroll_client, ok, publish_gas_template_and_create_group, siteproof,
    start_server, text,
};

/// Runs a shell script in `dir` (the documented checking procedure).
fn sh(dir: &Path, script: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("run sh")
}

/// Runs python3 code on the server's database (standing in for someone with disk access).
fn sql(db: &Path, statement: &str) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute({statement:?}); c.commit()"
        ))
        .arg(db)
        .output()
        .expect("run python3");
    assert!(out.status.success(), "{}", text(&out));
}

/// The checking procedure of docs/evidence.md, steps 1 to 4, over every signed file.
const CHECK_PACKAGE: &str = r#"set -e
sha256sum -c --quiet SHA256SUMS
for f in originals/*; do
  h=$(sha256sum "$f" | cut -d' ' -f1)
  [ "$h" = "$(basename "$f")" ] || { echo "BAD $f"; exit 1; }
  s=statements/$h.txt
  grep -qx "sha256 $h" "$s"
  grep -qx "size $(stat -c %s "$f")" "$s"
  d=$(sed -n 's/^device //p' "$s")
  openssl pkeyutl -verify -pubin -inkey "keys/$d.pem" -rawin -in "$s" -sigfile "signatures/$h.sig"
done
python3 - <<'PY'
import hashlib, json
prev = None
for line in open("custody.jsonl", encoding="utf-8"):
    e = json.loads(line)
    text = "siteproof-custody-v1\n" + "".join(
        f"{e[k]}\n" for k in ("seq", "at", "actor", "action", "subject", "details", "prev_hash"))
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == e["entry_hash"], e["seq"]
    assert prev is None or e["seq"] != prev["seq"] + 1 or e["prev_hash"] == prev["entry_hash"], e["seq"]
    prev = e
print("custody entries ok")
PY
"#;

#[test]
fn signed_evidence_is_verified_packaged_checked_by_standard_tools_and_tampering_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("server");
    let data = data_dir.to_str().expect("utf-8");
    let (server, url) = start_server(data);
    let group = publish_gas_template_and_create_group(data);
    let home = dir.path().join("laptop");
    let home = home.to_str().expect("utf-8");
    enroll_client(data, &group, &url, home, "张三");
    let visit = create_gas_visit(home, "某燃气站", "石家庄");
    let photo = dir.path().join("photo.jpg");
    std::fs::write(&photo, b"not really a jpeg, still evidence").expect("write");
    let out = ok(&[
        "client",
        "--home",
        home,
        "upload",
        &visit,
        photo.to_str().expect("path"),
    ]);
    assert!(out.contains("1 uploaded and verified"), "{out}");
    drop(server);

    let checked = ok(&["admin", "--data", data, "evidence", "verify"]);
    assert!(
        checked.contains("1 piece(s) of evidence checked"),
        "{checked}"
    );
    assert!(
        !checked.contains("unverified"),
        "signed at capture: {checked}"
    );
    let intact = ok(&["admin", "--data", data, "custody", "verify"]);
    assert!(
        intact.contains("intact") && intact.contains("head: seq "),
        "{intact}"
    );

    // The package verifies with the documented commands.
    let package = dir.path().join("package");
    ok(&[
        "admin",
        "--data",
        data,
        "custody",
        "export",
        "--visit",
        &visit,
        "--out",
        package.to_str().expect("path"),
    ]);
    let checked = sh(&package, CHECK_PACKAGE);
    assert!(checked.status.success(), "{}", text(&checked));
    assert!(text(&checked).contains("Signature Verified Successfully"));
    let custody = std::fs::read_to_string(package.join("custody.jsonl")).expect("custody");
    for action in ["\"upload\"", "\"verify\"", "\"export\""] {
        assert!(custody.contains(action), "{action} missing: {custody}");
    }

    // A tampered statement fails the signature check (after re-listing its sum, as a forger
    // would); a tampered original fails the sums.
    let forged = dir.path().join("forged");
    std::fs::create_dir(&forged).expect("mkdir");
    assert!(sh(dir.path(), "cp -r package/* forged/").status.success());
    assert!(
        sh(
            &forged,
            "sed -i 's/^captured_at .*/captured_at 1/' statements/*.txt && sha256sum $(sed 's/^[0-9a-f]*  //' SHA256SUMS) > SHA256SUMS.new && mv SHA256SUMS.new SHA256SUMS"
        )
        .status
        .success()
    );
    let failed = sh(&forged, CHECK_PACKAGE);
    assert!(
        !failed.status.success(),
        "a forged statement passed: {}",
        text(&failed)
    );
    assert!(
        text(&failed).contains("Signature Verification Failure"),
        "{}",
        text(&failed)
    );
    assert!(
        sh(
            &package,
            "printf X | dd of=$(ls originals/* | head -n1) bs=1 seek=3 conv=notrunc 2>/dev/null"
        )
        .status
        .success()
    );
    let failed = sh(&package, CHECK_PACKAGE);
    assert!(
        !failed.status.success(),
        "a tampered original passed: {}",
        text(&failed)
    );
    assert!(text(&failed).contains("FAILED"), "{}", text(&failed));

    // A byte flipped in the stored blob is found by the next re-verification.
    let blobs = data_dir.join("blobs").join("blobs");
    let blob = std::fs::read_dir(&blobs)
        .expect("blobs")
        .next()
        .expect("one blob")
        .expect("entry")
        .path();
    let mut bytes = std::fs::read(&blob).expect("read blob");
    bytes[0] ^= 0x01;
    std::fs::write(&blob, bytes).expect("flip");
    let out = siteproof(&["admin", "--data", data, "evidence", "verify"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("rejected") && text(&out).contains("do not match their hash"),
        "{}",
        text(&out)
    );

    // A forged custody entry, then a deleted one, break the chain at their seq.
    let db = data_dir.join("siteproof.db");
    assert!(ok(&["admin", "--data", data, "custody", "verify"]).contains("intact"));
    sql(
        &db,
        "UPDATE custody_log SET details = '{\"forged\":true}' WHERE seq = 2",
    );
    let out = siteproof(&["admin", "--data", data, "custody", "verify"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("broken at seq 2"), "{}", text(&out));
    sql(&db, "DELETE FROM custody_log WHERE seq <= 2");
    let out = siteproof(&["admin", "--data", data, "custody", "verify"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("broken at seq 1"), "{}", text(&out));
}

#[test]
fn a_deleted_custody_entry_breaks_the_chain_where_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("server");
    let data = data.to_str().expect("utf-8");
    ok(&[
        "admin", "--data", data, "group", "create", "--region", "hebei", "--name", "组",
    ]);
    // Entries written by the documented encoding (python3), as a third party would check them.
    let db = dir.path().join("server").join("siteproof.db");
    let script = r#"
import hashlib, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
prev = "0" * 64
for seq in range(1, 6):
    e = [seq, 1000 + seq, "admin", "view", "s%d" % seq, '{"n":%d}' % seq, prev]
    text = "siteproof-custody-v1\n" + "".join("%s\n" % x for x in e)
    h = hashlib.sha256(text.encode()).hexdigest()
    c.execute("INSERT INTO custody_log VALUES (?,?,?,?,?,?,?,?)", e + [h])
    prev = h
c.commit()
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&db)
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        ok(&["admin", "--data", data, "custody", "verify"]).contains("intact: 5 entries"),
        "the documented encoding is the one the server checks"
    );
    sql(&db, "DELETE FROM custody_log WHERE seq = 3");
    let out = siteproof(&["admin", "--data", data, "custody", "verify"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("broken at seq 3"), "{}", text(&out));
}
