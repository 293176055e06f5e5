//! The uploader: drains the upload queue to a tus 1.0.0 server, one chunk at a time.
//!
//! Each chunk goes up as a `PATCH` with an `Upload-Checksum` (CRC-32C when the server lists it
//! in `Tus-Checksum-Algorithm` on its `HEAD` answer, SHA-256 otherwise: `checksum.rs` says
//! why a CRC is enough beside the whole-file hash), and the offset the server acknowledges is written to the queue before the next chunk is sent (its checksum is
//! computed on a thread of its own while the chunk before it travels; its body is read from
//! the file as it is sent, so no chunk is held in memory: `tus_body.rs`). After a crash,
//! a lost connection or a restarted server, the next run asks the server (`HEAD`) where the
//! upload stands and goes on from there: at most the one chunk in flight is sent again.
//!
//! Within a run, a transient failure (a network error, or the server answering 423, 429,
//! 502, 503 or 504, for example while it still finishes a request of a client that died) is
//! retried with exponential backoff a bounded number of times, each time after asking the
//! server where the upload stands, before the item is deferred to a later run.

use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, HeaderValue, LOCATION};

use super::checksum::{ChecksumAlgorithm, UploadChecksum};
use super::tus_body::ChunkSender;
pub use super::tus_config::{UploadRun, UploaderConfig};
use super::{MediaReader, MediaStore, Network, UploadItem, UploadProgress};
use crate::Store;
use crate::error::{Error, Result};

const TUS_VERSION: &str = "1.0.0";
/// Consecutive checksum failures of one chunk before the run gives up on that item.
const MAX_CHUNK_RETRIES: u32 = 5;
/// Creations and offset look-ups of one item in one run.
const MAX_LOOKUPS: u32 = 24;
/// The longest wait between two tries after a transient failure.
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// A tus 1.0.0 client over the store's upload queue.
pub struct Uploader {
    config: UploaderConfig,
    http: Client,
    chunks: ChunkSender,
    /// The headers of every request: the token and the protocol version.
    headers: HeaderMap,
}

/// How one item's upload ended.
enum Outcome {
    Done,
    /// Worth another try soon, within this run (network error, busy server).
    Retry(String),
    Deferred(String),
    Failed(String),
}

/// Transient failures of one item in one run, with the backoff between tries.
struct Transient {
    failures: u32,
    max: u32,
    next_wait: Duration,
}

impl Transient {
    fn new(config: &UploaderConfig) -> Self {
        Self {
            failures: 0,
            max: config.transient_retries,
            next_wait: config.retry_backoff,
        }
    }

    /// Counts a failure: waits and returns `None` to try again, or defers the item once too
    /// many failures came in a row.
    fn failed(&mut self, why: String) -> Option<Outcome> {
        self.failures += 1;
        if self.failures > self.max {
            return Some(Outcome::Deferred(why));
        }
        tracing::debug!(failures = self.failures, %why, "upload: retrying after a transient failure");
        std::thread::sleep(self.next_wait);
        self.next_wait = (self.next_wait * 2).min(MAX_BACKOFF);
        None
    }

    /// Progress was made: the next failure starts the count again.
    fn succeeded(&mut self, config: &UploaderConfig) {
        *self = Self::new(config);
    }
}

impl Uploader {
    /// Builds the HTTP client.
    pub fn new(config: UploaderConfig) -> Result<Self> {
        let http = Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(None)
            .build()
            .map_err(net)?;
        let chunks = ChunkSender::new(config.connect_timeout)?;
        let headers = base_headers(&config.token)?;
        Ok(Self {
            config,
            http,
            chunks,
            headers,
        })
    }

    /// Uploads every pending item that `network` allows, oldest first, reporting progress
    /// after each acknowledged chunk. Stops at the next chunk boundary once `cancel` is set
    /// (returning [`Error::Cancelled`]); the queue keeps what was acknowledged.
    pub fn run(
        &self,
        store: &mut Store,
        media: &MediaStore,
        network: Network,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(&UploadProgress),
    ) -> Result<UploadRun> {
        store.check_media(media)?;
        let mut run = UploadRun::default();
        for item in store.pending_uploads()? {
            if !item.policy.allows(network) {
                run.waiting_for_unmetered += 1;
                continue;
            }
            let hash = item.hash.clone();
            match self.upload(store, media, item, cancel, progress, &mut run)? {
                Outcome::Done => {
                    store.mark_media_verified(&hash)?;
                    run.completed.push(hash);
                }
                Outcome::Deferred(why) | Outcome::Retry(why) => {
                    store.record_upload_error(&hash, &why, false)?;
                    run.deferred.push((hash, why));
                }
                Outcome::Failed(why) => {
                    store.record_upload_error(&hash, &why, true)?;
                    run.failed.push((hash, why));
                }
            }
        }
        Ok(run)
    }

    fn upload(
        &self,
        store: &mut Store,
        media: &MediaStore,
        item: UploadItem,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(&UploadProgress),
        run: &mut UploadRun,
    ) -> Result<Outcome> {
        // In an encrypted store the readers decrypt one segment at a time: the server and
        // the hash see the plaintext, memory stays a few pieces of a chunk (`tus_body.rs`).
        let Some(mut file) = media.open_original(&item.hash)? else {
            return Ok(Outcome::Failed(
                "original is no longer on this device".into(),
            ));
        };
        let mut url = item.upload_url.clone();
        let mut offset;
        let mut retries = 0;
        let mut lookups = 0;
        let mut transient = Transient::new(&self.config);
        // The next chunk's checksum, computed on a thread of its own while this one is sent.
        let mut ahead: Option<HashAhead> = None;
        let mut sizes = PatchSizes::new(&self.config);
        // What the server checks chunks with, from its HEAD answer (always asked first).
        let mut algorithm: ChecksumAlgorithm;
        loop {
            // Find where the server stands: create the upload, or ask it. A server that keeps
            // moving the offset under us is left for a later run rather than chased forever.
            lookups += 1;
            if lookups > MAX_LOOKUPS {
                return Ok(Outcome::Deferred(
                    "the server's offset keeps changing".into(),
                ));
            }
            let Some(u) = url.clone() else {
                match self.create(&item)? {
                    Ok((created, at)) => {
                        store.set_upload_url(&item.hash, Some(&created))?;
                        url = Some(created);
                        offset = at;
                        run.resumed_from.push((item.hash.clone(), at));
                    }
                    Err(Outcome::Retry(why)) => match transient.failed(why) {
                        Some(outcome) => return Ok(outcome),
                        None => continue,
                    },
                    Err(outcome) => return Ok(outcome),
                }
                if offset >= item.size {
                    return Ok(Outcome::Done);
                }
                continue;
            };
            match self.offset_of(&u)? {
                Ok(Some(position)) => {
                    offset = position.offset;
                    algorithm = position.algorithm;
                    run.checked_with.push((item.hash.clone(), algorithm));
                }
                Ok(None) => {
                    // Expired or terminated on the server: start over.
                    store.set_upload_url(&item.hash, None)?;
                    url = None;
                    continue;
                }
                Err(Outcome::Retry(why)) => match transient.failed(why) {
                    Some(outcome) => return Ok(outcome),
                    None => continue,
                },
                Err(outcome) => return Ok(outcome),
            }
            run.resumed_from.push((item.hash.clone(), offset));
            store.set_upload_offset(&item.hash, offset)?;
            // Send chunks until done or something needs a fresh look at the server.
            loop {
                if offset >= item.size {
                    return Ok(Outcome::Done);
                }
                if cancel.load(Ordering::Relaxed) {
                    return Err(Error::Cancelled);
                }
                // The chunk hashed ahead while the previous one was sent, if it starts here
                // (its length was chosen then), else one of the size PATCHes have now.
                let ahead_here = ahead
                    .take()
                    .filter(|next| next.offset == offset && next.algorithm == algorithm);
                let len = match &ahead_here {
                    Some(next) => next.len,
                    None => chunk_len(&item, offset, sizes.current),
                };
                let checksum = match ahead_here.and_then(HashAhead::checksum) {
                    Some(checksum) => checksum,
                    None => chunk_checksum(&mut file, offset, len, algorithm)
                        .map_err(|e| Error::from(e).for_media(&item.hash))?,
                };
                let next = offset + len as u64;
                if next < item.size {
                    ahead = Some(HashAhead::start(
                        media,
                        &item,
                        next,
                        chunk_len(&item, next, sizes.current),
                        algorithm,
                    ));
                }
                let Some(body) = media.open_original(&item.hash)? else {
                    return Ok(Outcome::Failed(
                        "original is no longer on this device".into(),
                    ));
                };
                run.bytes_sent += len as u64;
                let mut headers = self.headers.clone();
                headers.insert(
                    reqwest::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/offset+octet-stream"),
                );
                headers.insert("Upload-Offset", HeaderValue::from(offset));
                headers.insert("Upload-Checksum", header_value(&checksum.to_string())?);
                let started = Instant::now();
                let sent = self
                    .chunks
                    .patch(self.resolve(&u)?, headers, body, offset, len as u64);
                let resp = match sent {
                    Ok(r) => r,
                    // The server may have kept part of the chunk or all of it: ask it.
                    Err(e) => {
                        sizes.failed();
                        ahead = None;
                        match transient.failed(format!("network: {e}")) {
                            Some(outcome) => return Ok(outcome),
                            None => break,
                        }
                    }
                };
                match resp.status {
                    StatusCode::NO_CONTENT | StatusCode::OK => {
                        offset = header_u64(&resp.headers, "Upload-Offset").ok_or_else(|| {
                            Error::Upload("PATCH answer lacks Upload-Offset".into())
                        })?;
                        retries = 0;
                        transient.succeeded(&self.config);
                        sizes.sent(next < item.size, started.elapsed());
                        store.set_upload_offset(&item.hash, offset)?;
                        progress(&UploadProgress {
                            hash: item.hash.clone(),
                            done: offset,
                            total: item.size,
                        });
                    }
                    // 460: the chunk arrived damaged and was discarded; send it again.
                    s if s.as_u16() == 460 && retries < MAX_CHUNK_RETRIES => {
                        retries += 1;
                        run.chunks_resent += 1;
                        sizes.failed();
                        ahead = None;
                    }
                    // 409: our offset is stale (a resend raced an ack); ask again.
                    StatusCode::CONFLICT => break,
                    StatusCode::NOT_FOUND | StatusCode::GONE => {
                        store.set_upload_url(&item.hash, None)?;
                        url = None;
                        break;
                    }
                    status => match classify(status, &resp.body) {
                        Outcome::Retry(why) => match transient.failed(why) {
                            Some(outcome) => return Ok(outcome),
                            None => break,
                        },
                        outcome => return Ok(outcome),
                    },
                }
            }
        }
    }

    /// POST: creates the upload. `Ok((url, offset))`; the offset is the size at once when the
    /// server already holds these bytes.
    fn create(&self, item: &UploadItem) -> Result<Result<(String, u64), Outcome>> {
        let metadata = [
            ("record", item.record.as_str()),
            ("sha256", item.hash.as_str()),
            ("filetype", item.mime.as_str()),
            ("filename", item.hash.as_str()),
        ]
        .iter()
        .map(|(k, v)| format!("{k} {}", B64.encode(v)))
        .collect::<Vec<_>>()
        .join(",");
        let sent = self
            .request(reqwest::Method::POST, &self.config.endpoint)
            .header("Upload-Length", item.size.to_string())
            .header("Upload-Metadata", metadata)
            .send();
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return Ok(Err(Outcome::Retry(format!("network: {e}")))),
        };
        if resp.status() != StatusCode::CREATED {
            return Ok(Err(refusal(resp)));
        }
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Upload("creation answer lacks Location".into()))?;
        // Kept as the server gave it: a relative Location still works after the server
        // moved to another address (resolved against the endpoint at each use).
        let location = location.to_owned();
        self.resolve(&location)?;
        let offset = header_u64(resp.headers(), "Upload-Offset").unwrap_or(0);
        Ok(Ok((location, offset)))
    }

    /// HEAD: where the upload stands on the server, or `None` when it is gone.
    fn offset_of(&self, url: &str) -> Result<Result<Option<Position>, Outcome>> {
        let resp = match self.request(reqwest::Method::HEAD, url).send() {
            Ok(r) => r,
            Err(e) => return Ok(Err(Outcome::Retry(format!("network: {e}")))),
        };
        match resp.status() {
            StatusCode::OK | StatusCode::NO_CONTENT => {
                let offset = header_u64(resp.headers(), "Upload-Offset")
                    .ok_or_else(|| Error::Upload("HEAD answer lacks Upload-Offset".into()))?;
                // A server that does not list its algorithms here takes SHA-256 (every
                // siteproof server does).
                let algorithm = resp
                    .headers()
                    .get("Tus-Checksum-Algorithm")
                    .and_then(|v| v.to_str().ok())
                    .and_then(ChecksumAlgorithm::preferred_in)
                    .unwrap_or(ChecksumAlgorithm::Sha256);
                Ok(Ok(Some(Position { offset, algorithm })))
            }
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(Ok(None)),
            _ => Ok(Err(refusal(resp))),
        }
    }

    /// An upload's stored location as a URL: relative ones against the endpoint.
    fn resolve(&self, location: &str) -> Result<reqwest::Url> {
        reqwest::Url::parse(&self.config.endpoint)
            .and_then(|base| base.join(location))
            .map_err(|e| Error::Upload(format!("bad upload URL: {e}")))
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::blocking::RequestBuilder {
        let url = self
            .resolve(url)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| url.to_owned());
        self.http.request(method, url).headers(self.headers.clone())
    }
}

/// Where an upload stands on the server, from its `HEAD` answer.
struct Position {
    offset: u64,
    /// The checksum the server prefers of those it lists.
    algorithm: ChecksumAlgorithm,
}

/// The headers of every request: the token and the protocol version.
fn base_headers(token: &str) -> Result<HeaderMap> {
    let mut bearer = header_value(&format!("Bearer {token}"))?;
    bearer.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, bearer);
    headers.insert("Tus-Resumable", HeaderValue::from_static(TUS_VERSION));
    Ok(headers)
}

/// [`classify`] for an answer of the blocking client.
fn refusal(resp: Response) -> Outcome {
    let status = resp.status();
    classify(status, &resp.text().unwrap_or_default())
}

/// Decides whether a refusal is worth retrying. The server's verdicts on the content (a hash
/// that does not match, a file too large, a malformed request) are final; a busy or locked
/// upload is tried again soon; anything else about timing or access (not synced yet) is left
/// for a later run.
fn classify(status: StatusCode, body: &str) -> Outcome {
    let why = format!("{status}: {}", body.chars().take(200).collect::<String>());
    match status.as_u16() {
        400 | 413 | 415 | 422 | 460 => Outcome::Failed(why),
        423 | 429 | 502 | 503 | 504 => Outcome::Retry(why),
        _ => Outcome::Deferred(why),
    }
}

/// The length of the chunk at `offset` when PATCHes are `size` bytes.
fn chunk_len(item: &UploadItem, offset: u64, size: usize) -> usize {
    (item.size - offset).min(size as u64) as usize
}

/// PATCH sizes for one file: [`UploaderConfig::chunk_size`] at first; a PATCH (but the
/// file's last) answered within [`UploaderConfig::patch_grows_below`] doubles the size (up to
/// [`UploaderConfig::max_chunk_size`]), one that took more than four times that halves it, and
/// any failure brings it back to the first size. The chunk hashed ahead keeps the size chosen
/// when its hashing started, so a change shows one chunk later.
#[derive(Debug)]
struct PatchSizes {
    first: usize,
    most: usize,
    grow_below: Duration,
    current: usize,
}

impl PatchSizes {
    fn new(config: &UploaderConfig) -> Self {
        let first = config.chunk_size.max(1);
        Self {
            first,
            most: config.max_chunk_size.max(first),
            grow_below: config.patch_grows_below,
            current: first,
        }
    }

    /// After an acknowledged PATCH; `before_the_end`: it was not the file's last, whose
    /// shortness says nothing of the link.
    fn sent(&mut self, before_the_end: bool, took: Duration) {
        if took < self.grow_below && before_the_end {
            self.current = self.current.saturating_mul(2).min(self.most);
        } else if took > self.grow_below.saturating_mul(4) {
            self.current = (self.current / 2).max(self.first);
        }
    }

    fn failed(&mut self) {
        self.current = self.first;
    }
}

/// The `Upload-Checksum` of one chunk, computed on a thread of its own from a reader of its
/// own while the chunk before it is sent. It reads the chunk in pieces, as the body does
/// when the chunk's turn comes (then from the page cache, much faster than hashing it). A
/// failure here only means the checksum is computed again before the chunk is sent, and that
/// read reports it.
struct HashAhead {
    offset: u64,
    len: usize,
    algorithm: ChecksumAlgorithm,
    thread: std::thread::JoinHandle<std::io::Result<UploadChecksum>>,
}

impl HashAhead {
    /// Size of its reads.
    const PIECE: usize = 1 << 20;

    fn start(
        media: &MediaStore,
        item: &UploadItem,
        offset: u64,
        len: usize,
        algorithm: ChecksumAlgorithm,
    ) -> Self {
        let reader = media.open_original(&item.hash).ok().flatten();
        let thread = std::thread::spawn(move || {
            let mut file =
                reader.ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))?;
            chunk_checksum(&mut file, offset, len, algorithm)
        });
        Self {
            offset,
            len,
            algorithm,
            thread,
        }
    }

    /// Waits for the checksum; `None` if it could not be computed.
    fn checksum(self) -> Option<UploadChecksum> {
        self.thread.join().ok()?.ok()
    }
}

/// The checksum of `len` bytes of `file` from `offset`, read a piece at a time.
fn chunk_checksum(
    file: &mut MediaReader,
    offset: u64,
    len: usize,
    algorithm: ChecksumAlgorithm,
) -> std::io::Result<UploadChecksum> {
    file.seek(SeekFrom::Start(offset))?;
    let mut piece = vec![0u8; HashAhead::PIECE.min(len)];
    let mut hasher = algorithm.hasher();
    let mut left = len;
    while left > 0 {
        let n = left.min(piece.len());
        file.read_exact(&mut piece[..n])?;
        hasher.update(&piece[..n]);
        left -= n;
    }
    Ok(UploadChecksum::new(algorithm, hasher.finish()))
}

fn header_value(text: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(text).map_err(|_| Error::Upload("a header the server cannot take".into()))
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.parse().ok()
}

fn net(e: reqwest::Error) -> Error {
    Error::Upload(format!("HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    fn sizes() -> PatchSizes {
        let mut config = UploaderConfig::new("http://127.0.0.1:1/v1/uploads", "token");
        config.chunk_size = MIB;
        config.max_chunk_size = 8 * MIB;
        config.patch_grows_below = Duration::from_secs(1);
        PatchSizes::new(&config)
    }

    #[test]
    fn quick_patches_double_up_to_the_largest_size() {
        let mut s = sizes();
        let quick = Duration::from_millis(200);
        let mut seen = vec![s.current];
        for _ in 0..5 {
            s.sent(true, quick);
            seen.push(s.current);
        }
        assert_eq!(seen, [1, 2, 4, 8, 8, 8].map(|n| n * MIB));
    }

    #[test]
    fn the_last_chunk_does_not_grow_and_a_slow_patch_halves() {
        let mut s = sizes();
        s.sent(true, Duration::from_millis(10));
        s.sent(true, Duration::from_millis(10));
        assert_eq!(s.current, 4 * MIB);
        // The file's last chunk (often short) says nothing of the link.
        s.sent(false, Duration::from_millis(1));
        assert_eq!(s.current, 4 * MIB);
        // Between one and four times the threshold: stays.
        s.sent(true, Duration::from_secs(3));
        assert_eq!(s.current, 4 * MIB);
        s.sent(true, Duration::from_secs(5));
        assert_eq!(s.current, 2 * MIB);
        s.sent(true, Duration::from_secs(60));
        s.sent(true, Duration::from_secs(60));
        assert_eq!(s.current, MIB, "never below the first size");
    }

    #[test]
    fn a_failure_brings_patches_back_to_the_first_size() {
        let mut s = sizes();
        for _ in 0..3 {
            s.sent(true, Duration::from_millis(10));
        }
        assert_eq!(s.current, 8 * MIB);
        s.failed();
        assert_eq!(s.current, MIB);
    }

    #[test]
    fn a_largest_size_below_the_first_keeps_every_patch_the_first_size() {
        let mut config = UploaderConfig::new("http://127.0.0.1:1/v1/uploads", "token");
        config.chunk_size = 2 * MIB;
        config.max_chunk_size = MIB;
        let mut s = PatchSizes::new(&config);
        s.sent(true, Duration::from_millis(1));
        assert_eq!(s.current, 2 * MIB);
    }
}
