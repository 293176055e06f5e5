//! The server's metrics, in the Prometheus text format (`GET /metrics`). Every metric's name
//! and labels are here, one function per event; the code where an event happens calls its
//! function once. Labels take bounded values only (route templates, status codes, error
//! codes), never ids or raw paths. `docs/operations.md` lists the metrics and
//! `docs/grafana-dashboard.json` draws them.
//!
//! The recorder is process-wide (the `metrics` facade has one): [`install`] puts it in place
//! the first time a server opens, and [`render`] writes what it holds.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// HTTP requests answered, by `route` template, `method` and `status`.
pub const HTTP_REQUESTS: &str = "siteproof_http_requests_total";
/// Time to answer an HTTP request (until the response head), by `route` and `method`.
pub const HTTP_DURATION: &str = "siteproof_http_request_duration_seconds";
/// Sync rounds (`POST /v1/sync`) answered.
pub const SYNC_ROUNDS: &str = "siteproof_sync_rounds_total";
/// Sync rounds that pushed at least one change.
pub const SYNC_PUSHES: &str = "siteproof_sync_pushes_total";
/// Sync rounds that pulled at least one record.
pub const SYNC_PULLS: &str = "siteproof_sync_pulls_total";
/// Changes accepted from devices.
pub const SYNC_CHANGES_PUSHED: &str = "siteproof_sync_changes_pushed_total";
/// Records (changes or whole documents) sent to devices.
pub const SYNC_RECORDS_PULLED: &str = "siteproof_sync_records_pulled_total";
/// Sync body bytes, by `direction` (`received`, `sent`).
pub const SYNC_BYTES: &str = "siteproof_sync_bytes_total";
/// Error answers, by their `code` (the `error` field of the JSON body).
pub const REFUSALS: &str = "siteproof_refusals_total";
/// Evidence bytes accepted by tus `PATCH` requests.
pub const UPLOAD_BYTES: &str = "siteproof_upload_bytes_total";
/// tus `PATCH` requests receiving bytes now.
pub const UPLOADS_ACTIVE: &str = "siteproof_uploads_active";
/// Evidence checks, by `result` (`verified`, `unverified`, `rejected`).
pub const EVIDENCE_CHECKS: &str = "siteproof_evidence_checks_total";
/// Entries appended to the custody log, by `action`.
pub const CUSTODY_APPENDS: &str = "siteproof_custody_appends_total";
/// Records the back office's index read whole to bring itself up to date (before an office
/// page, or a region's enterprise directory build at a device's sync).
pub const OFFICE_INDEX_RECORDS: &str = "siteproof_office_index_records_total";
/// Write jobs waiting for the database's writer thread.
pub const WRITER_QUEUE: &str = "siteproof_db_writer_queue_depth";
/// Reads running on the database's read connections (at most their number).
pub const READS_ACTIVE: &str = "siteproof_db_reads_active";
/// Time of a blob store operation, by `op`.
pub const BLOB_OP_DURATION: &str = "siteproof_blob_op_duration_seconds";
/// Always 1, labelled with the build's `version` and `git` commit (`unknown` when the build
/// was not given `SITEPROOF_GIT_HASH`).
pub const BUILD_INFO: &str = "siteproof_build_info";

/// Latency buckets in seconds, from a cached read to a slow upload.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets when nothing scrapes `/metrics`.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder the first time it is called (later calls return the
/// same handle). If something else installed a recorder before, the metrics go there and
/// `/metrics` shows only the build info.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Histogram samples wait in the recorder until upkeep folds them into the buckets; a
        // server nobody scrapes would otherwise keep every sample it ever recorded.
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no metrics upkeep thread; samples are folded on scrape only");
        }
        if let Err(e) = ::metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %e, "another metrics recorder is installed; /metrics stays empty");
        }
        describe();
        ::metrics::gauge!(BUILD_INFO,
            "version" => env!("CARGO_PKG_VERSION"),
            "git" => option_env!("SITEPROOF_GIT_HASH").unwrap_or("unknown"))
        .set(1.0);
        handle
    })
}

/// The metrics in the Prometheus text format.
pub fn render() -> String {
    let handle = install();
    handle.run_upkeep();
    handle.render()
}

fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered");
    describe_histogram!(
        HTTP_DURATION,
        ::metrics::Unit::Seconds,
        "Time to answer an HTTP request"
    );
    describe_counter!(SYNC_ROUNDS, "Sync rounds answered");
    describe_counter!(SYNC_PUSHES, "Sync rounds that pushed changes");
    describe_counter!(SYNC_PULLS, "Sync rounds that pulled records");
    describe_counter!(SYNC_CHANGES_PUSHED, "Changes accepted from devices");
    describe_counter!(SYNC_RECORDS_PULLED, "Records sent to devices");
    describe_counter!(SYNC_BYTES, ::metrics::Unit::Bytes, "Sync body bytes");
    describe_counter!(REFUSALS, "Error answers by code");
    describe_counter!(
        UPLOAD_BYTES,
        ::metrics::Unit::Bytes,
        "Evidence bytes accepted"
    );
    describe_gauge!(UPLOADS_ACTIVE, "Upload requests receiving bytes now");
    describe_counter!(EVIDENCE_CHECKS, "Evidence checks by result");
    describe_counter!(CUSTODY_APPENDS, "Custody log entries appended");
    describe_counter!(
        OFFICE_INDEX_RECORDS,
        "Records the office index read whole to catch up"
    );
    describe_gauge!(WRITER_QUEUE, "Write jobs waiting for the database writer");
    describe_gauge!(
        READS_ACTIVE,
        "Reads running on the database's read connections"
    );
    describe_histogram!(
        BLOB_OP_DURATION,
        ::metrics::Unit::Seconds,
        "Time of a blob store operation"
    );
    describe_gauge!(BUILD_INFO, "Build version and commit");
}

/// An HTTP request answered. `route` is the matched route template (`/v1/media/{hash}`), or
/// `unmatched` for a path no route serves.
pub fn http_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let (route, method) = (route.to_owned(), method.to_owned());
    ::metrics::counter!(HTTP_REQUESTS,
        "route" => route.clone(), "method" => method.clone(), "status" => status.to_string())
    .increment(1);
    ::metrics::histogram!(HTTP_DURATION, "route" => route, "method" => method)
        .record(elapsed.as_secs_f64());
}

/// A sync round answered: `pushed` changes acknowledged, `pulled` records sent, and the
/// request and response body sizes.
pub fn sync_round(pushed: usize, pulled: usize, received: usize, sent: usize) {
    ::metrics::counter!(SYNC_ROUNDS).increment(1);
    if pushed > 0 {
        ::metrics::counter!(SYNC_PUSHES).increment(1);
    }
    if pulled > 0 {
        ::metrics::counter!(SYNC_PULLS).increment(1);
    }
    ::metrics::counter!(SYNC_CHANGES_PUSHED).increment(count(pushed));
    ::metrics::counter!(SYNC_RECORDS_PULLED).increment(count(pulled));
    ::metrics::counter!(SYNC_BYTES, "direction" => "received").increment(count(received));
    ::metrics::counter!(SYNC_BYTES, "direction" => "sent").increment(count(sent));
}

/// An error answer with `code`.
pub fn refusal(code: &'static str) {
    ::metrics::counter!(REFUSALS, "code" => code).increment(1);
}

/// `bytes` of evidence accepted by one `PATCH`.
pub fn upload_bytes(bytes: u64) {
    ::metrics::counter!(UPLOAD_BYTES).increment(bytes);
}

/// Counts an upload request as active until the returned guard is dropped.
pub fn upload_active() -> InFlight {
    InFlight::new(UPLOADS_ACTIVE)
}

/// Work counted in a gauge while it lives.
#[derive(Debug)]
pub struct InFlight(&'static str);

impl InFlight {
    fn new(gauge: &'static str) -> Self {
        ::metrics::gauge!(gauge).increment(1.0);
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        ::metrics::gauge!(self.0).decrement(1.0);
    }
}

/// An evidence check stored with `result`.
pub fn evidence_check(result: &'static str) {
    ::metrics::counter!(EVIDENCE_CHECKS, "result" => result).increment(1);
}

/// A custody log entry written for `action` (a short fixed word: upload, verify, view, ...).
pub fn custody_append(action: &str) {
    ::metrics::counter!(CUSTODY_APPENDS, "action" => action.to_owned()).increment(1);
}

/// The office index read `records` records whole.
pub fn office_index_records(records: usize) {
    ::metrics::counter!(OFFICE_INDEX_RECORDS).increment(records as u64);
}

/// `jobs` write jobs joined (positive) or left (negative) the writer's queue.
pub fn writer_queue(jobs: i32) {
    ::metrics::gauge!(WRITER_QUEUE).increment(f64::from(jobs));
}

/// Counts a database read as running until the returned guard is dropped.
pub fn read_active() -> InFlight {
    InFlight::new(READS_ACTIVE)
}

/// A blob store operation `op` took `elapsed`.
pub fn blob_op(op: &'static str, elapsed: Duration) {
    ::metrics::histogram!(BLOB_OP_DURATION, "op" => op).record(elapsed.as_secs_f64());
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&str] = &[
        HTTP_REQUESTS,
        HTTP_DURATION,
        SYNC_ROUNDS,
        SYNC_PUSHES,
        SYNC_PULLS,
        SYNC_CHANGES_PUSHED,
        SYNC_RECORDS_PULLED,
        SYNC_BYTES,
        REFUSALS,
        UPLOAD_BYTES,
        UPLOADS_ACTIVE,
        EVIDENCE_CHECKS,
        CUSTODY_APPENDS,
        OFFICE_INDEX_RECORDS,
        WRITER_QUEUE,
        READS_ACTIVE,
        BLOB_OP_DURATION,
        BUILD_INFO,
    ];

    /// The metric names a text mentions (`siteproof_...`), histogram suffixes removed.
    fn names_in(text: &str) -> std::collections::BTreeSet<String> {
        text.match_indices("siteproof_")
            .map(|(i, _)| {
                let name: String = text[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                ["_bucket", "_count", "_sum"].iter().fold(name, |n, s| {
                    n.strip_suffix(s).map_or(n.clone(), str::to_owned)
                })
            })
            .collect()
    }

    #[test]
    fn the_dashboard_and_the_operations_page_name_only_metrics_that_exist() {
        for (doc, text) in [
            (
                "grafana-dashboard.json",
                include_str!("../../docs/grafana-dashboard.json"),
            ),
            ("operations.md", include_str!("../../docs/operations.md")),
        ] {
            let named = names_in(text);
            assert!(!named.is_empty(), "{doc}");
            for name in &named {
                assert!(ALL.contains(&name.as_str()), "{doc} names {name}");
            }
        }
        let drawn = names_in(include_str!("../../docs/grafana-dashboard.json"));
        for name in ALL {
            assert!(drawn.contains(*name), "the dashboard does not draw {name}");
        }
    }
}
