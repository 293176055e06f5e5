//! Web users' accounts and sessions: creating users, logins (limited per account and per
//! client address before any password is checked, `login_guard.rs`; checks bounded in number
//! and memory, `passwords.rs`), the user of a live session, logouts. The tables are `bo_users`
//! and `bo_sessions` of the server's SQLite (`user_rows.rs`), reached through the connection
//! the back office shares.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

use super::login_guard::{LoginGuard, LoginLimits};
use super::passwords::PasswordChecker;
use super::user_rows;
use super::users::{self, NewUser, WebUser};
use crate::error::{Error, Result};
use crate::storage::{RateStore, SharedConnection};

/// How long sessions last and how logins are limited.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// How long a session lasts.
    pub ttl: Duration,
    /// Login attempts allowed.
    pub logins: LoginLimits,
    /// Password checks run at once, and how many more may wait (more: 503).
    pub password_checks: (usize, usize),
}

/// Users and sessions. Shared (`Arc`) by the back office and the web layer.
pub struct Sessions {
    conn: SharedConnection,
    ttl: Duration,
    logins: LoginGuard,
    passwords: Arc<PasswordChecker>,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("back office database: {e}"))
}

impl Sessions {
    /// Sessions over `conn`, the server's database (already migrated), with login attempts
    /// counted in `counters`.
    pub fn new(
        conn: SharedConnection,
        counters: Arc<dyn RateStore>,
        config: &SessionConfig,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(Self {
            conn,
            ttl: config.ttl,
            logins: LoginGuard::new(counters, config.logins.clone()),
            passwords: Arc::new(PasswordChecker::new(
                config.password_checks.0,
                config.password_checks.1,
            )),
        }))
    }

    /// Login limits, and the administrator's unlock.
    pub fn logins(&self) -> &LoginGuard {
        &self.logins
    }

    /// Password checks run so far (each one argon2 computation).
    pub fn password_checks(&self) -> u64 {
        self.passwords.checks()
    }

    async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.conn.run(move |c| work(c).map_err(internal)).await
    }

    /// Creates a web user; a taken login is a conflict.
    pub async fn create_user(&self, user: NewUser) -> Result<i64> {
        if user.login.trim().is_empty() || user.password.chars().count() < 8 {
            return Err(Error::InvalidInput(
                "a user needs a login and a password of at least 8 characters".into(),
            ));
        }
        let hash = users::hash_password(&user.password)?;
        let sectors: Vec<&str> = user.sectors.iter().map(|s| s.code()).collect();
        let sectors = sectors.join(",");
        let login = user.login.clone();
        let row = user_rows::UserInsert {
            login: user.login,
            name: user.name,
            hash,
            role: user.role,
            region: user.region,
            sectors,
        };
        self.run(move |c| user_rows::insert_user(c, &row, siteproof_core::now()))
            .await?
            .ok_or_else(|| Error::Conflict(format!("the login {login} is taken")))
    }

    /// Checks a password and opens a session: the session id for the cookie (only its hash is
    /// stored) and the user. Refused alike for an unknown login and a wrong password; refused
    /// before any work once the attempt is over a limit (`login_guard.rs`).
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        address: &str,
    ) -> Result<(String, WebUser)> {
        self.logins.admit(login, address).await?;
        let owned = login.to_owned();
        let found = self.run(move |c| user_rows::password_of(c, &owned)).await?;
        let (user, hash) = found.unzip();
        // An unknown login gets a decoy check of the same cost: no probing by timing.
        let user = match self.passwords.verify(password, hash).await? {
            true => user,
            false => None,
        };
        let Some(user_id) = user else {
            return Err(Error::Unauthorized("the login or the password is wrong"));
        };
        self.logins.succeeded(login, address).await?;
        let session = users::random_token();
        let csrf = users::random_token();
        let hash = users::session_hash(&session);
        let now = siteproof_core::now();
        let expires = now + i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        self.run(move |c| user_rows::insert_session(c, &hash, user_id, &csrf, now, expires))
            .await?;
        let user = self
            .session(&session)
            .await?
            .ok_or_else(|| Error::Internal("a new session is not found".into()))?;
        Ok((session, user))
    }

    /// The user of a live session.
    pub async fn session(&self, session: &str) -> Result<Option<WebUser>> {
        let hash = users::session_hash(session);
        let now = siteproof_core::now();
        let Some((cols, csrf)) = self
            .run(move |c| user_rows::session_user(c, &hash, now))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(WebUser {
            id: cols.id,
            login: cols.login,
            name: cols.name,
            role: cols.role.parse()?,
            region: cols.region,
            sectors: cols
                .sectors
                .split(',')
                .filter_map(siteproof_core::Sector::from_code)
                .collect(),
            csrf,
        }))
    }

    /// Ends a session.
    pub async fn logout(&self, session: &str) -> Result<()> {
        let hash = users::session_hash(session);
        let now = siteproof_core::now();
        self.run(move |c| user_rows::delete_session(c, &hash, now))
            .await
    }
}
