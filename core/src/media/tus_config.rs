//! Where and how the uploader sends files ([`UploaderConfig`]), what one run did
//! ([`UploadRun`]), and the store's upload call ([`Store::upload`]): the one place the tus
//! endpoint of the enrolled server is made, which the FFI, the CLI client and the demo phones
//! all use.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::checksum::ChecksumAlgorithm;
use super::tus_client::Uploader;
use super::{MediaStore, Network, UploadProgress};
use crate::Store;
use crate::error::{Error, Result};
use crate::ids::MediaHash;

/// Where and how to upload.
#[derive(Clone, Debug)]
pub struct UploaderConfig {
    /// The tus creation endpoint, e.g. `https://host/v1/uploads`.
    pub endpoint: String,
    /// The device's bearer token (the one sync uses).
    pub token: String,
    /// Bytes of the first `PATCH` of a file, and after any failure: the most a cut connection
    /// costs on a link that has just failed.
    pub chunk_size: usize,
    /// The largest `PATCH`. While PATCHes finish within `patch_grows_below` the next ones
    /// double, up to this (a fast link sends few large PATCHes, with fewer waits between
    /// them); one that takes more than four times that halves them, and a failure brings them
    /// back to `chunk_size`. Equal to `chunk_size`: every PATCH that size.
    pub max_chunk_size: usize,
    /// How quickly a full-size PATCH must be answered for the next ones to grow.
    pub patch_grows_below: Duration,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// Transient failures (network errors, a busy or locked upload) tolerated per file in
    /// one run before the file is deferred to the next run.
    pub transient_retries: u32,
    /// The wait after the first transient failure; it doubles with each further one, up to
    /// 4 s.
    pub retry_backoff: Duration,
}

impl UploaderConfig {
    /// Defaults: 8 MiB chunks growing to 128 MiB while each is answered within 1 s, 20 s to
    /// connect, no overall request timeout (a chunk may take
    /// minutes on a poor link), 6 transient failures per file with backoff from 250 ms
    /// (about 12 s of waiting in all).
    pub fn new(endpoint: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            token: token.into(),
            chunk_size: 8 << 20,
            max_chunk_size: 128 << 20,
            patch_grows_below: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(20),
            transient_retries: 6,
            retry_backoff: Duration::from_millis(250),
        }
    }
}

/// What one run of the queue did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadRun {
    /// Files the server now holds, verified.
    pub completed: Vec<MediaHash>,
    /// Files left for a later run (network error, server busy, not yet allowed), with why.
    pub deferred: Vec<(MediaHash, String)>,
    /// Files the server refused for good (e.g. their bytes do not match their hash).
    pub failed: Vec<(MediaHash, String)>,
    /// Files skipped because the network policy does not allow them now.
    pub waiting_for_unmetered: usize,
    /// Offset each upload resumed from (the server's word), for diagnostics.
    pub resumed_from: Vec<(MediaHash, u64)>,
    /// Payload bytes sent in `PATCH` bodies, re-sent chunks included.
    pub bytes_sent: u64,
    /// Chunks sent again because the server found their checksum wrong.
    pub chunks_resent: u32,
    /// The checksum each upload's chunks went with, from the server's answer as it resumed.
    pub checked_with: Vec<(MediaHash, ChecksumAlgorithm)>,
}

impl Store {
    /// The tus endpoint (`<server>/v1/uploads`) and token of the server this store enrolled
    /// with: the one place the upload URL is made.
    pub fn uploader_config(&self) -> Result<UploaderConfig> {
        let not_enrolled = || Error::NotFound {
            kind: "server enrollment",
            id: "this device".into(),
        };
        let base = self.server_url()?.ok_or_else(not_enrolled)?;
        let token = self.server_token()?.ok_or_else(not_enrolled)?;
        Ok(UploaderConfig::new(
            format!("{}/v1/uploads", base.trim_end_matches('/')),
            token,
        ))
    }

    /// Uploads every pending file `network` allows to the server this store enrolled with
    /// ([`Uploader::run`] with [`Store::uploader_config`]).
    pub fn upload(
        &mut self,
        media: &MediaStore,
        network: Network,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(&UploadProgress),
    ) -> Result<UploadRun> {
        Uploader::new(self.uploader_config()?)?.run(self, media, network, cancel, progress)
    }
}
