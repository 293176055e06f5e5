//! Sync with the server: the wire format (always built) and, behind the `http-client` feature,
//! a blocking HTTP client that drives a store through push and pull. The store's side of a
//! round is sans-IO: [`crate::Store::prepare_sync`] and [`crate::Store::apply_sync_response`].

#[cfg(feature = "http-client")]
mod http;
pub mod wire;

#[cfg(feature = "http-client")]
pub use http::{Enrollment, SHARED_PART, SyncAccess, SyncClient, SyncSummary};
