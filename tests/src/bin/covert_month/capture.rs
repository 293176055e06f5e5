//! What the inspector enters, and the capture thread that keeps entering it while the phone
//! syncs and uploads: each capture's time, split into waiting for the store and the capture's
//! own write, on a timeline with what else happened, so a slow one can be placed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use siteproof_core::{AnswerInput, AnswerValue, NewFinding, RecordId, Severity, Store, Template};

use super::{CAPTURE_PACE, VISITS};

/// A store shared by the capture thread and the sync, as the app's store object is.
pub type Shared = parking_lot::Mutex<Store>;

/// The store for one call. A panicked holder left it consistent on disk (every write is one
/// transaction), so a poisoned lock is taken over, as the FFI does.
pub fn lock(store: &Shared) -> parking_lot::MutexGuard<'_, Store> {
    store.lock()
}

/// An answer the inspector gives to item `item`: mostly passes, a fail every seventh, with a
/// note.
pub fn answer_input(visit: usize, item: usize) -> AnswerInput {
    AnswerInput {
        value: if item % 7 == 3 {
            AnswerValue::Fail
        } else {
            AnswerValue::Pass
        },
        note: Some(format!(
            "第{visit}家第{item}项：现场核实，负责人在场，已拍照留存"
        )),
        media: vec![],
    }
}

/// A finding about item `item`.
pub fn finding_input(visit: usize, item: usize) -> NewFinding {
    NewFinding {
        description: format!("第{visit}家：第{item}项不符合判定标准，储罐区可燃气体报警器未投用"),
        severity: if item.is_multiple_of(2) {
            Severity::Major
        } else {
            Severity::General
        },
        item: Some(format!("i{item}").parse().expect("item id")),
        location: None,
        media: vec![],
        fixed_on_spot: false,
        interim_measures: Some("责令停止作业".into()),
    }
}

/// One capture made during a phase.
#[derive(Clone, Copy)]
pub struct Capture {
    /// When it started, from the start of the phase.
    pub at: Duration,
    /// Waiting for the store (held by the sync).
    pub wait: Duration,
    /// The capture's own call, once it had the store.
    pub own: Duration,
}

impl Capture {
    /// How long the inspector waited.
    pub fn blocked(&self) -> Duration {
        self.wait + self.own
    }
}

/// What else happened during a phase, from its start: a file's upload finishing, an eviction.
pub struct Timeline {
    start: Instant,
    events: Mutex<Vec<(Duration, String)>>,
}

impl Timeline {
    /// A timeline starting now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            events: Mutex::new(Vec::new()),
        }
    }

    /// Notes that `what` happened now.
    pub fn note(&self, what: String) {
        let at = self.start.elapsed();
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((at, what));
    }

    /// Prints the events and the captures slower than `slow`, in order.
    pub fn print(&self, phase: &str, captures: &[Capture], slow: Duration) {
        let mut lines = self
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for c in captures.iter().filter(|c| c.blocked() > slow) {
            lines.push((
                c.at,
                format!(
                    "capture took {:.0} ms ({:.0} ms waiting for the store)",
                    c.blocked().as_secs_f64() * 1e3,
                    c.wait.as_secs_f64() * 1e3
                ),
            ));
        }
        lines.sort_by_key(|(at, _)| *at);
        println!("timeline of the {phase} (s from its start):");
        for (at, what) in lines {
            println!("  {:8.3}  {what}", at.as_secs_f64());
        }
    }
}

/// Runs `work` while a thread answers items of `visit` on `store` (a finding every fifth
/// capture) every [`CAPTURE_PACE`]; returns what `work` returned and every capture.
pub fn with_captures<R>(
    store: &Shared,
    visit: &RecordId,
    template: &Template,
    timeline: &Timeline,
    work: impl FnOnce() -> R,
) -> (R, Vec<Capture>) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let captures = s.spawn(|| {
            let mut captures = Vec::new();
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let item = n % template.items.len();
                let t = Instant::now();
                let at = timeline.start.elapsed();
                let mut store = lock(store);
                let wait = t.elapsed();
                if n % 5 == 4 {
                    store
                        .add_finding(visit, finding_input(VISITS, item))
                        .expect("finding during the network phase");
                } else {
                    store
                        .answer_item(
                            visit,
                            &format!("i{item}").parse().expect("item id"),
                            answer_input(n, item),
                        )
                        .expect("capture during the network phase");
                }
                drop(store);
                captures.push(Capture {
                    at,
                    wait,
                    own: t.elapsed() - wait,
                });
                std::thread::sleep(CAPTURE_PACE);
            }
            captures
        });
        let out = work();
        stop.store(true, Ordering::Relaxed);
        (out, captures.join().expect("capture thread"))
    })
}
