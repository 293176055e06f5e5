//! The network returns: the first sync of the month's visits, then the upload queue sending
//! every recording (on a connection of its own, as the app's uploader does), with a capture
//! thread at work on the store throughout and verified originals evicted as they come.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use siteproof_core::media::{MediaStore, Network, UploadProgress};
use siteproof_core::sync::SyncAccess;
use siteproof_core::{Error, MediaHash, Store, StoreKey};
use siteproof_tests::procstat::reset_peak;

use super::capture::{Capture, Shared, Timeline, lock, with_captures};
use super::month::Month;
use super::rounds::sync_by_rounds;
use super::{ANSWERS, CAPTURE_TARGET_MS, Report, ServerChild, p50_max_ms, phone_peak_mib};

/// The longest the evicting thread sleeps between two looks at the media table.
const EVICT_EVERY: Duration = Duration::from_millis(200);

/// Syncs, uploads and evicts, and reports every figure and outcome.
pub fn returns(
    report: &mut Report,
    store: Store,
    media: &MediaStore,
    db: &Path,
    key: &StoreKey,
    server: &ServerChild,
    month: &Month,
) {
    let template = siteproof_tests::template(ANSWERS);
    let store: Shared = parking_lot::Mutex::new(store);
    let live = lock(&store)
        .create_visit(siteproof_tests::new_visit(&template, "返网当天的企业"))
        .expect("the day's visit");
    let pid = std::process::id();

    // The first sync, with the store shared as the app shares it: a capture waits while the
    // sync holds the store for one step (as `SiteproofStore::sync` takes it), or, with
    // `COVERT_MONTH_SYNC=rounds`, for each round whole.
    reset_peak(pid);
    let timeline = Timeline::new();
    let t = Instant::now();
    let by_rounds = std::env::var("COVERT_MONTH_SYNC").is_ok_and(|v| v == "rounds");
    let (summary, captures) = with_captures(&store, &live, &template, &timeline, || {
        let summary = if by_rounds {
            sync_by_rounds(&store, &timeline)
        } else {
            let base = lock(&store).server_url().expect("url").expect("enrolled");
            let client = siteproof_core::SyncClient::new(&base).expect("client");
            client
                .sync_with(TimedSteps::new(&store, &timeline))
                .expect("first sync")
        };
        timeline.note("the sync returned".into());
        summary
    });
    let sync_time = t.elapsed();
    if by_rounds {
        println!("(the first sync ran one round at a time, the store held per round only)");
    }
    report.value("first sync of every visit, s", sync_time.as_secs_f64());
    report.value("  changes pushed", summary.pushed as f64);
    report.value("  round trips", summary.round_trips as f64);
    report.value("  bytes up, MB", summary.bytes_up as f64 / 1e6);
    report.rss("phone peak RSS, first sync, MiB", phone_peak_mib());
    report_captures(report, "sync", &captures, &timeline);
    lock(&store)
        .sync()
        .expect("sync the captures made meanwhile");
    let outbox = lock(&store).outbox_len().expect("outbox");
    report.outcome(
        "every change reached the server (outbox empty)",
        outbox == 0,
    );

    // The upload queue on its own connection, cut once and resumed; an evicting thread on a
    // third connection.
    reset_peak(pid);
    let mut uploader = Store::open_encrypted(db, key).expect("uploader's connection");
    let evictor = Store::open_encrypted(db, key).expect("evictor's connection");
    let stop = AtomicBool::new(false);
    let timeline = Timeline::new();
    let t = Instant::now();
    let ((uploads, evicted), captures) = with_captures(&store, &live, &template, &timeline, || {
        std::thread::scope(|s| {
            let evicting =
                s.spawn(|| evict_as_verified(evictor, media, server, month, &stop, &timeline));
            let uploads = upload_cut_once(&mut uploader, media, month.footage_bytes(), &timeline);
            stop.store(true, Ordering::Relaxed);
            (uploads, evicting.join().expect("evicting thread"))
        })
    });
    let upload_time = t.elapsed();
    report.value("upload every recording, s", upload_time.as_secs_f64());
    report.value(
        "  MB/s",
        month.footage_bytes() as f64 / 1e6 / upload_time.as_secs_f64(),
    );
    report.value("  cut after, MB", uploads.cut_at as f64 / 1e6);
    report.value("  resumed from, MB", uploads.resumed_from as f64 / 1e6);
    report.value("  runs of the queue", uploads.runs as f64);
    report.rss("phone peak RSS, upload, MiB", phone_peak_mib());
    report_captures(report, "upload", &captures, &timeline);
    report.value(
        "space given back by evicting verified originals, MB",
        evicted.bytes as f64 / 1e6,
    );
    report.value(
        "  time spent evicting, ms",
        evicted.time.as_secs_f64() * 1e3,
    );
    println!(
        "(the server's copy of each recording was deleted once the phone had evicted it, \
         to stay within the disk budget)"
    );

    let store = store.into_inner();
    let all_verified = month.footage.iter().all(|(hash, _)| {
        store
            .media_info(hash)
            .expect("media row")
            .is_some_and(|m| m.verified_at.is_some() && !m.original_present)
    });
    report.outcome(
        &format!(
            "all {} recordings uploaded, verified and evicted",
            month.footage.len()
        ),
        all_verified && uploads.failed == 0,
    );
    report.outcome(
        "every recording was whole on the server before the phone evicted it",
        evicted.whole_on_server == month.footage.len(),
    );
    report.outcome(
        "eviction gave back the footage's space",
        evicted.bytes >= month.footage_bytes(),
    );
    report.outcome(
        "the cut upload resumed where the server stood",
        uploads.cut_at == 0 || uploads.resumed_from > 0,
    );
}

fn report_captures(report: &mut Report, phase: &str, captures: &[Capture], timeline: &Timeline) {
    report.value(
        &format!("captures during the {phase}"),
        captures.len() as f64,
    );
    if captures.is_empty() {
        return;
    }
    let mut blocked: Vec<Duration> = captures.iter().map(Capture::blocked).collect();
    let (p50, max) = p50_max_ms(&mut blocked);
    let wait = captures.iter().map(|c| c.wait).max().unwrap_or_default();
    report.value(&format!("  capture during the {phase}, ms p50"), p50);
    report.target(
        &format!("  longest capture during the {phase}, ms"),
        max,
        CAPTURE_TARGET_MS,
    );
    report.value(
        &format!("  longest wait for the store during the {phase}, ms"),
        wait.as_secs_f64() * 1e3,
    );
    let slow = Duration::from_secs_f64(CAPTURE_TARGET_MS / 1e3);
    report.value(
        &format!("  captures over {CAPTURE_TARGET_MS} ms during the {phase}"),
        blocked.iter().filter(|b| **b > slow).count() as f64,
    );
    timeline.print(phase, captures, slow);
}

/// The app's shared store, each step the sync holds it for timed: a step longer than
/// [`LONG_STEP`] is noted on the timeline with its number (a round is a request built in a few
/// steps, then pulled records merged, then the round ended).
struct TimedSteps<'a> {
    store: &'a Shared,
    timeline: &'a Timeline,
    steps: usize,
}

/// A step of the sync this long is noted on the timeline.
const LONG_STEP: Duration = Duration::from_millis(40);

impl<'a> TimedSteps<'a> {
    fn new(store: &'a Shared, timeline: &'a Timeline) -> Self {
        Self {
            store,
            timeline,
            steps: 0,
        }
    }
}

impl SyncAccess for TimedSteps<'_> {
    fn with<R>(
        &mut self,
        step: impl FnOnce(&mut Store) -> siteproof_core::Result<R>,
    ) -> siteproof_core::Result<R> {
        self.steps += 1;
        let mut held = Duration::ZERO;
        let mut shared = self.store;
        let out = shared.with(|s| {
            let t = Instant::now();
            let out = step(s);
            held = t.elapsed();
            out
        });
        if held >= LONG_STEP {
            self.timeline.note(format!(
                "step {} of the sync held the store {:.0} ms",
                self.steps,
                held.as_secs_f64() * 1e3
            ));
        }
        out
    }

    fn part(&self) -> Option<usize> {
        (&self.store).part()
    }
}

/// What the upload runs did.
#[derive(Default)]
struct Uploads {
    runs: usize,
    /// Bytes acknowledged when the first run was cut (0: it finished first).
    cut_at: u64,
    /// The offset the run after the cut started the cut file from.
    resumed_from: u64,
    failed: usize,
}

/// Runs the upload queue until it is empty, cancelling the first run once a third of the
/// footage is acknowledged.
fn upload_cut_once(
    store: &mut Store,
    media: &MediaStore,
    total: u64,
    timeline: &Timeline,
) -> Uploads {
    let mut out = Uploads::default();
    let cancel = AtomicBool::new(false);
    let mut done: Vec<(MediaHash, u64)> = Vec::new();
    let mut cut_file: Option<MediaHash> = None;
    while !store.pending_uploads().expect("queue").is_empty() && out.runs < 5 {
        out.runs += 1;
        let mut progress = |p: &UploadProgress| {
            match done.iter_mut().find(|(h, _)| *h == p.hash) {
                Some(entry) => entry.1 = p.done,
                None => done.push((p.hash.clone(), p.done)),
            }
            if p.done == p.total {
                timeline.note(format!(
                    "{:.0} MB uploaded and verified",
                    p.total as f64 / 1e6
                ));
            }
            let acknowledged: u64 = done.iter().map(|(_, d)| d).sum();
            if cut_file.is_none() && acknowledged * 3 >= total && p.done < p.total {
                cancel.store(true, Ordering::Relaxed);
                cut_file = Some(p.hash.clone());
                out.cut_at = acknowledged;
                timeline.note(format!("upload cut at {:.0} MB", acknowledged as f64 / 1e6));
            }
        };
        match store.upload(media, Network::Unmetered, &cancel, &mut progress) {
            Ok(run) => {
                out.failed += run.failed.len();
                if let Some(cut) = &cut_file
                    && let Some((_, at)) = run.resumed_from.iter().find(|(h, _)| h == cut)
                {
                    out.resumed_from = *at;
                }
            }
            Err(Error::Cancelled) => cancel.store(false, Ordering::Relaxed),
            Err(e) => panic!("upload run failed: {e}"),
        }
    }
    out
}

/// What the evicting thread freed.
#[derive(Default)]
struct Evicted {
    bytes: u64,
    time: Duration,
    /// Recordings found whole in the server's blob folder before their copy there was deleted.
    whole_on_server: usize,
}

/// Evicts verified originals as they come until `stop`, then once more; deletes the server's
/// copy of each recording the phone evicted, after checking it is whole.
fn evict_as_verified(
    mut store: Store,
    media: &MediaStore,
    server: &ServerChild,
    month: &Month,
    stop: &AtomicBool,
    timeline: &Timeline,
) -> Evicted {
    let mut out = Evicted::default();
    let mut gone: HashSet<MediaHash> = HashSet::new();
    loop {
        let last = stop.load(Ordering::Relaxed);
        let t = Instant::now();
        let freed = store
            .evict_verified_media(media, 0)
            .expect("evict verified originals")
            .bytes;
        out.time += t.elapsed();
        out.bytes += freed;
        if freed > 0 {
            timeline.note(format!(
                "evicted {:.0} MB in {:.0} ms",
                freed as f64 / 1e6,
                t.elapsed().as_secs_f64() * 1e3
            ));
        }
        for (hash, size) in &month.footage {
            if gone.contains(hash) {
                continue;
            }
            let evicted = store
                .media_info(hash)
                .expect("media row")
                .is_some_and(|m| !m.original_present);
            if evicted {
                let blob = server.blob_path(hash);
                if std::fs::metadata(&blob).is_ok_and(|m| m.len() == *size) {
                    out.whole_on_server += 1;
                }
                // Deleted as the phone deletes an evicted original, a step at a time: one
                // unlink of gigabytes on this shared disk holds up the phone's commits, which
                // a phone does not see from a server.
                let t = Instant::now();
                let _ = siteproof_core::media::delete_large_file(&blob);
                timeline.note(format!(
                    "server copy deleted in {:.0} ms",
                    t.elapsed().as_secs_f64() * 1e3
                ));
                gone.insert(hash.clone());
            }
        }
        if last {
            return out;
        }
        std::thread::sleep(EVICT_EVERY);
    }
}
