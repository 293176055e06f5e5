//! A child process captures in a loop and is killed with SIGKILL at random moments of its
//! progress, 200 times; after every kill the store opens and every acknowledged capture is
//! there.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rand::Rng;
use siteproof_core::{RecordId, Store};

#[test]
fn every_acknowledged_capture_survives_sigkill_200_times() {
    let (_, mut rng) = siteproof_tests::seeded_rng("crash");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("phone.db");
    let template_file = dir.path().join("template.json");
    let template = siteproof_tests::template(12);
    std::fs::write(&template_file, serde_json::to_vec(&template).expect("json")).expect("write");

    let mut total_acked = 0;
    // Captures the rounds waited for before killing (a lower bound of `total_acked`).
    let mut required = 0;
    let mut visits: Vec<(RecordId, u64)> = Vec::new();
    for round in 0..200 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_capture-loop"))
            .arg(&db)
            .arg(&template_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn capture-loop");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Kill at a random moment of the child's own progress, not of the wall clock (a
        // loaded machine must not turn the test into one of start-up times): mostly after a
        // random number of acknowledged captures plus a random delay, so the kill lands
        // anywhere in the next capture; sometimes early, while the store opens.
        let mut lines = Vec::new();
        if rng.random_range(0..8) != 0 {
            let acks = rng.random_range(0..4u64);
            required += acks;
            let reached = |lines: &[String]| match acks {
                0 => lines.iter().any(|l| l.starts_with("visit ")),
                n => lines.iter().any(|l| *l == format!("ack {}", n - 1)),
            };
            while !reached(&lines) {
                let line = rx
                    .recv_timeout(Duration::from_secs(120))
                    .unwrap_or_else(|e| panic!("round {round}: the child stalled: {e}"));
                lines.push(line);
            }
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..30)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        reader.join().expect("reader thread");

        // Everything the child printed before it died was acknowledged by the store.
        let mut visit: Option<RecordId> = None;
        let mut acked: Option<u64> = None;
        lines.extend(rx.try_iter());
        for line in lines {
            if let Some(id) = line.strip_prefix("visit ") {
                visit = Some(id.parse().expect("visit id"));
            } else if let Some(n) = line.strip_prefix("ack ") {
                acked = Some(n.parse().expect("ack number"));
            }
        }
        let mut store = Store::open(&db).unwrap_or_else(|e| panic!("round {round}: reopen: {e}"));
        if let Some(visit) = visit {
            let count = acked.map_or(0, |n| n + 1);
            visits.push((visit, count));
            total_acked += count;
        }
        // The newest visit every round; all of them every 25 rounds and at the end.
        let check_all = round % 25 == 24;
        let from = if check_all {
            0
        } else {
            visits.len().saturating_sub(1)
        };
        for (visit, count) in &visits[from..] {
            let v = store
                .visit(visit)
                .unwrap_or_else(|e| panic!("round {round}: visit lost: {e}"));
            let found: HashSet<&str> = v
                .findings
                .values()
                .map(|f| f.description.as_str())
                .collect();
            for n in 0..*count {
                assert!(
                    found.contains(format!("capture {n}").as_str()),
                    "round {round}: acknowledged capture {n} of {visit} is missing"
                );
            }
        }
        let listed = store.list_visits().expect("list").len();
        assert!(
            listed >= visits.len(),
            "round {round}: a created visit vanished from the list"
        );
    }
    println!(
        "crash: {total_acked} acknowledged captures in {} visits survived",
        visits.len()
    );
    assert!(total_acked >= required, "{total_acked} < {required}");
    assert!(
        required > 150,
        "the seed asked for too few captures to test anything: {required}"
    );
}
