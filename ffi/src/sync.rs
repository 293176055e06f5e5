//! The device's profile, its enrollment with a server and what a sync did, as uniffi records.

use siteproof_core as core;

use crate::template::Scope;

/// Who is capturing on this device.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Profile {
    /// The inspector's display name, recorded with every answer and finding.
    pub inspector: String,
    /// The region and group this device captures for (set by enrollment).
    pub scope: Scope,
}

/// What the server returned on enrollment. The token is kept in the store.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Enrollment {
    /// The device's id on the server.
    pub device_id: String,
    /// The device's region.
    pub region: String,
    /// The device's group.
    pub group: String,
}

/// What a sync did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
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

impl From<core::Profile> for Profile {
    fn from(p: core::Profile) -> Self {
        Self {
            inspector: p.inspector,
            scope: p.scope.into(),
        }
    }
}

impl From<Profile> for core::Profile {
    fn from(p: Profile) -> Self {
        Self {
            inspector: p.inspector,
            scope: p.scope.into(),
        }
    }
}

impl From<core::Enrollment> for Enrollment {
    // The token stays in Rust: the store keeps it, and the app has no use for it.
    fn from(e: core::Enrollment) -> Self {
        Self {
            device_id: e.device_id,
            region: e.region,
            group: e.group,
        }
    }
}

impl From<core::SyncSummary> for SyncSummary {
    fn from(s: core::SyncSummary) -> Self {
        Self {
            pushed: s.pushed,
            pulled: s.pulled,
            records_updated: s.records_updated,
            bytes_up: s.bytes_up,
            bytes_down: s.bytes_down,
            round_trips: s.round_trips,
        }
    }
}
