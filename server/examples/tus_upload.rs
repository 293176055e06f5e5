//! Drains a phone store's upload queue to a tus server, as the app's upload worker would.
//!
//! `tus_upload <phone.db> <media-dir> <endpoint> <token> [chunk-bytes]` prints
//! `progress <done> <total>` after each acknowledged chunk and a closing
//! `done completed=.. deferred=.. failed=.. resumed_from=.. bytes_sent=.. resent=.. peak_rss_kib=..`
//! line (peak RSS from `/proc/self/status`, 0 where there is none).
//! Exits 0 when every item completed, 2 when some were deferred, 3 when some failed. With
//! `chunk-bytes` every PATCH is that long; without, the uploader's defaults (PATCHes growing
//! from 8 MiB while the link is fast).

use std::io::Write;
use std::sync::atomic::AtomicBool;

use siteproof_core::Store;
use siteproof_core::media::{MediaStore, Network, Uploader, UploaderConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, media_dir, endpoint, token, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: tus_upload <phone.db> <media-dir> <endpoint> <token> [chunk-bytes]".into(),
        );
    };
    let mut store = Store::open(db)?;
    let media = MediaStore::open(media_dir)?;
    let mut config = UploaderConfig::new(endpoint.clone(), token.clone());
    if let Some(chunk) = rest.first() {
        config.chunk_size = chunk.parse()?;
        config.max_chunk_size = config.chunk_size;
    }
    let uploader = Uploader::new(config)?;
    let cancel = AtomicBool::new(false);
    let mut out = std::io::stdout();
    let mut progress = |p: &siteproof_core::media::UploadProgress| {
        let _ = writeln!(out, "progress {} {}", p.done, p.total);
        let _ = out.flush();
    };
    let run = uploader.run(
        &mut store,
        &media,
        Network::Unmetered,
        &cancel,
        &mut progress,
    )?;
    for (hash, why) in run.deferred.iter().chain(&run.failed) {
        eprintln!("{hash}: {why}");
    }
    println!(
        "done completed={} deferred={} failed={} resumed_from={} bytes_sent={} resent={} peak_rss_kib={}",
        run.completed.len(),
        run.deferred.len(),
        run.failed.len(),
        run.resumed_from.first().map_or(0, |(_, o)| *o),
        run.bytes_sent,
        run.chunks_resent,
        peak_rss_kib()
    );
    let code = if !run.failed.is_empty() {
        3
    } else if !run.deferred.is_empty() {
        2
    } else {
        0
    };
    std::process::exit(code)
}

/// This process's peak resident set size (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
