//! [`WebUserStore`]: the back office's users and their sessions, in the database every server
//! process shares, so a session opened on one process is live on all of them and a login is
//! taken once. Only the SHA-256 of a session's cookie value is stored.
//!
//! Times are milliseconds since the Unix epoch on the calling process's clock.

use async_trait::async_trait;

use super::StorageResult;

/// A web user to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWebUser {
    /// Login, unique.
    pub login: String,
    /// Display name.
    pub name: String,
    /// PHC password hash (argon2).
    pub password_hash: String,
    /// Role code (`admin`, `inspector`, ...); parsed by the identity layer.
    pub role: String,
    /// Region code.
    pub region: String,
    /// Comma-separated sector codes.
    pub sectors: String,
    /// When the user was created.
    pub created_at: i64,
}

/// A web user as stored, before the identity layer parses its role and sectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebUserRow {
    /// Id.
    pub id: i64,
    /// Login.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Role code.
    pub role: String,
    /// Region code.
    pub region: String,
    /// Comma-separated sector codes.
    pub sectors: String,
}

/// A session to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 of the cookie's value.
    pub id_hash: [u8; 32],
    /// Its user.
    pub user: i64,
    /// The token its forms must carry.
    pub csrf: String,
    /// When it was opened.
    pub created_at: i64,
    /// When it ends.
    pub expires_at: i64,
}

/// Web users and sessions.
#[async_trait]
pub trait WebUserStore: Send + Sync + 'static {
    /// Creates a user; `None` when the login is taken (also by a process creating it at the
    /// same moment).
    async fn insert_user(&self, user: &NewWebUser) -> StorageResult<Option<i64>>;
    /// A user's id and password hash, by login.
    async fn password_of(&self, login: &str) -> StorageResult<Option<(i64, String)>>;
    /// Stores a session.
    async fn insert_session(&self, session: &NewSession) -> StorageResult<()>;
    /// Deletes a session (a logout) and every session expired at `now`.
    async fn delete_session(&self, id_hash: &[u8; 32], now: i64) -> StorageResult<()>;
    /// The user of a session live at `now`, and the session's CSRF token.
    async fn session_user(
        &self,
        id_hash: &[u8; 32],
        now: i64,
    ) -> StorageResult<Option<(WebUserRow, String)>>;
}
