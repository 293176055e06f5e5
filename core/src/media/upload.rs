//! The upload queue's vocabulary: what is queued, in what state, under which network policy.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::ids::{MediaHash, RecordId};
use crate::model::Timestamp;

/// Files larger than this wait for an unmetered network unless the app says otherwise.
pub const LARGE_FILE_BYTES: u64 = 50 << 20;

/// The network the phone is on now, as the platform reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Network {
    /// Wi-Fi or Ethernet: no per-byte cost.
    Unmetered,
    /// Mobile data.
    Metered,
    /// No connectivity.
    Offline,
}

/// When an item may be uploaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UploadPolicy {
    /// On any network.
    Any,
    /// Only on an unmetered network (large footage).
    UnmeteredOnly,
}

impl UploadPolicy {
    /// The default for a file of `size` bytes: large files wait for Wi-Fi.
    pub fn for_size(size: u64) -> Self {
        if size > LARGE_FILE_BYTES {
            Self::UnmeteredOnly
        } else {
            Self::Any
        }
    }

    /// Whether an item under this policy may go up on `network`.
    pub fn allows(self, network: Network) -> bool {
        match (self, network) {
            (_, Network::Offline) => false,
            (Self::Any, _) => true,
            (Self::UnmeteredOnly, n) => n == Network::Unmetered,
        }
    }

    /// The code stored in the queue table.
    pub fn code(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::UnmeteredOnly => "unmetered_only",
        }
    }
}

impl FromStr for UploadPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "any" => Ok(Self::Any),
            "unmetered_only" => Ok(Self::UnmeteredOnly),
            other => Err(Error::Malformed(format!("upload policy {other:?}"))),
        }
    }
}

/// Where an item is in its upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UploadState {
    /// Waiting, or part-way: `offset` says how far the server has acknowledged.
    Pending,
    /// The server holds the whole file and verified its hash.
    Done,
    /// The server refused it for good (e.g. its hash does not match the claim); kept for the
    /// app to show, not retried.
    Failed,
}

impl UploadState {
    /// The code stored in the queue table.
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

impl FromStr for UploadState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "pending" => Ok(Self::Pending),
            "done" => Ok(Self::Done),
            "failed" => Ok(Self::Failed),
            other => Err(Error::Malformed(format!("upload state {other:?}"))),
        }
    }
}

impl fmt::Display for UploadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One queued upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadItem {
    /// The media file.
    pub hash: MediaHash,
    /// The record that references it; the server checks the upload against it.
    pub record: RecordId,
    /// Size in bytes.
    pub size: u64,
    /// MIME type, sent as the tus `filetype`.
    pub mime: String,
    /// Pending, done or failed.
    pub state: UploadState,
    /// Bytes the server has acknowledged.
    pub offset: u64,
    /// The tus upload resource, once created.
    pub upload_url: Option<String>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Network policy.
    pub policy: UploadPolicy,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Progress of one upload, as reported to the app's callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadProgress {
    /// The file.
    pub hash: MediaHash,
    /// Bytes the server has acknowledged.
    pub done: u64,
    /// The file's size.
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_files_wait_for_an_unmetered_network() {
        let policy = UploadPolicy::for_size(LARGE_FILE_BYTES + 1);
        assert_eq!(policy, UploadPolicy::UnmeteredOnly);
        assert!(!policy.allows(Network::Metered));
        assert!(policy.allows(Network::Unmetered));
        assert!(UploadPolicy::for_size(1000).allows(Network::Metered));
        assert!(!UploadPolicy::Any.allows(Network::Offline));
    }

    #[test]
    fn policy_and_state_codes_round_trip() {
        for p in [UploadPolicy::Any, UploadPolicy::UnmeteredOnly] {
            assert_eq!(p.code().parse::<UploadPolicy>().expect("parses"), p);
        }
        for s in [UploadState::Pending, UploadState::Done, UploadState::Failed] {
            assert_eq!(s.code().parse::<UploadState>().expect("parses"), s);
        }
    }
}
