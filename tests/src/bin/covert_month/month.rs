//! The month offline: visits captured and footage imported into the one store, then what the
//! store takes on disk beside the raw captures and how fast it lists and loads.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::Rng;
use rand::rngs::StdRng;
use siteproof_core::media::{MediaStore, UploadPolicy};
use siteproof_core::{MediaCapture, MediaHash, MediaKind, RecordId, Store, Template};
use siteproof_tests::footage::{Footage, disk_usage};

use super::capture::{answer_input, finding_input};
use super::{
    ANSWERS, FINDINGS, LIST_TARGET_MS, LOAD_TARGET_MS, OVERHEAD_TARGET_PCT, Report, SAMPLES,
    p50_max_ms,
};

/// What the month left in the store.
pub struct Month {
    /// The visits, in the order they were made.
    pub visits: Vec<RecordId>,
    /// Each recording's hash and size.
    pub footage: Vec<(MediaHash, u64)>,
    /// Recordings attached to each visit that has any.
    pub recordings_of: HashMap<RecordId, usize>,
    /// What the inspector entered, in bytes: each visit's start (its JSON), each answer's
    /// value (its JSON) and note, each finding (its JSON).
    pub entered_bytes: u64,
    /// Visits started, items answered, findings recorded.
    pub captures: usize,
    /// Time spent making the visits (creation, answers, findings).
    pub capture_time: Duration,
    /// Time spent importing and attaching the recordings.
    pub import_time: Duration,
}

impl Month {
    /// Bytes of footage recorded.
    pub fn footage_bytes(&self) -> u64 {
        self.footage.iter().map(|(_, size)| size).sum()
    }
}

/// Fills `store` with `visits` visits and the recordings of `sizes`, spread over the visits
/// in order.
pub fn offline(
    store: &mut Store,
    media: &MediaStore,
    template: &Template,
    visits: usize,
    sizes: &[u64],
    rng: &mut StdRng,
) -> Month {
    let mut month = Month {
        visits: Vec::with_capacity(visits),
        footage: Vec::with_capacity(sizes.len()),
        recordings_of: HashMap::new(),
        entered_bytes: 0,
        captures: 0,
        capture_time: Duration::ZERO,
        import_time: Duration::ZERO,
    };
    for v in 0..visits {
        let t = Instant::now();
        let new = siteproof_tests::new_visit(template, &format!("企业{v}"));
        month.entered_bytes += json_len(serde_json::to_vec(&new));
        let id = store.create_visit(new).expect("create visit");
        for i in 0..ANSWERS {
            let answer = answer_input(v, i);
            month.entered_bytes += json_len(serde_json::to_vec(&answer.value))
                + answer.note.as_ref().map_or(0, |n| n.len() as u64);
            store
                .answer_item(&id, &format!("i{i}").parse().expect("item id"), answer)
                .expect("answer");
        }
        for f in 0..FINDINGS {
            let finding = finding_input(v, (v + f * 17) % ANSWERS);
            month.entered_bytes += json_len(serde_json::to_vec(&finding));
            store.add_finding(&id, finding).expect("finding");
        }
        month.capture_time += t.elapsed();
        month.captures += 1 + ANSWERS + FINDINGS;
        // Recording k belongs to visit k * visits / recordings.
        while month.footage.len() < sizes.len() && month.footage.len() * visits / sizes.len() == v {
            let size = sizes[month.footage.len()];
            let t = Instant::now();
            let hash = record_footage(store, media, &id, rng.random(), size);
            month.import_time += t.elapsed();
            month.footage.push((hash, size));
            *month.recordings_of.entry(id.clone()).or_default() += 1;
        }
        month.visits.push(id);
    }
    month
}

/// The store on disk (records database with its WAL, and the media folder) beside the raw
/// captures.
pub fn report_size(report: &mut Report, phone: &Path, db: &Path, month: &Month) {
    let (disk, _) = disk_usage(phone).expect("phone folder size");
    let mut records = 0;
    for suffix in ["", "-wal", "-shm"] {
        let file = db.with_file_name(format!(
            "{}{suffix}",
            db.file_name().expect("db name").to_string_lossy()
        ));
        records += disk_usage(&file).map_or(0, |(blocks, _)| blocks);
    }
    let (media_disk, _) = disk_usage(&phone.join("media")).expect("media folder size");
    let raw = month.entered_bytes + month.footage_bytes();
    report.value(
        "raw captures, MB (entered bytes + footage)",
        raw as f64 / 1e6,
    );
    report.value("  entered bytes, MB", month.entered_bytes as f64 / 1e6);
    report.value("store on disk, MB (records + media)", disk as f64 / 1e6);
    report.value("  records database with WAL, MB", records as f64 / 1e6);
    report.value("  media folder, MB", media_disk as f64 / 1e6);
    report.value(
        "  records database over entered bytes, %",
        (records as f64 / month.entered_bytes as f64 - 1.0) * 100.0,
    );
    report.value(
        "  media folder over footage, %",
        (media_disk as f64 / month.footage_bytes().max(1) as f64 - 1.0) * 100.0,
    );
    report.target(
        "store overhead over raw captures, %",
        (disk as f64 / raw as f64 - 1.0) * 100.0,
        OVERHEAD_TARGET_PCT,
    );
}

/// Listing every visit and loading one (from disk: the document cache is emptied first),
/// [`SAMPLES`] times each.
pub fn report_reads(report: &mut Report, store: &mut Store, month: &Month, rng: &mut StdRng) {
    let mut lists = Vec::with_capacity(SAMPLES);
    let mut listed_all = true;
    for _ in 0..SAMPLES {
        let t = Instant::now();
        let list = store.list_visits().expect("list visits");
        lists.push(t.elapsed());
        listed_all &=
            list.len() == month.visits.len() && list.iter().all(|v| v.answered as usize == ANSWERS);
    }
    let mut loads = Vec::with_capacity(SAMPLES);
    let mut loaded_whole = true;
    for n in 0..SAMPLES {
        // Every other sample loads a visit with footage, if there is one.
        let id = match month
            .recordings_of
            .keys()
            .nth(n % (month.recordings_of.len() + 1))
        {
            Some(id) if n % 2 == 0 => id.clone(),
            _ => any_visit(&month.visits, rng).clone(),
        };
        store.clear_cache();
        let t = Instant::now();
        let visit = store.visit(&id).expect("load visit");
        loads.push(t.elapsed());
        loaded_whole &= visit.answers.len() == ANSWERS
            && visit.findings.len() == FINDINGS
            && visit.media.len() == month.recordings_of.get(&id).copied().unwrap_or(0);
    }
    report.outcome(
        &format!("the list holds all {} visits, answered", month.visits.len()),
        listed_all,
    );
    report.outcome(
        "each loaded visit holds its answers, findings and recordings",
        loaded_whole,
    );
    let (p50, max) = p50_max_ms(&mut lists);
    report.target("list all visits, ms p50", p50, LIST_TARGET_MS);
    report.target("list all visits, ms max", max, LIST_TARGET_MS);
    let (p50, max) = p50_max_ms(&mut loads);
    report.target("load one visit from disk, ms p50", p50, LOAD_TARGET_MS);
    report.target("load one visit from disk, ms max", max, LOAD_TARGET_MS);
}

/// A video recording, as the camera hands it over.
fn video() -> MediaCapture {
    MediaCapture {
        kind: MediaKind::Video,
        mime: "video/mp4".into(),
        captured_at: None,
        location: None,
        poster: None,
    }
}

/// Imports `len` bytes of footage from `seed` and attaches it to `visit`, queued for upload:
/// what `Store::add_evidence` does with a file, from a stream.
fn record_footage(
    store: &mut Store,
    media: &MediaStore,
    visit: &RecordId,
    seed: u64,
    len: u64,
) -> MediaHash {
    let imported = media
        .import_reader(Footage::new(seed, len))
        .expect("import footage");
    let media_ref = store
        .record_media(media, &imported, video())
        .expect("record footage");
    store
        .attach_media(visit, &media_ref)
        .expect("attach footage");
    store
        .queue_upload(visit, &media_ref.hash, UploadPolicy::for_size(len))
        .expect("queue footage");
    media_ref.hash
}

/// A random visit of `visits`.
fn any_visit<'a>(visits: &'a [RecordId], rng: &mut StdRng) -> &'a RecordId {
    &visits[rng.random_range(0..visits.len())]
}

/// The length of a value's JSON, for counting what was entered.
fn json_len(json: serde_json::Result<Vec<u8>>) -> u64 {
    json.expect("what was entered is JSON").len() as u64
}
