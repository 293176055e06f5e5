//! [`Database`]: which database a server process keeps its state in, as the operator names it
//! (`siteproof serve --database`, `SITEPROOF_DATABASE_URL`): the embedded SQLite file in the
//! data directory, or a PostgreSQL database that several processes share.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use super::{
    DATABASE_FILE, PostgresStorage, SqliteStorage, StorageError, StorageResult, SyncStorage,
};

/// Where a server's state lives.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Database {
    /// `siteproof.db` in the data directory: one process, nothing else to run.
    #[default]
    Embedded,
    /// A PostgreSQL database, by its libpq URL (`postgres://USER:PASSWORD@HOST:PORT/DB`,
    /// with `sslmode` and `sslrootcert`); any number of processes may share it.
    Postgres(String),
}

impl Database {
    /// Opens the storage, creating or upgrading its schema (several processes starting on
    /// one PostgreSQL database migrate it once).
    pub async fn open(&self, data_dir: &Path) -> StorageResult<Arc<dyn SyncStorage>> {
        Ok(match self {
            Database::Embedded => Arc::new(SqliteStorage::open(data_dir.join(DATABASE_FILE))?),
            Database::Postgres(url) => Arc::new(PostgresStorage::open(url).await?),
        })
    }

    /// Whether this is the embedded SQLite file.
    pub fn is_embedded(&self) -> bool {
        matches!(self, Database::Embedded)
    }
}

impl FromStr for Database {
    type Err = StorageError;

    /// A `postgres://` or `postgresql://` URL; `embedded` (or `sqlite`) names the default.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("embedded") || raw.eq_ignore_ascii_case("sqlite") {
            return Ok(Database::Embedded);
        }
        let scheme = raw.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("postgres" | "postgresql") => Ok(Database::Postgres(raw.to_owned())),
            _ => Err(StorageError::Backend(
                "the database must be a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL \
                 (or `embedded` for the SQLite file in the data directory)"
                    .into(),
            )),
        }
    }
}

/// Shown without the password, so logs and `config check` never print it.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Embedded => f.write_str("embedded"),
            Database::Postgres(url) => f.write_str(&redacted(url)),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `url` with the password of its user part and any `password=` parameter replaced by `***`.
fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority_end, _) = rest
        .char_indices()
        .find(|(_, c)| matches!(c, '/' | '?'))
        .unwrap_or((rest.len(), ' '));
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_names_postgres_and_anything_else_is_refused() {
        assert_eq!(
            "postgres://u:p@db:5432/siteproof"
                .parse::<Database>()
                .unwrap(),
            Database::Postgres("postgres://u:p@db:5432/siteproof".into())
        );
        assert!(matches!(
            "PostgreSQL://db/x".parse::<Database>(),
            Ok(Database::Postgres(_))
        ));
        assert_eq!("embedded".parse::<Database>().unwrap(), Database::Embedded);
        assert_eq!("sqlite".parse::<Database>().unwrap(), Database::Embedded);
        for bad in ["mysql://db/x", "/var/lib/siteproof.db", "", "db:5432"] {
            let e = bad.parse::<Database>().unwrap_err().to_string();
            assert!(e.contains("postgres://"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_password_is_never_shown() {
        let shown = |u: &str| u.parse::<Database>().unwrap().to_string();
        assert_eq!(
            shown("postgres://app:s3cret@db.internal:5432/siteproof?sslmode=verify-full"),
            "postgres://app:***@db.internal:5432/siteproof?sslmode=verify-full"
        );
        assert_eq!(
            shown("postgresql://db/x?user=app&password=s3cret"),
            "postgresql://db/x?user=app&password=***"
        );
        assert_eq!(shown("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(
            format!("{:?}", "postgres://a:b:c@h/x".parse::<Database>().unwrap()),
            "postgres://a:***@h/x"
        );
        assert_eq!(Database::Embedded.to_string(), "embedded");
    }
}
