//! Real tus clients upload into a Garage bucket through a server on a loopback port: the
//! core's uploader (what the apps run) and tuspy (a standard client from PyPI), each in
//! 1 MiB, 8 MiB and whole-file PATCHes. Between two PATCHes the test reads the multipart
//! state in the bucket: every part sent is at least 5 MiB whatever the chunk size. At the
//! end the object's SHA-256 is its name and its ETag shows the part layout.

mod common;
mod media_fixture;
mod s3_fixture;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use common::{RealServer, TestServer};
use media_fixture::processes::{DiskPhone, tuspy};
use media_fixture::write_pseudo_random_file;
use s3_fixture::{
    Garage, assert_staged_parts_of_at_least_5_mib, assert_stored_in_parts, chunk_ends,
};
use siteproof_core::media::UploaderConfig;
use siteproof_server::ServerConfig;
use siteproof_server::blob::{BlobLocation, BlobStore};

const MIB: u64 = 1 << 20;
/// Two whole 5 MiB parts and a short last one.
const LEN: u64 = 13 * MIB + 12_345;
const PREFIX: &str = "clients";

#[derive(Clone, Copy, Debug)]
enum Client {
    /// `siteproof_core::media::Uploader`, draining the phone's upload queue.
    Core,
    /// `tests/tuspy_upload.py`, one PATCH at a time.
    Tuspy,
}

/// Reads the uploads' multipart states between two PATCHes (from a blocking thread).
#[derive(Clone)]
struct PartCheck {
    storage: std::sync::Arc<dyn siteproof_server::SyncStorage>,
    runtime: tokio::runtime::Handle,
}

impl PartCheck {
    /// Asserts every part sent so far is at least 5 MiB; returns how many there are.
    fn between_patches(&self) -> usize {
        self.runtime
            .block_on(assert_staged_parts_of_at_least_5_mib(self.storage.as_ref()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_uploader_in_1_mib_8_mib_and_whole_file_chunks_sends_parts_of_at_least_5_mib() {
    uploads_by(Client::Core).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspy_in_1_mib_8_mib_and_whole_file_chunks_sends_parts_of_at_least_5_mib() {
    uploads_by(Client::Tuspy).await;
}

async fn uploads_by(client: Client) {
    let garage = Garage::start();
    let config = ServerConfig {
        blobs: BlobLocation::S3(garage.location(PREFIX)),
        ..ServerConfig::default()
    };
    let server = TestServer::with_config(config).await;
    let listening = RealServer::start(&server).await;
    let endpoint = listening.url("/v1/uploads");
    let store = garage.store(PREFIX);
    let check = PartCheck {
        storage: std::sync::Arc::clone(&server.state.storage),
        runtime: tokio::runtime::Handle::current(),
    };
    let mut phone = DiskPhone::enroll(&server, "g1").await;
    for (seed, chunk) in [(11, MIB), (21, 8 * MIB), (31, LEN)] {
        let file = phone.dir.path().join(format!("clip-{seed}.mp4"));
        let hash = write_pseudo_random_file(&file, LEN, seed);
        let (visit, media_ref) = phone.capture_and_sync(&server, &file).await;
        assert_eq!(media_ref.hash.as_str(), hash);
        let (endpoint, check) = (endpoint.clone(), check.clone());
        let chunk = usize::try_from(chunk).expect("chunk");
        let (back, parts_seen) = tokio::task::spawn_blocking(move || {
            let parts = match client {
                Client::Core => core_upload(&mut phone, &endpoint, chunk, &check),
                Client::Tuspy => {
                    let mut tuspy =
                        tuspy(&endpoint, &phone.token, visit.as_str(), &hash, &file, chunk);
                    tuspy_upload(tuspy.arg("--step"), &check)
                }
            };
            (phone, parts)
        })
        .await
        .expect("upload");
        phone = back;

        if (chunk as u64) < LEN {
            assert!(
                parts_seen >= 1,
                "{client:?}, chunk {chunk}: no part was sent before the last PATCH"
            );
        }
        let data = std::fs::read(phone.dir.path().join(format!("clip-{seed}.mp4"))).expect("read");
        // 1 MiB chunks: two 5 MiB parts (each from a tail that reached 5 MiB) and the rest;
        // 8 MiB chunks or the whole file: an 8 MiB part and the rest.
        let ends = chunk_ends(LEN, chunk as u64);
        assert_eq!(
            assert_stored_in_parts(&store, &media_ref.hash, &data, &ends).await,
            if chunk as u64 == MIB { 3 } else { 2 },
            "{client:?}, chunk {chunk}"
        );
        let meta = store.blob_meta(&media_ref.hash).await.expect("meta");
        assert_eq!(meta.map(|m| m.size), Some(LEN), "the server knows the blob");
    }
}

/// Drains the phone's upload queue with the core's uploader in `chunk`-byte PATCHes,
/// checking the bucket after each acknowledged one but the last. Returns the most parts seen.
fn core_upload(phone: &mut DiskPhone, endpoint: &str, chunk: usize, check: &PartCheck) -> usize {
    let mut config = UploaderConfig::new(endpoint, &phone.token);
    config.chunk_size = chunk;
    // Every PATCH `chunk` bytes: the parts asserted follow from that size.
    config.max_chunk_size = chunk;
    let mut parts_seen = 0;
    let run = phone.upload_queue(config, &mut |p| {
        if p.done < p.total {
            parts_seen = parts_seen.max(check.between_patches());
        }
    });
    assert_eq!(run.completed.len(), 1, "{run:?}");
    assert!(run.failed.is_empty() && run.deferred.is_empty(), "{run:?}");
    parts_seen
}

/// Runs tuspy in its step mode, checking the bucket after each PATCH but the last. Returns
/// the most parts seen.
fn tuspy_upload(tuspy: &mut std::process::Command, check: &PartCheck) -> usize {
    let mut child = tuspy
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tuspy");
    let mut input = child.stdin.take().expect("stdin");
    let output = BufReader::new(child.stdout.take().expect("stdout"));
    let mut parts_seen = 0;
    let mut uploaded = None;
    for line in output.lines() {
        let line = line.expect("line");
        if let Some(offset) = line.strip_prefix("offset ") {
            let offset: u64 = offset.parse().expect("offset");
            if offset < LEN {
                parts_seen = parts_seen.max(check.between_patches());
            }
            // Lets it send the next PATCH (it may have exited after the last one).
            let _ = input.write_all(b"\n").and_then(|()| input.flush());
        } else if line.starts_with("uploaded ") {
            uploaded = Some(line);
        }
    }
    let out = child.wait_with_output().expect("tuspy exit");
    assert!(
        out.status.success(),
        "tuspy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uploaded = uploaded.expect("tuspy's closing line");
    assert!(uploaded.ends_with(&format!(" {LEN}")), "{uploaded}");
    parts_seen
}
