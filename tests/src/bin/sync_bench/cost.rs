//! `sync-bench --cost [--history N] [--rounds N]`: the server's instructions per synced change,
//! counted by callgrind, for comparing two builds on a machine whose CPU times move by a
//! quarter from one run to the next.
//!
//! The server runs under `valgrind --tool=callgrind` with instrumentation off while 20 devices
//! (four groups of five) give their visits `--history` rounds of ten answers (25 unless told:
//! 250 changes each, as [3c] finds them). Once the server is idle, instrumentation goes on,
//! every device sends `--rounds` more rounds (10 unless told) closed loop, as [3c] does, and
//! the count stops once the server is idle again (its background snapshot saves belong to the
//! phase). Prints the instructions of every server thread per synced change and per sync, and
//! keeps the callgrind file for `callgrind_annotate` (its path is printed).
//!
//! Instructions are counted in user space only: the kernel's part (`fsync`, sockets, thread
//! switches) and the cost of cache misses are not in them, so they say which build does less
//! work, not the CPU time a change costs. Thread interleavings differ between runs (how many
//! syncs share a commit), so counts differ by a little; two runs of a build show how much.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ANSWERS, CHANGES_PER_ROUND, Server, pre_made_traffic, send_rounds};

/// Devices in the counted load (four groups of five).
const DEVICES: usize = 20;
/// Rounds of ten answers each device's visit gets before the count (its history).
const HISTORY: usize = 25;
/// Rounds each device sends while counted.
const ROUNDS: usize = 10;

/// Runs the count; `args` are the command line after `--cost`.
pub(crate) fn run(args: &[String]) {
    let flag = |name: &str, default: usize| {
        args.iter().position(|a| a == name).map_or(default, |at| {
            args.get(at + 1)
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{name} N"))
        })
    };
    let (history, rounds) = (flag("--history", HISTORY), flag("--rounds", ROUNDS));
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("sync-bench --cost needs valgrind (apt install valgrind)");
        std::process::exit(2);
    }
    let out_dir = std::env::temp_dir().join("siteproof-sync-cost");
    std::fs::create_dir_all(&out_dir).expect("callgrind folder");
    let disk = tempfile::tempdir().expect("tempdir");
    let shm = tempfile::tempdir_in(super::shm_dir()).expect("tempdir in /dev/shm");
    let out_pattern = out_dir.join("callgrind.out.%p");
    let valgrind = [
        "valgrind".to_string(),
        "--tool=callgrind".to_string(),
        "--quiet".to_string(),
        "--instr-atstart=no".to_string(),
        format!("--callgrind-out-file={}", out_pattern.display()),
    ];
    println!(
        "== server under callgrind; {DEVICES} devices, {history} rounds of history, {rounds} counted =="
    );
    let server = Server::start_under(&disk.path().join("server"), &valgrind);
    let template = siteproof_tests::template(ANSWERS);
    server.publish(&template);
    let mut devices = super::visit_devices(DEVICES, shm.path(), &template, |_| &server);
    let traffic = pre_made_traffic(&mut devices, history + rounds, |_| server.url.clone());
    let pid = [server.pid];
    send_rounds(&traffic, &pid, None, 0..history);
    super::big_pull::settle(server.pid);

    control(server.pid, &["-i", "on"]);
    let (load, _) = send_rounds(&traffic, &pid, None, history..history + rounds);
    super::big_pull::settle(server.pid);
    control(server.pid, &["-d"]);
    control(server.pid, &["-i", "off"]);

    let dump = newest_dump(&out_dir, server.pid);
    let instructions = totals(&dump);
    let changes = (DEVICES * rounds * CHANGES_PER_ROUND) as f64;
    let syncs = (DEVICES * rounds) as f64;
    println!(
        "server instructions (user space, every thread) per synced change: {:.0}; per sync of {CHANGES_PER_ROUND}: {:.0} ({} changes, {:.0} changes/s under callgrind)",
        instructions as f64 / changes,
        instructions as f64 / syncs,
        changes,
        load.per_s
    );
    println!(
        "    callgrind file: {} (callgrind_annotate --inclusive=yes FILE)",
        dump.display()
    );
}

/// Runs `callgrind_control ARGS PID`.
fn control(pid: u32, args: &[&str]) {
    let status = Command::new("callgrind_control")
        .args(args)
        .arg(pid.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("callgrind_control");
    assert!(status.success(), "callgrind_control {args:?} failed");
}

/// The last dump callgrind wrote for `pid` in `dir` (dumps on request end in `.N`).
fn newest_dump(dir: &Path, pid: u32) -> PathBuf {
    let prefix = format!("callgrind.out.{pid}");
    std::fs::read_dir(dir)
        .expect("callgrind folder")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
        .expect("a callgrind dump")
}

/// The instruction count a callgrind file holds (its `totals:` or `summary:` line).
fn totals(file: &Path) -> u64 {
    let text = std::fs::read_to_string(file).expect("read the callgrind dump");
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("a totals line")
}
