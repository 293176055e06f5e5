//! Conversions between stored column values and the storage's types, shared by the backends.

use super::{Hash, StorageError, StorageResult};

/// Parses a stored id or code; a value that does not parse is a damaged database.
pub(super) fn parse_id<T: std::str::FromStr>(s: &str) -> StorageResult<T>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e: T::Err| StorageError::Backend(format!("stored value: {e}")))
}

/// A stored change hash.
pub(super) fn to_hash(raw: &[u8]) -> StorageResult<Hash> {
    raw.try_into()
        .map_err(|_| StorageError::Backend("stored change hash is not 32 bytes".into()))
}

/// A `seq` as the databases store it (a signed 64-bit integer).
pub(super) fn to_sql_seq(seq: u64) -> StorageResult<i64> {
    i64::try_from(seq).map_err(|_| StorageError::Backend(format!("seq {seq} out of range")))
}

/// A stored `seq` (never negative).
pub(super) fn from_sql_seq(seq: i64) -> u64 {
    u64::try_from(seq).unwrap_or(0)
}
