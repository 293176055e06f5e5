//! A fresh PostgreSQL database per test, made in the cluster that
//! `SITEPROOF_TEST_DATABASE_URL` names and dropped when the test ends, so tests run in
//! parallel without meeting. `scripts/test-all.sh` starts a throwaway cluster and sets the
//! variable; by hand: `scripts/postgres.sh run cargo test -p siteproof-server --test NAME`.
//! Without the variable the test fails: a PostgreSQL test never passes by not running.
#![allow(dead_code)]

use tokio_postgres::{Client, Config, NoTls};

/// The variable naming the test cluster (any database of it; the tests make their own).
pub const URL_VAR: &str = "SITEPROOF_TEST_DATABASE_URL";

/// One test's database.
pub struct TestDatabase {
    /// Reaches the test's database.
    pub config: Config,
    /// Its name.
    pub name: String,
    admin: Config,
}

impl TestDatabase {
    /// Creates an empty database in the test cluster.
    pub async fn create() -> Self {
        let url = std::env::var(URL_VAR).unwrap_or_else(|_| {
            panic!(
                "{URL_VAR} is not set, so the PostgreSQL tests cannot run: start a throwaway \
                 cluster with `scripts/postgres.sh run cargo test ...` (scripts/test-all.sh does)"
            )
        });
        let admin: Config = url
            .parse()
            .unwrap_or_else(|e| panic!("{URL_VAR} is not a PostgreSQL URL: {e}"));
        let name = format!("siteproof_test_{}", hex::encode(rand::random::<[u8; 8]>()));
        connect(&admin)
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the test database");
        let mut config = admin.clone();
        config.dbname(&name);
        Self {
            config,
            name,
            admin,
        }
    }

    /// The test database's URL, for a server to open (`--database`, `ServerConfig::database`).
    pub fn url(&self) -> String {
        let cluster = std::env::var(URL_VAR).expect("the variable was read at creation");
        let (base, query) = match cluster.split_once('?') {
            Some((base, query)) => (base.to_owned(), format!("?{query}")),
            None => (cluster.clone(), String::new()),
        };
        let (server, _) = base
            .rsplit_once('/')
            .filter(|(server, _)| server.ends_with(|c: char| c != '/'))
            .unwrap_or((base.as_str(), ""));
        format!("{server}/{}{query}", self.name)
    }

    /// A plain connection to the test's database, for looking at what the storage wrote.
    pub async fn client(&self) -> Client {
        connect(&self.config).await
    }
}

async fn connect(config: &Config) -> Client {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test cluster ({URL_VAR}): {e}"));
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("test cluster connection: {e}");
        }
    });
    client
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own
        // with a runtime of its own drops the database (FORCE ends connections still open).
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let (client, connection) = admin.connect(NoTls).await?;
                let connection = tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await?;
                drop(client);
                let _ = connection.await;
                Ok::<_, tokio_postgres::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("dropping test database {} failed: {dropped:?}", self.name);
        }
    }
}
