//! The client's address, as throttling counts it: the peer of the TCP connection when the
//! server runs with connection info (`crate::serve`), [`UNKNOWN_ADDRESS`] otherwise (tests
//! that call the router directly).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::Extensions;
use axum::http::request::Parts;

use super::rate_limit::UNKNOWN_ADDRESS;

/// The client's address, for login, enrollment and lead throttling.
pub struct ClientAddr(pub String);

impl ClientAddr {
    /// The address recorded in a request's extensions.
    pub fn of(extensions: &Extensions) -> Self {
        ClientAddr(
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| UNKNOWN_ADDRESS.into(), |c| c.0.ip().to_string()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(&parts.extensions))
    }
}
