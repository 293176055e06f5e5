//! Back-office login throttling that holds under concurrency: [`LoginGuard::admit`] counts an
//! attempt against every limit, atomically, before the password is checked, so N parallel
//! attempts are N attempts and at most the limit of them reach argon2.
//!
//! Three counters per window ([`LoginLimits`]): per account and address first (the one a
//! guesser meets), per address over every account, and a higher limit per account over every
//! address, which only a spread-out attack reaches. A guesser at one address thus locks only
//! their own pair, never the account's owner elsewhere; the account-wide lock is lifted by an
//! administrator (`siteproof admin user unlock --login NAME`), which clears the account's
//! counters and writes a row every running server reads at its next refused attempt (to drop
//! the refusals it remembers), or by the window passing. A successful login forgets the
//! account's counts and gives the address its attempt back.
//!
//! The counters are in the database ([`RateStore`]), so the limits hold across every server
//! process on it: parallel attempts on two processes are counted once each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::rate_limit::{RateLimiter, UNKNOWN_ADDRESS, rate_key};
use crate::error::{Error, Result};
use crate::storage::{RateKey, RateStore};

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
    /// The counters, in the database every process shares (which also keeps the unlocks).
    attempts: RateLimiter,
    /// Per login: when the database was last read for an unlock, and the newest unlock
    /// already applied (ms since the epoch). Logins are whatever clients send, so an entry
    /// lives only while it matters: for `unlock_poll` after its read, and while its applied
    /// unlock is younger than the window (see [`LoginGuard::unlock_floor`]).
    unlocks_seen: Mutex<HashMap<String, (Instant, i64)>>,
    /// When this guard started (ms since the epoch): older unlocks have nothing to lift.
    started: i64,
}

impl LoginGuard {
    /// A guard with `limits`, counting attempts and keeping unlocks in `store`.
    pub fn new(store: Arc<dyn RateStore>, limits: LoginLimits) -> Self {
        Self {
            attempts: RateLimiter::new(store),
            limits,
            unlocks_seen: Mutex::new(HashMap::new()),
            started: siteproof_core::now(),
        }
    }

    /// The limits.
    pub fn limits(&self) -> &LoginLimits {
        &self.limits
    }

    fn keys(&self, login: &str, address: &str) -> Vec<RateKey> {
        let login = login.to_lowercase();
        let window = self.limits.window;
        let mut keys = vec![
            rate_key(
                pair_key(&login, address),
                self.limits.per_account_and_address,
                window,
            ),
            rate_key(account_key(&login), self.limits.per_account, window),
        ];
        // An unknown address must not become one bucket shared by every client.
        if address != UNKNOWN_ADDRESS {
            keys.push(rate_key(
                address_key(address),
                self.limits.per_address,
                window,
            ));
        }
        keys
    }

    /// Counts an attempt for `login` from `address` on every counter, or refuses it
    /// (`RateLimited`) without counting when one is at its limit.
    pub async fn admit(&self, login: &str, address: &str) -> Result<()> {
        let keys = self.keys(login, address);
        let Err(full) = self.attempts.admit(&keys).await? else {
            return Ok(());
        };
        // Counter 2 is the address's own: an unlock of the account does not lift it.
        if full < 2
            && self.apply_unlock(&login.to_lowercase()).await?
            && self.attempts.admit(&keys).await?.is_ok()
        {
            return Ok(());
        }
        Err(Error::RateLimited(
            "too many login attempts; wait 15 minutes or ask an administrator to unlock the account",
        ))
    }

    /// After a successful check: forgets the account's counts and returns the address's.
    pub async fn succeeded(&self, login: &str, address: &str) -> Result<()> {
        let login = login.to_lowercase();
        self.attempts
            .clear(&[pair_key(&login, address), account_key(&login)])
            .await?;
        self.attempts.refund(&address_key(address)).await
    }

    /// An administrator's unlock: stored for every running server to read, and applied here.
    pub async fn unlock(&self, login: &str) -> Result<()> {
        let login = login.to_lowercase();
        self.attempts
            .store()
            .store_unlock(&login, siteproof_core::now())
            .await?;
        self.forget_account(&login).await
    }

    /// Reads the login's unlock (at most once per `unlock_poll`); one stored since the last
    /// applied (or since this guard started) drops the account's remembered refusals, so the
    /// next admission asks the shared counters again. Whether it did.
    async fn apply_unlock(&self, login: &str) -> Result<bool> {
        let applied = {
            let mut seen = self.unlocks_seen.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((checked, _)) = seen.get(login)
                && checked.elapsed() < self.limits.unlock_poll
            {
                return Ok(false);
            }
            let floor = self.unlock_floor();
            let poll = self.limits.unlock_poll;
            seen.retain(|_, (checked, applied)| checked.elapsed() < poll || *applied > floor);
            seen.get(login).map_or(floor, |(_, at)| *at)
        };
        let stored = self
            .attempts
            .store()
            .unlock_of(login)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read login unlocks");
                None
            });
        let fresh = stored.filter(|at| *at >= applied);
        let applied = fresh.map_or(applied, |at| at + 1);
        self.unlocks_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(login.to_owned(), (Instant::now(), applied));
        if fresh.is_some() {
            // The unlocking process cleared the shared counters when it stored the unlock;
            // what is left to drop is this process's memory of the account's refusals.
            let pair = pair_key(login, "");
            let account = account_key(login);
            self.attempts
                .forget_remembered(|k| k.starts_with(&pair) || k == account);
        }
        Ok(fresh.is_some())
    }

    /// Unlocks stored before this have nothing left to lift: the attempts they lifted were
    /// counted before them, so more than a window ago. A login with no entry has applied
    /// every unlock up to here.
    fn unlock_floor(&self) -> i64 {
        let window = i64::try_from(self.limits.window.as_millis()).unwrap_or(i64::MAX);
        self.started
            .max(siteproof_core::now().saturating_sub(window))
    }

    async fn forget_account(&self, login: &str) -> Result<()> {
        self.attempts.clear_prefix(&pair_key(login, "")).await?;
        self.attempts.clear(&[account_key(login)]).await
    }
}

fn pair_key(login: &str, address: &str) -> String {
    format!("login:pair:{login}\n{address}")
}

fn account_key(login: &str) -> String {
    format!("login:account:{login}")
}

fn address_key(address: &str) -> String {
    format!("login:address:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guard on the database in `dir`, with storage of its own (as another process's).
    fn guard(dir: &tempfile::TempDir) -> LoginGuard {
        let path = dir.path().join("siteproof.db");
        let storage = crate::SqliteStorage::open(&path).expect("migrated database");
        let limits = LoginLimits {
            unlock_poll: Duration::ZERO,
            ..LoginLimits::default()
        };
        LoginGuard::new(Arc::new(storage), limits)
    }

    #[tokio::test]
    async fn a_guesser_locks_only_their_own_address_until_the_account_wide_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let g = guard(&dir);
        for _ in 0..5 {
            g.admit("Alice", "1.1.1.1")
                .await
                .expect("under the pair limit");
        }
        assert!(
            g.admit("alice", "1.1.1.1").await.is_err(),
            "pair limit, any case"
        );
        g.admit("alice", "2.2.2.2")
            .await
            .expect("the owner elsewhere is not locked");
        g.admit("bob", "1.1.1.1")
            .await
            .expect("other accounts from the guesser's address");
        for a in 3..8 {
            for _ in 0..5 {
                let _ = g.admit("alice", &format!("{a}.0.0.1")).await;
            }
        }
        assert!(
            g.admit("alice", "9.9.9.9").await.is_err(),
            "account-wide limit"
        );
        g.unlock("alice").await.expect("unlock");
        g.admit("alice", "9.9.9.9")
            .await
            .expect("unlocked by an administrator");
        g.admit("alice", "1.1.1.1")
            .await
            .expect("the unlock clears the pairs too");
    }

    #[tokio::test]
    async fn an_unlock_written_by_another_process_is_read_at_the_next_refusal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = guard(&dir);
        let admin = guard(&dir);
        for _ in 0..5 {
            server.admit("carol", "1.1.1.1").await.expect("admitted");
        }
        assert!(server.admit("carol", "1.1.1.1").await.is_err());
        admin.unlock("carol").await.expect("unlock");
        server
            .admit("carol", "1.1.1.1")
            .await
            .expect("the running server reads the unlock");
    }

    #[tokio::test]
    async fn refused_logins_leave_no_entry_behind_and_an_applied_unlock_is_not_applied_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = guard(&dir);
        let admin = guard(&dir);
        for _ in 0..5 {
            server.admit("carol", "1.1.1.1").await.expect("admitted");
        }
        admin.unlock("carol").await.expect("unlock");
        server
            .admit("carol", "1.1.1.1")
            .await
            .expect("the unlock is read at the refusal");
        for _ in 0..4 {
            server
                .admit("carol", "1.1.1.1")
                .await
                .expect("admitted again");
        }
        // A guesser trying 1,000 made-up logins to their limit, each from its own address.
        for i in 0..1000 {
            let address = format!("10.0.{}.{}", i / 256, i % 256);
            for _ in 0..6 {
                let _ = server.admit(&format!("nobody{i}"), &address).await;
            }
        }
        let seen = server.unlocks_seen.lock().expect("seen").len();
        assert!(
            seen <= 2,
            "{seen} logins remembered: only carol's applied unlock and the last refusal may be"
        );
        assert!(
            server.admit("carol", "1.1.1.1").await.is_err(),
            "the unlock already applied must not lift the new attempts"
        );
    }

    #[tokio::test]
    async fn a_success_forgets_the_account_and_returns_the_address_attempt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let g = guard(&dir);
        for i in 0..19 {
            g.admit(&format!("user{i}"), "1.1.1.1")
                .await
                .expect("admitted");
        }
        g.admit("dave", "1.1.1.1").await.expect("the 20th");
        g.succeeded("dave", "1.1.1.1").await.expect("succeeded");
        g.admit("erin", "1.1.1.1")
            .await
            .expect("the success gave the attempt back");
        assert!(g.admit("frank", "1.1.1.1").await.is_err(), "address limit");
    }
}
