//! Fixtures of the media tests: phones with evidence synced to the server, and tus requests
//! through `app()` with their headers.
#![allow(dead_code)]

use std::path::Path;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use siteproof_core::media::MediaStore;
use siteproof_core::*;
use tower::ServiceExt;

use crate::common::{Phone, TestServer};

pub mod cut_proxy;
pub mod processes;

/// Deterministic pseudo-random bytes (xorshift64*), fast enough for hundreds of MB.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut x = seed | 1;
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes `len` pseudo-random bytes to `path` in 1 MiB pieces; returns their SHA-256 (hex).
pub fn write_pseudo_random_file(path: &Path, len: u64, seed: u64) -> String {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut hasher = Sha256::new();
    let mut left = len;
    let mut piece = 0u64;
    while left > 0 {
        let n = left.min(1 << 20) as usize;
        let data = pseudo_random(n, seed.wrapping_add(piece));
        hasher.update(&data);
        file.write_all(&data).expect("write");
        left -= n as u64;
        piece += 1;
    }
    file.flush().expect("flush");
    hex::encode(hasher.finalize())
}

/// A phone with a media folder, enrolled in `group`.
pub struct MediaPhone {
    pub phone: Phone,
    pub media: MediaStore,
    pub dir: tempfile::TempDir,
}

impl MediaPhone {
    pub async fn enroll(server: &TestServer, group: &str) -> Self {
        let phone = Phone::enroll(server, group).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let media = MediaStore::open(dir.path().join("media")).expect("media store");
        Self { phone, media, dir }
    }

    /// Captures a visit with `bytes` as video evidence, and syncs it: the server then knows
    /// the visit references the file.
    pub async fn visit_with_evidence(
        &mut self,
        server: &TestServer,
        bytes: &[u8],
    ) -> (RecordId, MediaRef) {
        let path = self
            .dir
            .path()
            .join(format!("capture-{}.mp4", uuid::Uuid::new_v4()));
        std::fs::write(&path, bytes).expect("write capture");
        self.visit_with_file(server, &path, "video/mp4").await
    }

    pub async fn visit_with_file(
        &mut self,
        server: &TestServer,
        path: &Path,
        mime: &str,
    ) -> (RecordId, MediaRef) {
        let visit = self.phone.capture_visit("某仓库");
        let kind = if mime.starts_with("image/") {
            MediaKind::Photo
        } else {
            MediaKind::Video
        };
        let capture = MediaCapture {
            kind,
            mime: mime.into(),
            captured_at: None,
            location: None,
            poster: None,
        };
        let media_ref = self
            .phone
            .store
            .add_evidence(&visit, &self.media, path, capture)
            .expect("evidence");
        self.phone.sync_all(server, 1 << 20).await;
        (visit, media_ref)
    }
}

/// A 1000x500 PNG captured as photo evidence, synced, and uploaded in one creation request.
pub async fn upload_photo(server: &TestServer, phone: &mut MediaPhone) -> MediaRef {
    let photo = phone.dir.path().join("photo.png");
    image::RgbImage::from_pixel(1000, 500, image::Rgb([10, 200, 10]))
        .save(&photo)
        .expect("png");
    let data = std::fs::read(&photo).expect("read");
    let (visit, media_ref) = phone.visit_with_file(server, &photo, "image/png").await;
    let req = tus("POST", "/v1/uploads", &phone.phone.token)
        .header("upload-length", data.len().to_string())
        .header(
            "upload-metadata",
            metadata(visit.as_str(), media_ref.hash.as_str())
                .replace(",filetype dmlkZW8vbXA0", ",filetype aW1hZ2UvcG5n"),
        )
        .header("content-type", "application/offset+octet-stream")
        .body(Body::from(data))
        .expect("req");
    assert_eq!(send(server, req).await.status, StatusCode::CREATED);
    media_ref
}

/// Fetches the thumbnail of `hash` and checks it is the 320x160 JPEG of [`upload_photo`]'s.
pub async fn assert_photo_thumbnail(server: &TestServer, token: &str, hash: &MediaHash) {
    let thumb = send(
        server,
        tus("GET", &format!("/v1/media/{hash}/thumbnail"), token)
            .body(Body::empty())
            .expect("req"),
    )
    .await;
    assert_eq!(
        (thumb.status, thumb.header("content-type")),
        (StatusCode::OK, Some("image/jpeg"))
    );
    let img = image::load_from_memory(&thumb.body).expect("jpeg");
    assert_eq!((img.width(), img.height()), (320, 160));
}

/// A response's status, headers and body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The JSON error code of the body.
    pub fn error_code(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)));
        assert!(
            v["message"].as_str().is_some_and(|m| m.len() > 10),
            "message in {v}"
        );
        v["error"].as_str().expect("error code").to_string()
    }
}

pub async fn send(server: &TestServer, req: Request<Body>) -> Answer {
    send_to(server.app(), req).await
}

/// Sends a request to `app` (another process's, say).
pub async fn send_to(app: axum::Router, req: Request<Body>) -> Answer {
    let resp = app.oneshot(req).await.expect("infallible");
    let (parts, body) = resp.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.expect("body").to_bytes(),
    }
}

pub fn metadata(record: &str, sha256: &str) -> String {
    format!(
        "record {},sha256 {},filetype {}",
        B64.encode(record),
        B64.encode(sha256),
        B64.encode("video/mp4")
    )
}

pub fn checksum(data: &[u8]) -> String {
    format!("sha256 {}", B64.encode(Sha256::digest(data)))
}

/// A tus request with the token and `Tus-Resumable`.
pub fn tus(method: &str, uri: &str, token: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("tus-resumable", "1.0.0")
}

/// `POST /v1/uploads` for `len` bytes.
pub async fn create(
    server: &TestServer,
    token: &str,
    record: &str,
    sha256: &str,
    len: u64,
) -> Answer {
    let req = tus("POST", "/v1/uploads", token)
        .header("upload-length", len.to_string())
        .header("upload-metadata", metadata(record, sha256))
        .body(Body::empty())
        .expect("request");
    send(server, req).await
}

/// `PATCH` of `data` at `offset` with its checksum.
pub async fn patch(
    server: &TestServer,
    token: &str,
    location: &str,
    offset: u64,
    data: &[u8],
) -> Answer {
    let req = tus("PATCH", location, token)
        .header("content-type", "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .header("upload-checksum", checksum(data))
        .body(Body::from(data.to_vec()))
        .expect("request");
    send(server, req).await
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).expect("under").display().to_string());
            }
        }
    }
    out.sort();
    out
}
