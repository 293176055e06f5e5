//! Web users: roles, password hashes (argon2), session ids (random, only their SHA-256
//! stored) and CSRF tokens. Logins and sessions are `sessions.rs`; password checks
//! `passwords.rs`; login limits `login_guard.rs`.

use std::fmt;
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString};
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

/// Whether a CSRF token sent with a form is the session's.
pub fn csrf_ok(user: &WebUser, sent: &str) -> bool {
    tokens_equal(&user.csrf, sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_tokens_compare() {
        let stored = hash_password("正确的密码").expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );

        assert!(tokens_equal("abc", "abc") && !tokens_equal("abc", "abd"));
    }
}
