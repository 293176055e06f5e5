//! Records the store holds but this version of the app cannot read.

use siteproof_core as core;

/// A record received from the server or another phone whose content this app cannot read
/// (a newer app wrote it, or a faulty one). It is kept as received, left out of every list
/// and count, and read again when an update to it arrives; sync goes on around it.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct UnreadableRecord {
    /// Record id.
    pub id: String,
    /// Its kind (`visit`, `report`, ...).
    pub kind: String,
    /// The first field that does not match, as a path from the record's root.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
    /// Since when, in milliseconds since the Unix epoch.
    pub since: i64,
}

impl From<core::UnreadableRecord> for UnreadableRecord {
    fn from(u: core::UnreadableRecord) -> Self {
        Self {
            id: u.id.into(),
            kind: u.kind,
            path: u.path,
            reason: u.reason,
            since: u.since,
        }
    }
}
