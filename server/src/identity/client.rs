//! The client's address, as throttling counts it: the peer of the TCP connection when the
//! server runs with connection info (`crate::serve`), [`UNKNOWN_ADDRESS`] otherwise (tests
//! that call the router directly).
//!
//! Behind a load balancer every connection comes from the balancer, so the address is taken
//! from `X-Forwarded-For`, but only when the peer is a configured trusted proxy
//! ([`TrustedProxies`], `--trusted-proxy CIDR`): then the client is the right-most address
//! in that header that is not itself a trusted proxy (each proxy appends the address it saw,
//! so entries to the left of the nearest untrusted one may be anything a client sent). From
//! any other peer forwarding headers are ignored, so a client cannot choose its own address.
//! `X-Forwarded-For` is the only header read (the `Forwarded` header of RFC 7239 is not).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;

use super::rate_limit::UNKNOWN_ADDRESS;

/// The header a trusted proxy appends the address of its client to.
pub const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// A trusted proxy's network: `CIDR` (`10.0.0.0/8`, `fd00::/8`) or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyNet(IpNet);

impl FromStr for ProxyNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        s.parse::<IpNet>()
            .map(|net| net.trunc())
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(ProxyNet)
            .map_err(|_| format!("{s:?} is no network: give an address or CIDR such as 10.0.0.0/8"))
    }
}

impl fmt::Display for ProxyNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for ProxyNet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ProxyNet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// The proxies whose `X-Forwarded-For` is believed (none by default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ProxyNet>);

impl TrustedProxies {
    /// Trusts peers in these networks.
    pub fn new(nets: Vec<ProxyNet>) -> Self {
        Self(nets)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.0.contains(&ip))
    }

    /// The client's address for a connection from `peer` carrying `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        // Every X-Forwarded-For header, in order, as one list; read from the right.
        let entries: Vec<&str> = headers
            .get_all(FORWARDED_FOR)
            .iter()
            .flat_map(|v| v.to_str().unwrap_or("").split(','))
            .collect();
        for entry in entries.iter().rev() {
            // A trusted proxy writes addresses; anything else stops the walk at the last
            // proxy that can be believed.
            let Some(ip) = parse_entry(entry) else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The client's address, for login, enrollment and lead throttling.
pub struct ClientAddr(pub String);

impl ClientAddr {
    /// The address of a request: its peer's, or the forwarded one when the peer is a trusted
    /// proxy (the app puts [`TrustedProxies`] in every request's extensions).
    pub fn of(parts: &Parts) -> Self {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return ClientAddr(UNKNOWN_ADDRESS.into());
        };
        let ip = match parts.extensions.get::<Arc<TrustedProxies>>() {
            Some(trusted) => trusted.client(peer.ip(), &parts.headers),
            None => peer.ip().to_canonical(),
        };
        ClientAddr(ip.to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn trusted(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().expect("net")).collect())
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(FORWARDED_FOR, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_peer() {
        let t = trusted(&["10.0.0.0/8", "192.168.1.7"]);
        let spoofed = forwarded(&["6.6.6.6"]);
        assert_eq!(t.client(ip("8.8.8.8"), &spoofed), ip("8.8.8.8"));
        assert_eq!(t.client(ip("10.1.2.3"), &spoofed), ip("6.6.6.6"));
        assert_eq!(t.client(ip("192.168.1.7"), &spoofed), ip("6.6.6.6"));
        assert_eq!(t.client(ip("192.168.1.8"), &spoofed), ip("192.168.1.8"));
        assert_eq!(
            TrustedProxies::default().client(ip("10.1.2.3"), &spoofed),
            ip("10.1.2.3"),
            "nothing is trusted by default"
        );
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_entry() {
        let t = trusted(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.1");
        // The client put 1.1.1.1 in front itself; the balancer appended what it saw.
        let h = forwarded(&["1.1.1.1, 2.2.2.2", "10.0.0.9"]);
        assert_eq!(t.client(peer, &h), ip("2.2.2.2"));
        assert_eq!(
            t.client(peer, &forwarded(&["[2001:db8::1]:443"])),
            ip("2001:db8::1")
        );
        assert_eq!(
            t.client(peer, &forwarded(&["::ffff:3.3.3.3"])),
            ip("3.3.3.3")
        );
        assert_eq!(
            t.client(peer, &forwarded(&["4.4.4.4, garbage, 10.0.0.5"])),
            ip("10.0.0.5"),
            "the walk stops at what no proxy writes"
        );
        assert_eq!(
            t.client(peer, &HeaderMap::new()),
            peer,
            "no header: the peer"
        );
        assert_eq!(
            t.client(peer, &forwarded(&["10.0.0.2, 10.0.0.3"])),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn networks_parse_as_cidr_or_one_address_and_bad_ones_are_named() {
        assert_eq!(
            "10.1.2.3/8".parse::<ProxyNet>().expect("net").to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            "::1".parse::<ProxyNet>().expect("net").to_string(),
            "::1/128"
        );
        let err = "10.0.0.0/33".parse::<ProxyNet>().expect_err("bad");
        assert!(err.contains("10.0.0.0/33"), "{err}");
    }
}
