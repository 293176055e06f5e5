//! Admission control for the public lead form: submissions per client address and overall,
//! counted by the server's one rate limiter.

use std::time::Duration;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::identity::rate_limit::RateLimiter;

/// Admission control for lead submissions: at most `per_address` per window from one client
/// address and `overall` per window from everyone. Addresses are held only as salted hashes,
/// only in memory, and only for one window.
pub struct LeadGate {
    per_address: usize,
    overall: usize,
    salt: [u8; 32],
    /// Keyed by the address's salted hash; `None` counts everyone.
    hits: RateLimiter<Option<[u8; 32]>>,
}

impl LeadGate {
    /// A gate with these limits.
    pub fn new(window: Duration, per_address: usize, overall: usize) -> Self {
        let mut salt = [0u8; 32];
        rand::rng().fill_bytes(&mut salt);
        Self {
            per_address,
            overall,
            salt,
            hits: RateLimiter::new(window),
        }
    }

    /// Counts a submission from `address`, or refuses it.
    pub fn admit(&self, address: &str) -> Result<()> {
        let key: [u8; 32] = Sha256::new()
            .chain_update(self.salt)
            .chain_update(address.as_bytes())
            .finalize()
            .into();
        match self
            .hits
            .admit(&[(None, self.overall), (Some(key), self.per_address)])
        {
            Ok(()) => Ok(()),
            Err(0) => Err(Error::RateLimited(
                "too many reports are arriving right now; please try again in a few minutes",
            )),
            Err(_) => Err(Error::RateLimited(
                "too many reports from this connection; please try again later",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_limits_each_address_and_everyone() {
        let gate = LeadGate::new(Duration::from_secs(600), 2, 3);
        gate.admit("10.0.0.1").expect("first");
        gate.admit("10.0.0.1").expect("second");
        assert!(matches!(gate.admit("10.0.0.1"), Err(Error::RateLimited(_))));
        gate.admit("10.0.0.2").expect("another address");
        assert!(matches!(gate.admit("10.0.0.3"), Err(Error::RateLimited(_))));
        let short = LeadGate::new(Duration::ZERO, 1, 1);
        short.admit("a").expect("first");
        short.admit("a").expect("the window has passed");
    }
}
