//! Evidence media and the upload queue, as uniffi records.

use siteproof_core as core;
use siteproof_core::media::{self, UploadRun};

use crate::visit::GeoPoint;

/// What kind of media a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum MediaKind {
    /// A still photo.
    Photo,
    /// A video.
    Video,
    /// An audio recording.
    Audio,
}

/// What the app knows about a capture when it hands the file over.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct MediaCapture {
    /// Photo, video or audio.
    pub kind: MediaKind,
    /// MIME type, e.g. `image/jpeg` or `video/mp4`.
    pub mime: String,
    /// When it was captured (ms since the Unix epoch); now if absent.
    #[uniffi(default = None)]
    pub captured_at: Option<i64>,
    /// Where it was captured.
    #[uniffi(default = None)]
    pub location: Option<GeoPoint>,
    /// For a video: the path of a poster frame (JPEG or PNG) the platform extracted, used for
    /// the thumbnail.
    #[uniffi(default = None)]
    pub poster_path: Option<String>,
}

/// A reference from a visit to a content-addressed media file.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct MediaRef {
    /// SHA-256 of the file, 64 lowercase hex digits: its name and identity.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Photo, video or audio.
    pub kind: MediaKind,
    /// MIME type.
    pub mime: String,
    /// When it was captured (ms since the Unix epoch).
    pub captured_at: i64,
    /// Where it was captured.
    pub location: Option<GeoPoint>,
    /// The capturing device.
    pub device: String,
    /// The server id of the device that signed this reference, once signed.
    #[uniffi(default = None)]
    pub signer: Option<String>,
    /// Its Ed25519 signature over the evidence statement (128 hex digits), once signed.
    #[uniffi(default = None)]
    pub signature: Option<String>,
}

/// What the store knows about one media file.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MediaInfo {
    /// The hash.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Photo, video or audio.
    pub kind: MediaKind,
    /// MIME type.
    pub mime: String,
    /// Whether the original is still on the phone (it may be evicted once verified).
    pub original_present: bool,
    /// Whether a thumbnail was made.
    pub has_thumbnail: bool,
    /// When the server confirmed it holds these bytes (ms since the Unix epoch).
    pub verified_at: Option<i64>,
}

/// What an eviction of verified originals freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Eviction {
    /// Originals deleted.
    pub files: u32,
    /// Bytes freed.
    pub bytes: u64,
}

/// The network the phone is on now, as the platform reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Network {
    /// Wi-Fi or Ethernet: no per-byte cost.
    Unmetered,
    /// Mobile data: large files (over 50 MiB) wait.
    Metered,
    /// No connectivity: nothing is uploaded.
    Offline,
}

/// Where an item is in its upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum UploadState {
    /// Waiting, or part-way (`offset` says how far the server acknowledged).
    Pending,
    /// The server holds the whole file and verified its hash.
    Done,
    /// The server refused it for good; shown to the inspector, not retried.
    Failed,
}

/// When an item may be uploaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum UploadPolicy {
    /// On any network.
    Any,
    /// Only on an unmetered network (large footage).
    UnmeteredOnly,
}

/// One entry of the upload queue.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct UploadItem {
    /// The media file's hash.
    pub hash: String,
    /// The record that references it.
    pub record: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type.
    pub mime: String,
    /// Pending, done or failed.
    pub state: UploadState,
    /// Bytes the server has acknowledged.
    pub offset: u64,
    /// The tus upload resource once created, as the server gave it (may be relative to the
    /// server's address).
    pub upload_url: Option<String>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Network policy.
    pub policy: UploadPolicy,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// One file an upload run could not finish, and why.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct UploadProblem {
    /// The file's hash.
    pub hash: String,
    /// Why (the server's or the network's words).
    pub reason: String,
}

/// What one run of the upload queue did.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct UploadSummary {
    /// Files the server now holds, verified.
    pub completed: Vec<String>,
    /// Files left for a later run (network error, server busy).
    pub deferred: Vec<UploadProblem>,
    /// Files the server refused for good.
    pub failed: Vec<UploadProblem>,
    /// Files skipped because they wait for an unmetered network.
    pub waiting_for_unmetered: u32,
    /// Payload bytes sent, re-sent chunks included.
    pub bytes_sent: u64,
}

impl From<core::MediaKind> for MediaKind {
    fn from(k: core::MediaKind) -> Self {
        match k {
            core::MediaKind::Photo => Self::Photo,
            core::MediaKind::Video => Self::Video,
            core::MediaKind::Audio => Self::Audio,
        }
    }
}

impl From<MediaKind> for core::MediaKind {
    fn from(k: MediaKind) -> Self {
        match k {
            MediaKind::Photo => Self::Photo,
            MediaKind::Video => Self::Video,
            MediaKind::Audio => Self::Audio,
        }
    }
}

impl From<MediaCapture> for core::MediaCapture {
    fn from(c: MediaCapture) -> Self {
        Self {
            kind: c.kind.into(),
            mime: c.mime,
            captured_at: c.captured_at,
            location: c.location.map(Into::into),
            poster: c.poster_path.map(Into::into),
        }
    }
}

impl From<core::MediaRef> for MediaRef {
    fn from(m: core::MediaRef) -> Self {
        Self {
            hash: m.hash.into(),
            size: m.size,
            kind: m.kind.into(),
            mime: m.mime,
            captured_at: m.captured_at,
            location: m.location.map(Into::into),
            device: m.device.into(),
            signer: m.signature.as_ref().map(|s| s.signer.to_string()),
            signature: m.signature.map(|s| s.signature),
        }
    }
}

impl From<core::MediaInfo> for MediaInfo {
    fn from(m: core::MediaInfo) -> Self {
        Self {
            hash: m.hash.into(),
            size: m.size,
            kind: m.kind.into(),
            mime: m.mime,
            original_present: m.original_present,
            has_thumbnail: m.has_thumbnail,
            verified_at: m.verified_at,
        }
    }
}

impl From<core::Eviction> for Eviction {
    fn from(e: core::Eviction) -> Self {
        Self {
            files: e.files,
            bytes: e.bytes,
        }
    }
}

impl From<Network> for media::Network {
    fn from(n: Network) -> Self {
        match n {
            Network::Unmetered => Self::Unmetered,
            Network::Metered => Self::Metered,
            Network::Offline => Self::Offline,
        }
    }
}

impl From<media::UploadItem> for UploadItem {
    fn from(i: media::UploadItem) -> Self {
        Self {
            hash: i.hash.into(),
            record: i.record.into(),
            size: i.size,
            mime: i.mime,
            state: match i.state {
                media::UploadState::Pending => UploadState::Pending,
                media::UploadState::Done => UploadState::Done,
                media::UploadState::Failed => UploadState::Failed,
            },
            offset: i.offset,
            upload_url: i.upload_url,
            attempts: i.attempts,
            policy: match i.policy {
                media::UploadPolicy::Any => UploadPolicy::Any,
                media::UploadPolicy::UnmeteredOnly => UploadPolicy::UnmeteredOnly,
            },
            last_error: i.last_error,
        }
    }
}

impl From<UploadRun> for UploadSummary {
    fn from(r: UploadRun) -> Self {
        let problems = |list: Vec<(core::MediaHash, String)>| {
            list.into_iter()
                .map(|(hash, reason)| UploadProblem {
                    hash: hash.into(),
                    reason,
                })
                .collect()
        };
        Self {
            completed: r.completed.into_iter().map(Into::into).collect(),
            deferred: problems(r.deferred),
            failed: problems(r.failed),
            waiting_for_unmetered: u32::try_from(r.waiting_for_unmetered).unwrap_or(u32::MAX),
            bytes_sent: r.bytes_sent,
        }
    }
}

impl TryFrom<MediaRef> for core::MediaRef {
    type Error = crate::error::ApiError;
    fn try_from(m: MediaRef) -> Result<Self, Self::Error> {
        Ok(Self {
            hash: m.hash.parse()?,
            size: m.size,
            kind: m.kind.into(),
            mime: m.mime,
            captured_at: m.captured_at,
            location: m.location.map(Into::into),
            device: m.device.parse()?,
            signature: match (m.signer, m.signature) {
                (Some(signer), Some(signature)) => Some(core::evidence::EvidenceSignature {
                    signer: signer.parse()?,
                    signature,
                }),
                _ => None,
            },
        })
    }
}
