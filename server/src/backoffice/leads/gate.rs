//! Admission control for the public lead form: submissions per client address and overall,
//! counted by the server's one rate limiter, in the database every process shares.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::error::{Error, Result};
use crate::identity::rate_limit::{RateLimiter, rate_key};
use crate::storage::SyncStorage;

/// Admission control for lead submissions: at most `per_address` per window from one client
/// address and `overall` per window from everyone. Addresses are counted only as salted
/// hashes, and only for one window (expired hits are deleted).
pub struct LeadGate {
    per_address: usize,
    overall: usize,
    window: Duration,
    storage: Arc<dyn SyncStorage>,
    /// The salt of address hashes, the same in every process so that they count an address
    /// under one key: derived from the installation's certificate key seed, never stored.
    salt: OnceCell<[u8; 32]>,
    hits: RateLimiter,
}

impl LeadGate {
    /// A gate with these limits, counting in `storage`'s database.
    pub fn new(
        storage: Arc<dyn SyncStorage>,
        window: Duration,
        per_address: usize,
        overall: usize,
    ) -> Self {
        Self {
            per_address,
            overall,
            window,
            hits: RateLimiter::new(storage.rate_store()),
            storage,
            salt: OnceCell::new(),
        }
    }

    async fn salt(&self) -> Result<&[u8; 32]> {
        self.salt
            .get_or_try_init(|| async {
                let seed = self.storage.certificate_key_seed().await?;
                Ok::<_, Error>(
                    Sha256::new()
                        .chain_update(b"siteproof lead gate address salt\0")
                        .chain_update(seed)
                        .finalize()
                        .into(),
                )
            })
            .await
    }

    /// Counts a submission from `address`, or refuses it.
    pub async fn admit(&self, address: &str) -> Result<()> {
        let hash = Sha256::new()
            .chain_update(self.salt().await?)
            .chain_update(address.as_bytes())
            .finalize();
        let keys = [
            rate_key("lead:all".into(), self.overall, self.window),
            rate_key(
                format!("lead:address:{}", hex::encode(hash)),
                self.per_address,
                self.window,
            ),
        ];
        match self.hits.admit(&keys).await? {
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

    #[tokio::test]
    async fn the_gate_limits_each_address_and_everyone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage: Arc<dyn SyncStorage> =
            Arc::new(crate::SqliteStorage::open(dir.path().join("siteproof.db")).expect("storage"));
        let gate = LeadGate::new(Arc::clone(&storage), Duration::from_secs(600), 2, 3);
        gate.admit("10.0.0.1").await.expect("first");
        gate.admit("10.0.0.1").await.expect("second");
        assert!(matches!(
            gate.admit("10.0.0.1").await,
            Err(Error::RateLimited(_))
        ));
        gate.admit("10.0.0.2").await.expect("another address");
        assert!(matches!(
            gate.admit("10.0.0.3").await,
            Err(Error::RateLimited(_))
        ));
        let other_process = LeadGate::new(
            Arc::new(crate::SqliteStorage::open(dir.path().join("siteproof.db")).expect("storage")),
            Duration::from_secs(600),
            2,
            3,
        );
        assert!(
            matches!(
                other_process.admit("10.0.0.2").await,
                Err(Error::RateLimited(_))
            ),
            "another process counts the same hits"
        );
        let fresh = tempfile::tempdir().expect("tempdir");
        let short = LeadGate::new(
            Arc::new(
                crate::SqliteStorage::open(fresh.path().join("siteproof.db")).expect("storage"),
            ),
            Duration::ZERO,
            1,
            1,
        );
        short.admit("a").await.expect("first");
        short.admit("a").await.expect("the window has passed");
    }
}
