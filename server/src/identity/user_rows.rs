//! SQL of the back office's users and sessions.

use rusqlite::{Connection, OptionalExtension, params};

use super::users::Role;

/// A user row to insert.
pub struct UserInsert {
    /// Login.
    pub login: String,
    /// Display name.
    pub name: String,
    /// PHC password hash.
    pub hash: String,
    /// Role.
    pub role: Role,
    /// Region.
    pub region: String,
    /// Comma-separated sector codes.
    pub sectors: String,
}

/// Inserts a user; `None` when the login is taken.
pub fn insert_user(conn: &Connection, u: &UserInsert, now: i64) -> rusqlite::Result<Option<i64>> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO bo_users (login, name, password_hash, role, region, sectors, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![u.login, u.name, u.hash, u.role.code(), u.region, u.sectors, now],
    )?;
    Ok((n == 1).then(|| conn.last_insert_rowid()))
}

/// A user's id and password hash, by login.
pub fn password_of(conn: &Connection, login: &str) -> rusqlite::Result<Option<(i64, String)>> {
    conn.query_row(
        "SELECT id, password_hash FROM bo_users WHERE login = ?1",
        [login],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// Stores a session.
pub fn insert_session(
    conn: &Connection,
    id_hash: &[u8; 32],
    user: i64,
    csrf: &str,
    now: i64,
    expires_at: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO bo_sessions (id_hash, user_id, csrf, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![&id_hash[..], user, csrf, now, expires_at],
    )?;
    Ok(())
}

/// Deletes a session (logout) and every expired one.
pub fn delete_session(conn: &Connection, id_hash: &[u8; 32], now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM bo_sessions WHERE id_hash = ?1 OR expires_at < ?2",
        params![&id_hash[..], now],
    )?;
    Ok(())
}

/// The user of a live session, as raw columns (the role and sectors are parsed by the caller).
pub fn session_user(
    conn: &Connection,
    id_hash: &[u8; 32],
    now: i64,
) -> rusqlite::Result<Option<(WebUserColumns, String)>> {
    conn.query_row(
        "SELECT u.id, u.login, u.name, u.role, u.region, u.sectors, s.csrf
         FROM bo_sessions s JOIN bo_users u ON u.id = s.user_id
         WHERE s.id_hash = ?1 AND s.expires_at > ?2",
        params![&id_hash[..], now],
        |r| {
            Ok((
                WebUserColumns {
                    id: r.get(0)?,
                    login: r.get(1)?,
                    name: r.get(2)?,
                    role: r.get(3)?,
                    region: r.get(4)?,
                    sectors: r.get(5)?,
                },
                r.get(6)?,
            ))
        },
    )
    .optional()
}

/// A user row before parsing.
#[derive(Debug)]
pub struct WebUserColumns {
    /// Id.
    pub id: i64,
    /// Login.
    pub login: String,
    /// Name.
    pub name: String,
    /// Role code.
    pub role: String,
    /// Region.
    pub region: String,
    /// Comma-separated sector codes.
    pub sectors: String,
}
