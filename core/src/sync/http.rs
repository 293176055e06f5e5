//! The blocking HTTP sync client (feature `http-client`): enrollment, then `sync()` rounds of
//! push + pull until nothing is left. Each round is applied in one transaction, so a sync cut
//! off at any point leaves the store consistent and the next call completes it.

use std::ops::ControlFlow;
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::wire::{self, SyncRequest, SyncResponse};
use crate::error::{Error, Result};
use crate::evidence::EvidenceKey;
use crate::ids::DeviceId;
use crate::model::Scope;
use crate::store::{
    MAX_PUSH_BYTES, MAX_PUSH_RECORDS, PreparedRecord, Profile, PulledPage, Store, collect_pending,
    next_page_request,
};
use crate::sync::wire::PulledRecord;
use automerge::ActorId;

/// A guard against a server that always says `more`.
const MAX_ROUNDS: usize = 10_000;

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    /// Changes pushed and acknowledged.
    pub pushed: u64,
    /// Records received.
    pub pulled: u64,
    /// Local records that changed because of what was received.
    pub records_updated: u64,
    /// Request bytes sent.
    pub bytes_up: u64,
    /// Response bytes received.
    pub bytes_down: u64,
    /// HTTP round trips.
    pub round_trips: u64,
}

/// What the server returns on enrollment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// The device's id on the server.
    pub device_id: String,
    /// The bearer token; shown once, kept in the store.
    pub token: String,
    /// The device's region.
    pub region: String,
    /// The device's group.
    pub group: String,
    /// The server's epoch.
    pub epoch: String,
    /// The device certificate for peer sync, hex (servers before peer sync send none).
    #[serde(default)]
    pub certificate: Option<String>,
    /// The server's certificate key, hex.
    #[serde(default)]
    pub server_key: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    message: String,
}

/// Talks to one sync server.
pub struct SyncClient {
    http: reqwest::blocking::Client,
    base: String,
}

impl SyncClient {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str) -> Result<Self> {
        Ok(Self {
            http: shared_http()?,
            base: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Enrolls the store's device with a one-time code, and keeps the server, token and
    /// scope in the store. The inspector name is kept as it is.
    ///
    /// A new evidence key is made for the enrollment: its public half goes to the server with
    /// the code, and once enrolled the device signs its captures (and those it made before)
    /// with it.
    pub fn enroll(&self, store: &mut Store, code: &str, device_name: &str) -> Result<Enrollment> {
        let key = EvidenceKey::generate();
        let body = serde_json::json!({
            "code": code,
            "device_name": device_name,
            "public_key": hex::encode(key.public_key()),
        });
        let resp = self
            .http
            .post(format!("{}/v1/enroll", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .map_err(network)?;
        let enrollment: Enrollment = serde_json::from_slice(&checked(resp)?)?;
        let signer: DeviceId = enrollment.device_id.parse()?;
        let inspector = store.profile()?.inspector;
        store.set_profile(&Profile {
            inspector,
            scope: Scope::group(enrollment.region.clone(), enrollment.group.clone()),
        })?;
        store.set_server(&self.base, &enrollment.token)?;
        store.set_evidence_identity(&key, &signer)?;
        store.write_as_device(&signer)?;
        if let (Some(cert), Some(server_key)) = (&enrollment.certificate, &enrollment.server_key) {
            let malformed = || Error::Malformed("enrollment certificate".into());
            let cert = hex::decode(cert).map_err(|_| malformed())?;
            let server_key: [u8; 32] = hex::decode(server_key)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(malformed)?;
            store.set_peer_trust(&cert, &server_key)?;
        }
        Ok(enrollment)
    }

    /// Pushes the outbox and pulls what changed, in as many rounds as needed (one in the
    /// common case). Safe to call at any time.
    pub fn sync(&self, store: &mut Store) -> Result<SyncSummary> {
        self.sync_with(store)
    }

    /// [`SyncClient::sync`] on a store reached through `store` ([`SyncAccess`]): a store
    /// shared with captures is taken for one step at a time, never across a network wait.
    pub fn sync_with(&self, mut store: impl SyncAccess) -> Result<SyncSummary> {
        let (token, actor) = store.with(|s| Ok((s.server_token()?, s.actor_id().clone())))?;
        let token = token.ok_or_else(|| Error::NotFound {
            kind: "server enrollment",
            id: "this device".into(),
        })?;
        let mut summary = SyncSummary::default();
        let mut repaired = false;
        // On a shared store captures go on meanwhile: once everything is pulled and what
        // waited when the sync began is pushed, the sync ends, and later captures go with
        // the next one (else a steady stream of captures could keep it going).
        let mut waiting = store.with(|s| s.outbox_len())?;
        std::thread::scope(|scope| {
            // The next page, asked for while this one is merged.
            let mut ahead = None;
            for _ in 0..MAX_ROUNDS {
                let fetched = match ahead.take() {
                    Some(asked) => joined(asked, &mut summary),
                    None => {
                        let request = prepare_request(&mut store, workers())?;
                        self.round(&token, &request, &mut summary)
                    }
                };
                let response = match fetched {
                    Ok(response) => response,
                    // The server lacks history our changes build on: it lost data (restored
                    // from a backup). Offer it everything we hold, once, and go on.
                    Err(Error::Server { code, .. })
                        if code == "missing_dependencies" && !repaired =>
                    {
                        tracing::warn!(
                            "server lacks history of our changes; re-sending everything"
                        );
                        store.with(Store::requeue_everything)?;
                        waiting = summary.pushed + store.with(|s| s.outbox_len())?;
                        repaired = true;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                // The cursor stored moves only once this page is merged: the page asked for
                // ahead is merged after it, or (if the sync stops first) asked for again.
                ahead = next_page_request(&response).map(|request| {
                    let token = &token;
                    scope.spawn(move || {
                        let mut counted = SyncSummary::default();
                        (self.round(token, &request, &mut counted), counted)
                    })
                });
                let round = match store.part() {
                    None => store.with(|s| s.apply_sync_response(response))?,
                    Some(part) => {
                        let mut page = PulledPage::new(response);
                        let records = page.take_records();
                        merge_prepared(&mut store, &mut page, records, part, &actor)?;
                        store.with(|s| s.finish_pulled_page(page))?
                    }
                };
                summary.pushed += round.pushed;
                summary.pulled += round.pulled;
                summary.records_updated += round.updated;
                if !round.again || (!round.more_to_pull && summary.pushed >= waiting) {
                    return Ok(summary);
                }
            }
            Err(Error::Network(format!(
                "sync did not settle after {MAX_ROUNDS} rounds"
            )))
        })
    }

    fn round(
        &self,
        token: &str,
        request: &SyncRequest,
        summary: &mut SyncSummary,
    ) -> Result<SyncResponse> {
        let body = wire::encode(request);
        summary.bytes_up += body.len() as u64;
        summary.round_trips += 1;
        let resp = self
            .http
            .post(format!("{}/v1/sync", self.base))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, wire::CONTENT_TYPE)
            .body(body)
            .send()
            .map_err(network)?;
        let bytes = checked(resp)?;
        summary.bytes_down += bytes.len() as u64;
        wire::decode(&bytes)
    }
}

/// The answer to a request sent ahead, its bytes and round trip counted in `summary`.
fn joined(
    asked: std::thread::ScopedJoinHandle<'_, (Result<SyncResponse>, SyncSummary)>,
    summary: &mut SyncSummary,
) -> Result<SyncResponse> {
    match asked.join() {
        Ok((response, counted)) => {
            summary.bytes_up += counted.bytes_up;
            summary.bytes_down += counted.bytes_down;
            summary.round_trips += counted.round_trips;
            response
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Merges a page's `records` into a shared store `part` records per step, in their order:
/// worker threads load and check each part ([`PreparedRecord::new`]) while the store writes
/// the one before, so the store is held only for the writes, and a phone's other cores do the
/// Automerge work. At most two parts wait prepared, which bounds the memory of loaded
/// documents whatever the page's size.
fn merge_prepared(
    store: &mut impl SyncAccess,
    page: &mut PulledPage,
    records: Vec<PulledRecord>,
    part: usize,
    actor: &ActorId,
) -> Result<()> {
    let part = part.max(1);
    let workers = workers();
    std::thread::scope(|scope| {
        let (ready, parts) = std::sync::mpsc::sync_channel::<Vec<PreparedRecord>>(1);
        scope.spawn(move || {
            let mut records = records.into_iter();
            loop {
                let next: Vec<PulledRecord> = records.by_ref().take(part).collect();
                // An empty part ends the page; a failed send, a merge that stopped.
                if next.is_empty() || ready.send(prepare(next, actor, workers)).is_err() {
                    return;
                }
            }
        });
        for prepared in parts {
            store.with(|s| s.merge_prepared_part(page, prepared))?;
        }
        Ok(())
    })
}

/// Threads that make records ready at most.
const MAX_WORKERS: usize = 4;

/// Threads that make records ready: the phone's cores, at most [`MAX_WORKERS`].
fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_WORKERS))
}

/// Prepares `records` on up to `workers` threads, keeping their order.
fn prepare(records: Vec<PulledRecord>, actor: &ActorId, workers: usize) -> Vec<PreparedRecord> {
    crate::parallel::map_in_order(records, workers, |r| PreparedRecord::new(r, actor))
}

/// The next request, built on a store reached through `store` a step at a time: the records
/// to push listed, their changes read a few records per step and made ready on `workers`
/// threads between the steps (loading a record and taking its changes out is Automerge's
/// work, milliseconds a record on a phone, and needs no store), then the cursor. A capture
/// waits for one step's reads at most, however many records go up. With nothing to push (a
/// pull's rounds) the request is made in the first step.
fn prepare_request(store: &mut impl SyncAccess, workers: usize) -> Result<SyncRequest> {
    let first = store.with(|s| {
        let records = s.pending_records(MAX_PUSH_RECORDS)?;
        Ok(if records.is_empty() {
            ControlFlow::Break(s.request_pushing(Vec::new())?)
        } else {
            ControlFlow::Continue(records)
        })
    })?;
    let records = match first {
        ControlFlow::Continue(records) => records,
        ControlFlow::Break(request) => return Ok(request),
    };
    let pending = collect_pending(records, MAX_PUSH_BYTES, workers, |batch| {
        store.with(|s| s.read_pending(batch))
    })?;
    store.with(|s| s.request_pushing(pending))
}

/// How a sync reaches the store: one it has to itself (`&mut Store`: each round applied in
/// one transaction), or one shared with captures behind a lock
/// (`&parking_lot::Mutex<Store>`), which the sync takes for one step at a time: building a
/// request, merging [`SHARED_PART`] pulled records, ending the round, and hands over fairly
/// after each (a thread waiting for the store gets it before the sync's next step; a plain
/// mutex lets the releasing thread take it back at once, and a capture could wait for the
/// whole sync). A capture so waits for one step at most, never for the network or a whole
/// page of thousands of records.
pub trait SyncAccess {
    /// Runs `step` on the store.
    fn with<R>(&mut self, step: impl FnOnce(&mut Store) -> Result<R>) -> Result<R>;
    /// How many pulled records one step merges; `None`: a round's in one transaction.
    fn part(&self) -> Option<usize>;
}

/// Pulled records one step of a sync on a shared store merges (a few tens of milliseconds on
/// a phone).
pub const SHARED_PART: usize = 50;

impl SyncAccess for &mut Store {
    fn with<R>(&mut self, step: impl FnOnce(&mut Store) -> Result<R>) -> Result<R> {
        step(self)
    }

    fn part(&self) -> Option<usize> {
        None
    }
}

impl SyncAccess for &parking_lot::Mutex<Store> {
    fn with<R>(&mut self, step: impl FnOnce(&mut Store) -> Result<R>) -> Result<R> {
        let mut store = self.lock();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| step(&mut store))) {
            Ok(result) => {
                parking_lot::MutexGuard::unlock_fair(store);
                result
            }
            Err(panic) => {
                // A step that panicked may have left cached documents ahead of the database.
                store.clear_cache();
                drop(store);
                std::panic::resume_unwind(panic)
            }
        }
    }

    fn part(&self) -> Option<usize> {
        Some(SHARED_PART)
    }
}

impl Store {
    /// Syncs with the server this store enrolled with.
    pub fn sync(&mut self) -> Result<SyncSummary> {
        let base = self.server_url()?.ok_or_else(|| Error::NotFound {
            kind: "server enrollment",
            id: "this device".into(),
        })?;
        SyncClient::new(&base)?.sync(self)
    }
}

/// One HTTP client for the process: building one loads the TLS roots and costs milliseconds
/// of CPU, and a shared one keeps connections alive between syncs.
fn shared_http() -> Result<reqwest::blocking::Client> {
    static HTTP: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    if let Some(client) = HTTP.get() {
        return Ok(client.clone());
    }
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| Error::Network(e.to_string()))?;
    Ok(HTTP.get_or_init(|| client).clone())
}

fn network(e: reqwest::Error) -> Error {
    Error::Network(e.to_string())
}

/// The body of a 2xx response, or the server's error.
fn checked(resp: reqwest::blocking::Response) -> Result<Vec<u8>> {
    let status = resp.status();
    let bytes = resp.bytes().map_err(network)?.to_vec();
    if status.is_success() {
        return Ok(bytes);
    }
    let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(body) => (body.error, body.message),
        Err(_) => (
            "unknown".into(),
            String::from_utf8_lossy(&bytes).chars().take(200).collect(),
        ),
    };
    Err(Error::Server {
        status: status.as_u16(),
        code,
        message,
    })
}
