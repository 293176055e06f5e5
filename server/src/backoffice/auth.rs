//! Back-office users: roles, password hashes (argon2), sessions (random id, only its SHA-256
//! stored), CSRF tokens, and login throttling per account and per address.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use sha2::{Digest, Sha256};
use siteproof_core::Sector;

use crate::error::{Error, Result};

/// What a web user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Back-office reviewer (安委会办公室): every sector of the region; drives cases.
    Reviewer,
    /// A sector department: only its sectors; drives their cases.
    SectorDepartment,
    /// Administrator of the region: everything a reviewer does.
    Admin,
}

impl Role {
    /// The code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::SectorDepartment => "sector",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "reviewer" => Ok(Role::Reviewer),
            "sector" => Ok(Role::SectorDepartment),
            "admin" => Ok(Role::Admin),
            other => Err(Error::InvalidInput(format!(
                "unknown role {other:?}: use reviewer, sector or admin"
            ))),
        }
    }
}

/// A signed-in web user, as a request sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebUser {
    /// Database id.
    pub id: i64,
    /// Login name.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The region the user works in.
    pub region: String,
    /// For a sector department: its sectors.
    pub sectors: Vec<Sector>,
    /// The session's CSRF token, required in every form POST.
    pub csrf: String,
}

/// A new user to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Login name.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Plain password (hashed before it is stored).
    pub password: String,
    /// Role.
    pub role: Role,
    /// Region.
    pub region: String,
    /// Sectors (sector departments only).
    pub sectors: Vec<Sector>,
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hash: {e}")))
}

/// Checks a password against a stored PHC string.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A random token: 32 bytes as 64 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What is stored for a session id: its SHA-256.
pub fn session_hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// Compares two tokens in time independent of where they differ (`subtle`: the optimiser
/// cannot turn it back into an early exit). Only the length may show.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}

/// What the HTTP layer passes when it does not know the client's address.
pub const UNKNOWN_ADDRESS: &str = "unknown";

/// Failed logins counted per key in a sliding window; past the limit a key is refused until
/// the window passes. In memory: a restart forgets, which is acceptable for throttling.
pub struct Throttle {
    window: Duration,
    per_account: u32,
    per_address: u32,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// `per_account` and `per_address` failures allowed per `window`.
    pub fn new(window: Duration, per_account: u32, per_address: u32) -> Self {
        Self {
            window,
            per_account,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The counters an attempt touches: the account's, and the address's when it is known
    /// (an unknown address must not become one bucket shared by every client).
    fn keys(login: &str, address: &str) -> Vec<(String, bool)> {
        let mut keys = vec![(format!("account:{}", login.to_lowercase()), true)];
        if address != UNKNOWN_ADDRESS {
            keys.push((format!("address:{address}"), false));
        }
        keys
    }

    /// Whether a login attempt for `login` from `address` may proceed now.
    pub fn allows(&self, login: &str, address: &str) -> bool {
        let Ok(mut map) = self.failures.lock() else {
            return false;
        };
        let now = Instant::now();
        map.retain(|_, (_, since)| now.duration_since(*since) < self.window);
        Self::keys(login, address).iter().all(|(key, account)| {
            let limit = if *account {
                self.per_account
            } else {
                self.per_address
            };
            map.get(key).is_none_or(|(n, _)| *n < limit)
        })
    }

    /// Counts a failed attempt.
    pub fn failed(&self, login: &str, address: &str) {
        if let Ok(mut map) = self.failures.lock() {
            let now = Instant::now();
            for (key, _) in Self::keys(login, address) {
                map.entry(key).or_insert((0, now)).0 += 1;
            }
        }
    }

    /// Forgets the account's failures after a successful login.
    pub fn succeeded(&self, login: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&format!("account:{}", login.to_lowercase()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_throttle_blocks_after_the_limit() {
        let stored = hash_password("正确的密码").expect("hash");
        assert!(verify_password("正确的密码", &stored));
        assert!(!verify_password("wrong", &stored));
        assert!(!verify_password("x", "not a phc string"));

        let t = Throttle::new(Duration::from_secs(60), 3, 10);
        for _ in 0..3 {
            assert!(t.allows("alice", "1.2.3.4"));
            t.failed("alice", "1.2.3.4");
        }
        assert!(!t.allows("alice", "5.6.7.8"), "account limit");
        assert!(t.allows("bob", "1.2.3.4"));
        for i in 0..10 {
            t.failed(&format!("user{i}"), "9.9.9.9");
            t.failed(&format!("user{i}"), UNKNOWN_ADDRESS);
        }
        assert!(!t.allows("carol", "9.9.9.9"), "address limit");
        assert!(
            t.allows("carol", UNKNOWN_ADDRESS),
            "no shared bucket for unknown addresses"
        );
        assert!(tokens_equal("abc", "abc") && !tokens_equal("abc", "abd"));
    }
}
