//! Fixtures of the server's integration tests: a server over a temporary SQLite database, and
//! phones (core `Store`s) that push and pull through `app()` in-process.
#![allow(dead_code)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_bytes::ByteBuf;
use siteproof_core::sync::wire::{self, Cursor, PushRecord, SyncRequest, SyncResponse};
use siteproof_core::*;
use siteproof_server::{AppState, EnrollResponse, GroupId, ServerConfig, app};
use tower::ServiceExt;

/// A small template with one item of every answer kind (the core tests' fixture).
pub fn template() -> Template {
    serde_json::from_str(
        r#"{
      "id": "fixture", "version": 1, "sector": "fire_safety",
      "title": {"zh": "消防检查", "en": "Fire check"},
      "source": {"document": "重大火灾隐患判定方法", "reference": "GB 35181"},
      "items": [
        {"id": "exits", "text": {"zh": "安全出口畅通", "en": "Exits clear"},
         "criterion": {"document": "GB 35181", "clause": "6.1"}, "severity": "major",
         "answer": {"kind": "pass_fail"}, "evidence_required": true},
        {"id": "extinguishers", "text": {"zh": "灭火器数量", "en": "Extinguisher count"},
         "criterion": {"document": "GB 35181", "clause": "6.2"}, "severity": "general",
         "answer": {"kind": "number", "unit": "个"}, "evidence_required": false},
        {"id": "remarks", "text": {"zh": "备注", "en": "Remarks"},
         "criterion": {"document": "GB 35181", "clause": "6.3"}, "severity": "general",
         "answer": {"kind": "text"}, "evidence_required": false},
        {"id": "alarm", "text": {"zh": "报警系统", "en": "Alarm system"},
         "criterion": {"document": "GB 35181", "clause": "6.4"}, "severity": "major",
         "answer": {"kind": "choice", "choices": ["正常", "故障", "未安装"]}, "evidence_required": true}
      ]
    }"#,
    )
    .expect("fixture template is valid JSON")
}

pub fn new_visit(t: &Template, site: &str) -> NewVisit {
    NewVisit {
        site: Site {
            name: site.into(),
            credit_code: Some("91130100MA0000000X".into()),
            address: "石家庄市长安区".into(),
            sector: t.sector,
        },
        mode: VisitMode::Covert,
        team: vec!["张三".into(), "李四".into()],
        template: TemplateRef {
            id: t.id.clone(),
            version: t.version,
        },
        assignment: None,
        location: Some(GeoPoint {
            lat: 38.04,
            lon: 114.51,
            accuracy_m: Some(5.0),
        }),
    }
}

pub fn pass() -> AnswerInput {
    AnswerInput {
        value: AnswerValue::Pass,
        note: None,
        media: vec![],
    }
}

pub fn fail(note: &str) -> AnswerInput {
    AnswerInput {
        value: AnswerValue::Fail,
        note: Some(note.into()),
        media: vec![],
    }
}

pub fn item(id: &str) -> ItemId {
    id.parse().expect("item id")
}

#[path = "../pg_fixture/mod.rs"]
pub mod pg_fixture;

/// The variable that runs a suite's servers on PostgreSQL: `SITEPROOF_TEST_BACKEND=postgres`
/// (with `SITEPROOF_TEST_DATABASE_URL` naming the test cluster, each server then gets a fresh
/// database of its own); unset, they run on the embedded SQLite file.
pub const BACKEND_VAR: &str = "SITEPROOF_TEST_BACKEND";

/// A fresh database in the test cluster (for a server restored from a backup).
pub async fn new_test_database() -> pg_fixture::TestDatabase {
    pg_fixture::TestDatabase::create().await
}

/// Whether this run's servers use PostgreSQL.
pub fn on_postgres() -> bool {
    match std::env::var(BACKEND_VAR).as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("{BACKEND_VAR}={other}: postgres or sqlite"),
    }
}

/// A server over a fresh database with groups `g1` and `g2` in region `hebei`.
pub struct TestServer {
    pub state: AppState,
    pub dir: tempfile::TempDir,
    /// The server's PostgreSQL database when the suite runs on it; dropped after the server.
    pub database: Option<pg_fixture::TestDatabase>,
}

impl TestServer {
    pub async fn new() -> Self {
        Self::with_config(ServerConfig::default()).await
    }

    pub async fn with_config(mut config: ServerConfig) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let database = if on_postgres() {
            let db = pg_fixture::TestDatabase::create().await;
            config.database = siteproof_server::storage::Database::Postgres(db.url());
            Some(db)
        } else {
            None
        };
        let state = AppState::open(dir.path(), config)
            .await
            .expect("open server state");
        for g in ["g1", "g2"] {
            state
                .admin
                .create_group(
                    "hebei".parse().expect("region"),
                    g,
                    Some(g.parse().expect("group")),
                )
                .await
                .expect("create group");
        }
        Self {
            state,
            dir,
            database,
        }
    }

    /// The configuration another process of this server would start with: the same database
    /// (with the embedded default, the same data directory opens it).
    pub fn config_of_another_process(&self) -> ServerConfig {
        let mut config = ServerConfig::default();
        if let Some(db) = &self.database {
            config.database = siteproof_server::storage::Database::Postgres(db.url());
        }
        config
    }

    pub fn app(&self) -> Router {
        app(self.state.clone())
    }

    /// Shuts the in-process server down (its connections closed, its log folded in) and
    /// hands over its data folder, for a server process to open next.
    pub async fn close(self) -> tempfile::TempDir {
        self.close_keeping_database().await.0
    }

    /// As [`TestServer::close`], with the PostgreSQL database the server ran on (when the
    /// suite runs there), kept for server processes to open next.
    pub async fn close_keeping_database(
        self,
    ) -> (tempfile::TempDir, Option<pg_fixture::TestDatabase>) {
        self.state.shutdown().await.expect("shutdown");
        (self.dir, self.database)
    }

    /// Sends a request to `app()` and returns status, content type and body.
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, String, Bytes) {
        let resp = self.app().oneshot(req).await.expect("infallible service");
        let status = resp.status();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        (status, ct, body)
    }

    /// Issues a code for `group` and redeems it.
    pub async fn enroll(&self, group: &str) -> EnrollResponse {
        let group: GroupId = group.parse().expect("group id");
        let code = self
            .state
            .admin
            .issue_enrollment_code(&group, std::time::Duration::from_secs(3600))
            .await
            .expect("issue code");
        let (status, _, body) = self.enroll_with(&code.code, "test phone").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "enroll: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).expect("enroll response")
    }

    pub async fn enroll_with(&self, code: &str, name: &str) -> (StatusCode, String, Bytes) {
        let body = serde_json::json!({ "code": code, "device_name": name }).to_string();
        self.send(
            Request::post("/v1/enroll")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    /// A raw `POST /v1/sync`.
    pub async fn sync_raw(
        &self,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, String, Bytes) {
        let mut req = Request::post("/v1/sync").header(header::CONTENT_TYPE, wire::CONTENT_TYPE);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.send(req.body(Body::from(body)).expect("request"))
            .await
    }

    /// A `POST /v1/sync` that must succeed.
    pub async fn sync(&self, token: &str, req: &SyncRequest) -> SyncResponse {
        let (status, ct, body) = self.sync_raw(Some(token), wire::encode(req)).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "sync failed: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(ct, wire::CONTENT_TYPE);
        wire::decode(&body).expect("sync response")
    }

    /// How many changes the server stores for a record.
    pub async fn stored_changes(&self, id: &RecordId) -> usize {
        self.state
            .storage
            .changes_after(id, 0)
            .await
            .expect("changes")
            .len()
    }
}

impl TestServer {
    /// How many changes the server stores in all.
    pub async fn total_changes(&self) -> i64 {
        let rows = self.rows("SELECT COUNT(*) FROM changes").await;
        rows[0][0].parse().expect("a count")
    }

    /// The rows of `sql` (plain SQL both backends read alike) as text, `NULL` as an empty
    /// string: what a test looks at in the database the server wrote, whichever it is.
    pub async fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match &self.database {
            Some(db) => db
                .client()
                .await
                .simple_query(sql)
                .await
                .expect("query")
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                        (0..r.len())
                            .map(|i| r.get(i).unwrap_or_default().to_owned())
                            .collect(),
                    ),
                    _ => None,
                })
                .collect(),
            None => {
                use rusqlite::types::ValueRef;
                let conn = rusqlite::Connection::open(self.dir.path().join("siteproof.db"))
                    .expect("raw db");
                let mut stmt = conn.prepare(sql).expect("sql");
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            Ok(match r.get_ref(i)? {
                                ValueRef::Null => String::new(),
                                ValueRef::Integer(v) => v.to_string(),
                                ValueRef::Real(v) => v.to_string(),
                                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                                ValueRef::Blob(b) => hex::encode(b),
                            })
                        })
                        .collect()
                })
                .expect("rows")
                .collect::<Result<_, _>>()
                .expect("values")
            }
        }
    }

    /// Waits for the background compaction, then checks that the record's snapshot covers
    /// all its changes.
    pub async fn wait_for_snapshot(&self, id: &RecordId) {
        self.state.sync.settle().await;
        let full = self
            .state
            .storage
            .full_document(id)
            .await
            .expect("full")
            .expect("stored");
        assert!(
            full.trailing.is_empty() && full.snapshot.is_some(),
            "the snapshot of {id} did not catch up after compaction"
        );
    }

    /// Fails unless a plain sync of `phone` still works.
    pub async fn assert_still_serves(&self, phone: &mut Phone) {
        let req = SyncRequest {
            cursor: phone.cursor.clone(),
            push: vec![],
            need_full: vec![],
            max_bytes: 1 << 20,
            reads: Vec::new(),
        };
        self.sync(&phone.token, &req).await;
    }
}

/// Asserts a JSON error body with `code` and a non-empty message.
pub fn assert_error(
    status: StatusCode,
    ct: &str,
    body: &[u8],
    want_status: StatusCode,
    code: &str,
) {
    let text = String::from_utf8_lossy(body);
    assert_eq!(status, want_status, "body: {text}");
    assert!(
        ct.starts_with("application/json"),
        "content type {ct}, body {text}"
    );
    let v: serde_json::Value = serde_json::from_slice(body).expect("JSON error body");
    assert_eq!(v["error"], code, "body: {text}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.len() > 10),
        "body: {text}"
    );
}

/// A phone: a core store, enrolled on the test server.
pub struct Phone {
    pub store: Store,
    pub token: String,
    pub device_id: String,
    pub cursor: Option<Cursor>,
    _dir: tempfile::TempDir,
}

impl Phone {
    /// Enrolls a phone into `group` (region `hebei`) with the fixture template installed.
    pub async fn enroll(server: &TestServer, group: &str) -> Self {
        let enrolled = server.enroll(group).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(dir.path().join("phone.db")).expect("store");
        store
            .set_profile(&Profile {
                inspector: "张三".into(),
                scope: Scope::group(enrolled.region.clone(), enrolled.group.clone()),
            })
            .expect("profile");
        store.put_template(&template()).expect("template");
        Self {
            store,
            token: enrolled.token,
            device_id: enrolled.device_id.to_string(),
            cursor: None,
            _dir: dir,
        }
    }

    /// Creates a visit with one answer.
    pub fn capture_visit(&mut self, site: &str) -> RecordId {
        let visit = self
            .store
            .create_visit(new_visit(&template(), site))
            .expect("visit");
        self.store
            .answer_item(&visit, &item("exits"), fail("出口堵塞"))
            .expect("answer");
        visit
    }

    /// The outbox as push records.
    pub fn outbox(&mut self) -> Vec<PushRecord> {
        self.store
            .pending_changes(10_000)
            .expect("pending")
            .into_iter()
            .map(|p| PushRecord {
                id: p.id,
                changes: p.changes.into_iter().map(ByteBuf::from).collect(),
            })
            .collect()
    }

    pub fn request(&mut self, max_bytes: u64) -> SyncRequest {
        SyncRequest {
            cursor: self.cursor.clone(),
            push: self.outbox(),
            need_full: vec![],
            max_bytes,
            reads: Vec::new(),
        }
    }

    /// Sends the outbox and the cursor; does not apply the response.
    pub async fn round(&mut self, server: &TestServer, max_bytes: u64) -> SyncResponse {
        let req = self.request(max_bytes);
        server.sync(&self.token, &req).await
    }

    /// Applies a response: acknowledges, merges, keeps the cursor.
    pub fn apply(&mut self, resp: &SyncResponse) {
        let acked: Vec<(RecordId, ChangeHash)> = resp
            .acked
            .iter()
            .flat_map(|a| {
                a.hashes.iter().map(|h| {
                    (
                        a.id.clone(),
                        ChangeHash::try_from(h.as_slice()).expect("32-byte hash"),
                    )
                })
            })
            .collect();
        self.store.acknowledge(&acked).expect("acknowledge");
        for r in &resp.records {
            self.store
                .merge(Some(&r.id), &r.data, MergeOrigin::Server)
                .expect("merge pulled record");
        }
        self.cursor = Some(resp.cursor.clone());
    }

    /// Syncs until the server has nothing more; returns every response.
    pub async fn sync_all(&mut self, server: &TestServer, max_bytes: u64) -> Vec<SyncResponse> {
        let mut out = Vec::new();
        for _ in 0..1000 {
            let req = self.request(max_bytes);
            let resp = server.sync(&self.token, &req).await;
            self.apply(&resp);
            let more = resp.more;
            out.push(resp);
            if !more && self.store.outbox_len().expect("outbox") == 0 {
                return out;
            }
        }
        panic!("sync did not finish in 1000 rounds");
    }
}

/// A server on a real loopback port, stopped when dropped (or with `stop`).
pub struct RealServer {
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RealServer {
    /// Serves `server`'s state on 127.0.0.1, port 0.
    pub async fn start(server: &TestServer) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = server.state.clone();
        let done = tokio::spawn(async move {
            siteproof_server::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
        });
        Self {
            addr,
            stop: Some(stop),
            done,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Sets the expiry of every upload in `storage` to `at` (ms), as the clock passing would make
/// it: each row is saved as it stands by a lease taken for it and given back (once the last
/// request's lease is given back: that happens just after its answer).
pub async fn set_upload_expiry(storage: &dyn siteproof_server::SyncStorage, at: i64) {
    let (uploads, leases) = (storage.upload_store(), storage.upload_lease_store());
    for row in uploads.uploads().await.expect("uploads") {
        if row.progress.completed {
            continue;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let now = loop {
            let now = siteproof_core::model::now();
            let taken = leases
                .take_lease(&row.id, "the clock", now, now + 60_000)
                .await
                .expect("lease");
            if taken {
                break now;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "upload {} is still being written",
                row.id
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        let saved = uploads
            .save_upload(
                &row.id,
                "the clock",
                now,
                row.progress.offset,
                &row.progress,
                at,
            )
            .await
            .expect("save");
        assert!(saved, "upload {}", row.id);
        leases
            .release_lease(&row.id, "the clock")
            .await
            .expect("release");
    }
}
