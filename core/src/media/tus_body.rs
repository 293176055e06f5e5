//! A `PATCH` body streamed from the media file, a piece at a time, so the uploader holds no
//! chunk in memory whatever the chunk size: its memory is a few pieces, and a chunk may be
//! as large as a cut connection may cost. The blocking HTTP client would read such a body
//! 8 KiB at a time and hand each read to its runtime's thread; here the pieces are 1 MiB,
//! read by the task that writes them to the socket, on a runtime of the uploader's own.

use std::io::{Read, Seek, SeekFrom};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

use super::MediaReader;
use crate::error::{Error, Result};

/// Size of the body's reads (and of the buffers the HTTP client writes at once).
const PIECE: usize = 1 << 20;

/// Sends chunk bodies straight from their file.
pub(super) struct ChunkSender {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

/// The server's answer to a `PATCH`: its status, headers and (for a refusal) body.
pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl ChunkSender {
    /// A sender with its own single-threaded runtime.
    pub(super) fn new(connect_timeout: std::time::Duration) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Upload(format!("uploader runtime: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .build()
            .map_err(|e| Error::Upload(format!("HTTP client: {e}")))?;
        Ok(Self { runtime, http })
    }

    /// Sends `len` bytes of `file` from `offset` as the body of a `PATCH` to `url` with
    /// `headers`. `Err` is a network failure (or the file failing mid-body).
    pub(super) fn patch(
        &self,
        url: reqwest::Url,
        headers: HeaderMap,
        mut file: MediaReader,
        offset: u64,
        len: u64,
    ) -> std::result::Result<Answer, String> {
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| format!("file: {e}"))?;
        let mut left = len;
        let pieces = std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            let n = usize::try_from(left).unwrap_or(PIECE).min(PIECE);
            let mut piece = vec![0u8; n];
            Some(match file.read_exact(&mut piece) {
                Ok(()) => {
                    left -= n as u64;
                    Ok(Bytes::from(piece))
                }
                Err(e) => {
                    left = 0;
                    Err(e)
                }
            })
        });
        let request = self
            .http
            .request(Method::PATCH, url)
            .headers(headers)
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                pieces,
            )));
        self.runtime.block_on(async {
            let resp = request.send().await.map_err(|e| e.to_string())?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = if status.is_success() {
                String::new()
            } else {
                resp.text().await.unwrap_or_default()
            };
            Ok(Answer {
                status,
                headers,
                body,
            })
        })
    }
}
