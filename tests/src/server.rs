//! A real sync server on a loopback port, in a thread of its own, for scenarios that talk to
//! it over HTTP like a phone would. Stopping it shuts it down gracefully; starting it again on
//! the same folder is a server restart.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use siteproof_core::{Store, SyncClient};
use siteproof_server::backoffice::{BackOffice, NewUser, Role, WebUser};
use siteproof_server::{AppState, GroupId, RegionCode, ServerConfig};

/// A running server over the embedded default (SQLite + files) in `dir`.
pub struct TestServer {
    dir: PathBuf,
    addr: SocketAddr,
    state: AppState,
    runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts a server on a free loopback port.
    pub fn start(dir: &Path) -> Self {
        Self::start_on(dir, "127.0.0.1:0".parse().expect("address"))
    }

    /// Starts a server on a free loopback port with `config`.
    pub fn start_with(dir: &Path, config: ServerConfig) -> Self {
        Self::start_configured(dir, "127.0.0.1:0".parse().expect("address"), config)
    }

    /// Starts a server on `addr` (to restart on the port devices know).
    pub fn start_on(dir: &Path, addr: SocketAddr) -> Self {
        Self::start_configured(dir, addr, ServerConfig::default())
    }

    fn start_configured(dir: &Path, addr: SocketAddr, config: ServerConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let state = runtime
            .block_on(AppState::open(dir, config))
            .expect("open server");
        let listener = runtime.block_on(async {
            // A restarted server may find its old port briefly busy.
            for _ in 0..50 {
                match tokio::net::TcpListener::bind(addr).await {
                    Ok(l) => return l,
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
            panic!("cannot bind {addr}");
        });
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = runtime.spawn(siteproof_server::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Self {
            dir: dir.to_path_buf(),
            addr,
            state,
            runtime,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The port's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The services, for administration in tests.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Runs an async admin call on the server's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Creates a group in region `hebei` and returns its id.
    pub fn create_group(&self, name: &str) -> GroupId {
        let region: RegionCode = "hebei".parse().expect("region");
        self.block_on(self.state.admin.create_group(region, name, None))
            .expect("group")
            .id
    }

    /// A one-time enrollment code for `group`.
    pub fn enrollment_code(&self, group: &GroupId) -> String {
        self.block_on(
            self.state
                .admin
                .issue_enrollment_code(group, Duration::from_secs(3600)),
        )
        .expect("code")
        .code
    }

    /// Publishes a template version.
    pub fn publish_template(&self, template: &siteproof_core::Template) {
        self.block_on(self.state.admin.publish_template(template))
            .expect("publish");
    }

    /// Opens a store at `path` and enrolls it into `group` over HTTP, then syncs once.
    pub fn enroll_store(&self, group: &GroupId, path: &Path, inspector: &str) -> Store {
        let mut store = crate::open_store(path, inspector);
        let code = self.enrollment_code(group);
        SyncClient::new(&self.url())
            .expect("client")
            .enroll(&mut store, &code, inspector)
            .expect("enroll");
        store.sync().expect("first sync");
        store
    }

    /// The back office.
    pub fn office(&self) -> &BackOffice {
        &self.state.backoffice
    }

    /// A signed-in back-office user of region `hebei` with `role`.
    pub fn office_user(&self, login: &str, role: Role) -> WebUser {
        self.block_on(async {
            self.office()
                .create_user(NewUser {
                    login: login.into(),
                    name: login.into(),
                    password: "correct horse battery".into(),
                    role,
                    region: "hebei".into(),
                    sectors: vec![],
                })
                .await
                .expect("user");
            self.office()
                .login(login, "correct horse battery", "127.0.0.1")
                .await
                .expect("login")
                .1
        })
    }

    /// Stops the server gracefully; returns its folder.
    pub fn stop(mut self) -> PathBuf {
        self.shutdown();
        self.dir.clone()
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = self.runtime.block_on(task);
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
