//! The store key and SQLCipher: how a connection is keyed, and how a file is recognised as
//! plain SQLite or encrypted before anything touches it.
//!
//! The app hands in 32 random bytes from the platform keystore. They are given to SQLCipher in
//! its raw-key form (`PRAGMA key = "x'…'"`), so no passphrase derivation runs at open, and
//! before any statement reads the file. A wrong key is told apart from a damaged file by the
//! file's first bytes: plain SQLite files start with a fixed magic string, SQLCipher files with
//! random salt.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use rusqlite::{Connection, ErrorCode};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::media::{MediaKeys, RawKey, random_key};
use crate::model::now;

/// SQLCipher's page settings, fixed for every store (they are not recorded in the file):
/// HMAC-SHA256 per page instead of the default SHA-512, as phones and x86 compute SHA-256 in
/// hardware. The key is random, so the key derivation's strength plays no part: with a raw
/// key it only derives the HMAC key, in two iterations.
const CIPHER_SETTINGS: &str = "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;
     PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA256;";

/// The first 16 bytes of every plain SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// The key that encrypts a store at rest: 32 random bytes the app keeps in the Android
/// Keystore or the iOS Keychain. Wiped from memory when dropped; never printed.
#[derive(Clone)]
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl StoreKey {
    /// The key's length in bytes.
    pub const LEN: usize = 32;

    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A key from a slice, which must be exactly 32 bytes (the caller wipes its own copy).
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != Self::LEN {
            return Err(Error::InvalidKey(format!(
                "a store key is {} bytes, not {}",
                Self::LEN,
                bytes.len()
            )));
        }
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }

    /// A fresh random key (tests, tools; the apps make theirs in the platform keystore).
    pub fn random() -> Self {
        Self(random_key())
    }

    /// `PRAGMA <name> = "x'<hex>'"`, in a buffer wiped on drop.
    fn pragma(&self, name: &str) -> Zeroizing<String> {
        let mut hex = hex::encode(self.0.as_slice());
        let sql = Zeroizing::new(format!("PRAGMA {name} = \"x'{hex}'\";"));
        hex.zeroize();
        sql
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

/// What a database file holds before it is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileState {
    /// No file yet, or an empty one: opening creates the store.
    New,
    /// A plain SQLite database.
    Plain,
    /// Anything else: SQLCipher's random salt where the magic would be.
    Encrypted,
}

fn file_state(path: &Path) -> Result<FileState> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(FileState::New),
        Err(e) => return Err(e.into()),
    };
    let mut head = Vec::with_capacity(SQLITE_MAGIC.len());
    file.by_ref()
        .take(SQLITE_MAGIC.len() as u64)
        .read_to_end(&mut head)?;
    Ok(match head.len() {
        0 => FileState::New,
        _ if head == SQLITE_MAGIC => FileState::Plain,
        _ => FileState::Encrypted,
    })
}

/// Opens the database at `path`, keyed with `key` when given. Refuses, before writing
/// anything, an encrypted file without a key, a plain file with one, and a wrong key.
pub(super) fn connect(path: &Path, key: Option<&StoreKey>) -> Result<Connection> {
    match (file_state(path)?, key) {
        (FileState::Encrypted, None) => return Err(Error::KeyRequired),
        (FileState::Plain, Some(_)) => return Err(Error::NotEncrypted),
        _ => {}
    }
    let conn = Connection::open(path)?;
    if let Some(key) = key {
        // Without SQLCipher linked in, `PRAGMA key` is silently ignored and the "encrypted"
        // store would be written in the clear.
        let cipher: Option<String> = conn
            .query_row("PRAGMA cipher_version", [], |r| r.get(0))
            .ok();
        if cipher.is_none() {
            return Err(Error::EncryptionUnavailable);
        }
        conn.execute_batch(&key.pragma("key"))?;
        conn.execute_batch(CIPHER_SETTINGS)?;
    }
    // The first read: with a wrong key SQLCipher cannot decrypt page 1 and says the file is
    // not a database. Nothing has been written yet.
    let read = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    });
    match read {
        Ok(_) => Ok(conn),
        Err(e) if key.is_some() && e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
            Err(Error::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

/// Re-encrypts the database under `new_key`: every page is rewritten in one transaction,
/// so a crash leaves it wholly under the old key or wholly under the new one.
pub(super) fn rekey(conn: &Connection, new_key: &StoreKey) -> Result<()> {
    // Fold the WAL into the main file first: SQLCipher rewrites the pages it finds there.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    conn.execute_batch(&new_key.pragma("rekey"))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// The media keyring stored in the database, with a first key if it has none.
pub(super) fn media_keys(conn: &Connection) -> Result<MediaKeys> {
    let mut stmt = conn.prepare("SELECT id, key FROM media_keys ORDER BY id")?;
    let mut keys = Vec::new();
    for row in stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?)))? {
        let (id, mut bytes) = row?;
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != key.len() {
            return Err(Error::Malformed(format!("media key {id} is not 32 bytes")));
        }
        key.copy_from_slice(&bytes);
        bytes.zeroize();
        keys.push((id, key));
    }
    let ring = MediaKeys::new(keys);
    if ring.current().is_none() {
        let (id, key) = add_media_key(conn)?;
        ring.add(id, key);
    }
    Ok(ring)
}

/// Adds a fresh media key, which becomes the newest, and returns it.
pub(super) fn add_media_key(conn: &Connection) -> Result<(u32, RawKey)> {
    let key = random_key();
    conn.execute(
        "INSERT INTO media_keys (key, created_at) VALUES (?1, ?2)",
        rusqlite::params![key.as_slice(), now()],
    )?;
    let id = u32::try_from(conn.last_insert_rowid())
        .map_err(|_| Error::Malformed("media key id out of range".into()))?;
    Ok((id, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_another_length_is_refused_and_never_printed() {
        assert!(matches!(
            StoreKey::from_slice(&[7; 16]),
            Err(Error::InvalidKey(_))
        ));
        let key = StoreKey::from_slice(&[0xab; 32]).expect("32 bytes");
        assert!(!format!("{key:?}").contains("ab"));
        assert!(key.pragma("key").contains(&"ab".repeat(32)));
    }
}
