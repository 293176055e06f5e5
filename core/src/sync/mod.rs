//! Sync with the server: the wire format (always built) and, behind the `http-client` feature,
//! a blocking HTTP client that drives a store through push and pull.

pub mod wire;
