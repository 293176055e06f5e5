//! Password checks through a [`WorkGate`], each in one of a fixed set of argon2 memory
//! buffers, each allocated by its first check and kept: at most `permits` checks run at once,
//! and the memory they use is at most `permits × 19 MiB` for the life of the process, never
//! more, however many logins arrive (and nothing on a server nobody has logged in to).
//! (Letting argon2 allocate per check left the freed blocks in the allocator's per-thread
//! arenas: 100 parallel checks kept ~2 GB resident.)
//!
//! Hashes are argon2id, version 0x13, m = 19 MiB (19,456 KiB), t = 2, p = 1: the OWASP
//! minimum for argon2id, about 20–40 ms on one core of a current server.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::Result;
use crate::work_gate::WorkGate;

/// A check against this (the hash of a random password) spends the same time as a real
/// one, so an unknown login cannot be told from a wrong password by timing.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YmFzZTY0c2FsdGRlY295$\
                          8l2m0h3yH1S1k5sIh0xQk9t5rj9Rk0C3pqVZC4xX3v8";

/// Checks at once and checks waiting by default: two at once (38 MiB of argon2 memory in
/// all) and 32 waiting (about half a second's worth); the 35th concurrent login gets 503.
pub const DEFAULT_CHECKS: (usize, usize) = (2, 32);

/// Checks passwords with bounded concurrency and memory.
pub struct PasswordChecker {
    gate: WorkGate,
    /// One argon2 memory area per permit.
    buffers: Mutex<Vec<Vec<Block>>>,
    /// Checks run (real and decoy), for tests and metrics.
    checks: AtomicU64,
}

impl PasswordChecker {
    /// A checker running `permits` checks at once with `queue` more waiting (more: 503).
    pub fn new(permits: usize, queue: usize) -> Self {
        let gate = WorkGate::new("password", permits, queue);
        // Empty until a check needs one: `check` grows it to the hash's memory cost.
        let buffers = (0..gate.permits()).map(|_| Vec::new()).collect();
        Self {
            gate,
            buffers: Mutex::new(buffers),
            checks: AtomicU64::new(0),
        }
    }

    /// How many password checks ran (each an argon2 computation).
    pub fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// Whether `password` matches the stored PHC string; with `None` (no such login) a
    /// decoy check of the same cost, always false.
    pub async fn verify(
        self: &std::sync::Arc<Self>,
        password: &str,
        stored: Option<String>,
    ) -> Result<bool> {
        let this = std::sync::Arc::clone(self);
        let password = password.to_owned();
        self.gate
            .run(move || {
                this.checks.fetch_add(1, Ordering::Relaxed);
                let decoy = stored.is_none();
                let stored = stored.as_deref().unwrap_or(DECOY_HASH);
                let ok = this.with_buffer(|blocks| check(password.as_bytes(), stored, blocks));
                ok && !decoy
            })
            .await
    }

    /// Runs `f` with a buffer of the pool (there is one per permit, so one is free).
    fn with_buffer(&self, f: impl FnOnce(&mut Vec<Block>) -> bool) -> bool {
        let taken = self.buffers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut buffer = taken.unwrap_or_default();
        let out = f(&mut buffer);
        self.buffers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(buffer);
        out
    }
}

/// One argon2 check of `password` against the PHC string `stored`, in `blocks`.
fn check(password: &[u8], stored: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    // A buffer's first check allocates it; a stored hash with a larger memory cost than the
    // default (set by hand) grows it.
    if blocks.len() < params.block_count() {
        blocks.resize(params.block_count(), Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let Some(area) = blocks.get_mut(..params.block_count()) else {
        return false;
    };
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, area)
        .is_ok()
        && subtle::ConstantTimeEq::ct_eq(out.as_slice(), expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn checks_match_the_stored_hash_and_count_decoys() {
        let stored = super::super::users::hash_password("正确的密码").expect("hash");
        let checker = Arc::new(PasswordChecker::new(2, 4));
        assert!(
            checker
                .verify("正确的密码", Some(stored.clone()))
                .await
                .expect("run")
        );
        assert!(!checker.verify("wrong", Some(stored)).await.expect("run"));
        assert!(
            !checker
                .verify("x", Some("not a phc string".into()))
                .await
                .expect("run")
        );
        assert!(!checker.verify("anything", None).await.expect("run"));
        assert_eq!(checker.checks(), 4);
        assert!(PasswordHash::new(DECOY_HASH).is_ok(), "the decoy parses");
    }
}
