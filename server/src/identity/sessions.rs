//! Web users' accounts and sessions: creating users, logins (limited per account and per
//! client address before any password is checked, `login_guard.rs`; checks bounded in number
//! and memory, `passwords.rs`), the user of a live session, logouts. Users and sessions are
//! kept by the storage layer's [`WebUserStore`], in the database every process shares.

use std::sync::Arc;
use std::time::Duration;

use super::login_guard::{LoginGuard, LoginLimits};
use super::passwords::PasswordChecker;
use super::users::{self, NewUser, WebUser};
use crate::error::{Error, Result};
use crate::storage::{NewSession, NewWebUser, RateStore, WebUserStore};

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
    store: Arc<dyn WebUserStore>,
    ttl: Duration,
    logins: LoginGuard,
    passwords: Arc<PasswordChecker>,
}

impl Sessions {
    /// Sessions kept in `store`, with login attempts counted in `counters`.
    pub fn new(
        store: Arc<dyn WebUserStore>,
        counters: Arc<dyn RateStore>,
        config: &SessionConfig,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(Self {
            store,
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
        let row = NewWebUser {
            login: user.login,
            name: user.name,
            password_hash: hash,
            role: user.role.code().to_owned(),
            region: user.region,
            sectors,
            created_at: siteproof_core::now(),
        };
        self.store
            .insert_user(&row)
            .await?
            .ok_or_else(|| Error::Conflict(format!("the login {} is taken", row.login)))
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
        let found = self.store.password_of(login).await?;
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
        let now = siteproof_core::now();
        self.store
            .insert_session(&NewSession {
                id_hash: users::session_hash(&session),
                user: user_id,
                csrf,
                created_at: now,
                expires_at: now
                    .saturating_add(i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX)),
            })
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
        let Some((cols, csrf)) = self.store.session_user(&hash, now).await? else {
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
        Ok(self.store.delete_session(&hash, now).await?)
    }
}
