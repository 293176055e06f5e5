//! Back-office login throttling that holds under concurrency: [`LoginGuard::admit`] counts an
//! attempt against every limit, atomically, before the password is checked, so N parallel
//! attempts are N attempts and at most the limit of them reach argon2.
//!
//! Three counters per window ([`LoginLimits`]): per account and address first (the one a
//! guesser meets), per address over every account, and a higher limit per account over every
//! address, which only a spread-out attack reaches. A guesser at one address thus locks only
//! their own pair, never the account's owner elsewhere; the account-wide lock is lifted by an
//! administrator (`siteproof admin user unlock --login NAME`), which writes a row the running
//! server reads at the next refused attempt, or by the window passing. A successful login
//! forgets the account's counts and gives the address its attempt back.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use super::rate_limit::{RateLimiter, UNKNOWN_ADDRESS};
use crate::error::{Error, Result};

/// The limits of back-office logins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts per account from one address per window.
    pub per_account_and_address: usize,
    /// Attempts from one address over every account per window.
    pub per_address: usize,
    /// Attempts per account from every address per window.
    pub per_account: usize,
    /// The window.
    pub window: Duration,
    /// How often a refused account looks for an administrator's unlock in the database
    /// (bounds the reads a flood of refused attempts causes).
    pub unlock_poll: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_account_and_address: 5,
            per_address: 20,
            per_account: 30,
            window: Duration::from_secs(15 * 60),
            unlock_poll: Duration::from_secs(1),
        }
    }
}

/// Counts login attempts before they cost anything.
pub struct LoginGuard {
    limits: LoginLimits,
    attempts: RateLimiter<String>,
    /// The database holding `bo_login_unlocks`.
    db: Mutex<Connection>,
    /// Per login: when the database was last read for an unlock, and the newest unlock
    /// already applied (ms since the epoch). Logins are whatever clients send, so an entry
    /// lives only while it matters: for `unlock_poll` after its read, and while its applied
    /// unlock is younger than the window (see [`LoginGuard::unlock_floor`]).
    unlocks_seen: Mutex<HashMap<String, (Instant, i64)>>,
    /// When this guard started (ms since the epoch): older unlocks have nothing to lift.
    started: i64,
}

impl LoginGuard {
    /// A guard with `limits`, reading and writing unlocks in the SQLite file at `db_path`
    /// (migrated already).
    pub fn open(db_path: &Path, limits: LoginLimits) -> Result<Self> {
        let db = Connection::open(db_path)
            .and_then(|c| c.busy_timeout(Duration::from_secs(5)).map(|()| c))
            .map_err(|e| Error::Internal(format!("login guard database: {e}")))?;
        Ok(Self {
            attempts: RateLimiter::new(limits.window),
            limits,
            db: Mutex::new(db),
            unlocks_seen: Mutex::new(HashMap::new()),
            started: siteproof_core::now(),
        })
    }

    /// The limits.
    pub fn limits(&self) -> &LoginLimits {
        &self.limits
    }

    fn keys(&self, login: &str, address: &str) -> Vec<(String, usize)> {
        let login = login.to_lowercase();
        let mut keys = vec![
            (
                pair_key(&login, address),
                self.limits.per_account_and_address,
            ),
            (account_key(&login), self.limits.per_account),
        ];
        // An unknown address must not become one bucket shared by every client.
        if address != UNKNOWN_ADDRESS {
            keys.push((format!("address:{address}"), self.limits.per_address));
        }
        keys
    }

    /// Counts an attempt for `login` from `address` on every counter, or refuses it
    /// (`RateLimited`) without counting when one is at its limit.
    pub fn admit(&self, login: &str, address: &str) -> Result<()> {
        let keys = self.keys(login, address);
        let Err(full) = self.attempts.admit(&keys) else {
            return Ok(());
        };
        // Counter 2 is the address's own: an unlock of the account does not lift it.
        if full < 2
            && self.apply_unlock(&login.to_lowercase())
            && self.attempts.admit(&keys).is_ok()
        {
            return Ok(());
        }
        Err(Error::RateLimited(
            "too many login attempts; wait 15 minutes or ask an administrator to unlock the account",
        ))
    }

    /// After a successful check: forgets the account's counts and returns the address's.
    pub fn succeeded(&self, login: &str, address: &str) {
        let login = login.to_lowercase();
        self.attempts.clear(&pair_key(&login, address));
        self.attempts.clear(&account_key(&login));
        self.attempts.refund(&format!("address:{address}"));
    }

    /// An administrator's unlock: stored for the running server to read, and applied here.
    pub fn unlock(&self, login: &str) -> Result<()> {
        let login = login.to_lowercase();
        let now = siteproof_core::now();
        self.db
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .execute(
                "INSERT INTO bo_login_unlocks (login, unlocked_at) VALUES (?1, ?2)
                 ON CONFLICT (login) DO UPDATE SET unlocked_at = excluded.unlocked_at",
                rusqlite::params![login, now],
            )
            .map_err(|e| Error::Internal(format!("storing an unlock: {e}")))?;
        self.forget_account(&login);
        Ok(())
    }

    /// Reads the login's unlock (at most once per `unlock_poll`); one stored since the last
    /// applied (or since this guard started) clears the account's counters. Whether it did.
    fn apply_unlock(&self, login: &str) -> bool {
        let mut seen = self.unlocks_seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((checked, _)) = seen.get(login)
            && checked.elapsed() < self.limits.unlock_poll
        {
            return false;
        }
        let floor = self.unlock_floor();
        let poll = self.limits.unlock_poll;
        seen.retain(|_, (checked, applied)| checked.elapsed() < poll || *applied > floor);
        let applied = seen.get(login).map_or(floor, |(_, at)| *at);
        let stored: Option<i64> = self
            .db
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .query_row(
                "SELECT unlocked_at FROM bo_login_unlocks WHERE login = ?1",
                [login],
                |r| r.get(0),
            )
            .optional()
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read login unlocks");
                None
            });
        let fresh = stored.filter(|at| *at >= applied);
        let applied = fresh.map_or(applied, |at| at + 1);
        seen.insert(login.to_owned(), (Instant::now(), applied));
        drop(seen);
        if fresh.is_some() {
            self.forget_account(login);
        }
        fresh.is_some()
    }

    /// Unlocks stored before this have nothing left to lift: the attempts they lifted were
    /// counted before them, so more than a window ago. A login with no entry has applied
    /// every unlock up to here.
    fn unlock_floor(&self) -> i64 {
        let window = i64::try_from(self.limits.window.as_millis()).unwrap_or(i64::MAX);
        self.started
            .max(siteproof_core::now().saturating_sub(window))
    }

    fn forget_account(&self, login: &str) {
        let prefix = format!("pair:{login}\n");
        self.attempts
            .clear_where(|k| k.starts_with(&prefix) || *k == account_key(login));
    }
}

fn pair_key(login: &str, address: &str) -> String {
    format!("pair:{login}\n{address}")
}

fn account_key(login: &str) -> String {
    format!("account:{login}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(dir: &tempfile::TempDir) -> LoginGuard {
        let path = dir.path().join("siteproof.db");
        crate::SqliteStorage::open(&path).expect("migrated database");
        let limits = LoginLimits {
            unlock_poll: Duration::ZERO,
            ..LoginLimits::default()
        };
        LoginGuard::open(&path, limits).expect("guard")
    }

    #[test]
    fn a_guesser_locks_only_their_own_address_until_the_account_wide_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let g = guard(&dir);
        for _ in 0..5 {
            g.admit("Alice", "1.1.1.1").expect("under the pair limit");
        }
        assert!(g.admit("alice", "1.1.1.1").is_err(), "pair limit, any case");
        g.admit("alice", "2.2.2.2")
            .expect("the owner elsewhere is not locked");
        g.admit("bob", "1.1.1.1")
            .expect("other accounts from the guesser's address");
        for a in 3..8 {
            for _ in 0..5 {
                let _ = g.admit("alice", &format!("{a}.0.0.1"));
            }
        }
        assert!(g.admit("alice", "9.9.9.9").is_err(), "account-wide limit");
        g.unlock("alice").expect("unlock");
        g.admit("alice", "9.9.9.9")
            .expect("unlocked by an administrator");
        g.admit("alice", "1.1.1.1")
            .expect("the unlock clears the pairs too");
    }

    #[test]
    fn an_unlock_written_by_another_process_is_read_at_the_next_refusal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = guard(&dir);
        let admin = guard(&dir);
        for _ in 0..5 {
            server.admit("carol", "1.1.1.1").expect("admitted");
        }
        assert!(server.admit("carol", "1.1.1.1").is_err());
        admin.unlock("carol").expect("unlock");
        server
            .admit("carol", "1.1.1.1")
            .expect("the running server reads the unlock");
    }

    #[test]
    fn refused_logins_leave_no_entry_behind_and_an_applied_unlock_is_not_applied_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = guard(&dir);
        let admin = guard(&dir);
        for _ in 0..5 {
            server.admit("carol", "1.1.1.1").expect("admitted");
        }
        admin.unlock("carol").expect("unlock");
        server
            .admit("carol", "1.1.1.1")
            .expect("the unlock is read at the refusal");
        for _ in 0..4 {
            server.admit("carol", "1.1.1.1").expect("admitted again");
        }
        // A guesser trying 1,000 made-up logins to their limit, each from its own address.
        for i in 0..1000 {
            let address = format!("10.0.{}.{}", i / 256, i % 256);
            for _ in 0..6 {
                let _ = server.admit(&format!("nobody{i}"), &address);
            }
        }
        let seen = server.unlocks_seen.lock().expect("seen").len();
        assert!(
            seen <= 2,
            "{seen} logins remembered: only carol's applied unlock and the last refusal may be"
        );
        assert!(
            server.admit("carol", "1.1.1.1").is_err(),
            "the unlock already applied must not lift the new attempts"
        );
    }

    #[test]
    fn a_success_forgets_the_account_and_returns_the_address_attempt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let g = guard(&dir);
        for i in 0..19 {
            g.admit(&format!("user{i}"), "1.1.1.1").expect("admitted");
        }
        g.admit("dave", "1.1.1.1").expect("the 20th");
        g.succeeded("dave", "1.1.1.1");
        g.admit("erin", "1.1.1.1")
            .expect("the success gave the attempt back");
        assert!(g.admit("frank", "1.1.1.1").is_err(), "address limit");
    }
}
