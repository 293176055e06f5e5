//! `siteproof client upload` killed at random moments and run again at once: every rerun
//! completes the upload, whatever the server was still doing with the killed client's chunk.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

const KILLS: usize = 20;
const FILE_BYTES: usize = 32 << 20;

#[test]
fn an_upload_killed_at_random_moments_completes_when_run_again_at_once() {
    let seed = std::env::var("SITEPROOF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("seed {seed} (replay with SITEPROOF_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);

    let dir = tempfile::tempdir().expect("tempdir");
    let scene = laptop_with_a_visit(dir.path());
    let (data, home, visit) = (&scene.data, &scene.home, &scene.visit);

    let mut bytes = vec![0u8; FILE_BYTES];
    for round in 0..KILLS {
        rng.fill_bytes(&mut bytes);
        let footage = dir.path().join(format!("clip-{round}.mp4"));
        std::fs::write(&footage, &bytes).expect("write clip");
        let footage = footage.to_str().expect("utf-8");

        let mut first = Command::new(env!("CARGO_BIN_EXE_siteproof"))
            .args(["client", "--home", home, "upload", visit, footage])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the upload");
        std::thread::sleep(Duration::from_millis(rng.random_range(50..900)));
        first.kill().expect("SIGKILL");
        first.wait().expect("reap");

        let again = siteproof(&["client", "--home", home, "upload", visit, footage]);
        let out = text(&again);
        // The killed run may already have finished: then there is nothing left to send.
        assert!(
            again.status.success() && out.contains("0 deferred, 0 failed"),
            "round {round} (seed {seed}): the rerun did not complete: {out}"
        );
    }
    // Every file is stored once, whole, and its hash checks out.
    let verified = ok(&["admin", "--data", data, "evidence", "verify"]);
    assert!(
        verified.contains(&format!("{KILLS} piece(s) of evidence checked")),
        "{verified}"
    );
}
