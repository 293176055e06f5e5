//! The back office (安委会办公室 and sector departments) in a browser: web users bound to a
//! region, server-rendered pages (zh-CN first, English with `?lang=en`), the hazard ledger
//! (台账) and its cases.
//!
//! [`BackOffice`] is the service, tested on its own; `http` only translates requests to it and
//! renders its answers with `pages`. Its tables live in the server's SQLite (migration 002),
//! reached through a connection of its own ([`db::Db`]). Visits are read from the sync log into
//! an index (`visits`); cases are records written by the back office alone (`cases`).

mod assignments;
pub(crate) mod auth;
mod case_rows;
mod cases;
mod dates;
mod db;
mod export;
mod extract;
pub mod headers;
mod http;
mod http_content;
mod http_files;
mod http_public;
mod http_session;
mod i18n;
mod leads;
mod library;
mod notice;
mod pages;
mod report;
mod rosters;
mod rows;
mod user_rows;
mod visits;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use assignments::{AssignmentRow, NewAssignment};
pub use auth::{NewUser, Role, WebUser};
pub use cases::CaseInput;
pub use db::{CaseRow, CollectionRow, VisitCounts, VisitFilter, VisitRow};
pub use http::{paths, router};
pub use leads::{LeadGate, LeadInput, LeadReceiptStatus, LeadRow, LeadStatus, Triage};
pub use library::{TemplateEntry, TemplateState};
pub use report::{Report, ReportKind};
pub use rosters::{Expert, Inspector};
pub use visits::VisitDetail;

use automerge::{AutoCommit, ChangeHash};
use siteproof_core::{RecordHeader, RecordId, RecordKind};

use crate::blob::BlobStore;
use crate::error::{Error, Result};
use crate::login_guard::{LoginGuard, LoginLimits};
use crate::passwords::PasswordChecker;
use crate::storage::SyncStorage;
use crate::storage::{PushWrite, RecordWrite};
use crate::work_gate::WorkGate;
use db::Db;

/// Settings of the back office.
#[derive(Clone, Debug)]
pub struct BackOfficeConfig {
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// Whether session cookies carry `Secure` (off only for plain-HTTP local demos).
    pub secure_cookies: bool,
    /// Login attempts allowed (`crate::login_guard`).
    pub logins: LoginLimits,
    /// Password checks run at once, and how many more may wait (more: 503).
    pub password_checks: (usize, usize),
    /// Whistleblower leads accepted per client address per `lead_window`.
    pub leads_per_address: usize,
    /// Whistleblower leads accepted from everyone per `lead_window`.
    pub leads_overall: usize,
    /// The window of the lead limits.
    pub lead_window: Duration,
}

impl Default for BackOfficeConfig {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(8 * 3600),
            secure_cookies: true,
            logins: LoginLimits::default(),
            password_checks: crate::passwords::DEFAULT_CHECKS,
            leads_per_address: 5,
            leads_overall: 120,
            lead_window: Duration::from_secs(10 * 60),
        }
    }
}

/// The back-office service.
pub struct BackOffice {
    db: Db,
    storage: Arc<dyn SyncStorage>,
    blobs: Option<Arc<dyn BlobStore>>,
    config: BackOfficeConfig,
    logins: LoginGuard,
    passwords: Arc<PasswordChecker>,
    /// PDF and XLSX generation: two at once, eight more waiting (more: 503).
    documents: WorkGate,
    index_lock: tokio::sync::Mutex<()>,
    case_lock: tokio::sync::Mutex<()>,
    lead_lock: tokio::sync::Mutex<()>,
    lead_gate: LeadGate,
    templates: std::sync::Mutex<
        std::collections::HashMap<siteproof_core::RecordId, Arc<siteproof_core::Template>>,
    >,
}

impl BackOffice {
    /// The back office over the server's SQLite file at `db_path` (opened and migrated by
    /// [`crate::SqliteStorage`] first) and its storage and blob store.
    pub fn open(
        db_path: &Path,
        storage: Arc<dyn SyncStorage>,
        blobs: Option<Arc<dyn BlobStore>>,
        config: BackOfficeConfig,
    ) -> Result<Self> {
        Ok(Self {
            db: Db::open(db_path)?,
            storage,
            blobs,
            logins: LoginGuard::open(db_path, config.logins.clone())?,
            passwords: Arc::new(PasswordChecker::new(
                config.password_checks.0,
                config.password_checks.1,
            )),
            lead_gate: LeadGate::new(
                config.lead_window,
                config.leads_per_address,
                config.leads_overall,
            ),
            config,
            documents: WorkGate::new("documents", 2, 8),
            index_lock: tokio::sync::Mutex::new(()),
            case_lock: tokio::sync::Mutex::new(()),
            lead_lock: tokio::sync::Mutex::new(()),
            templates: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// Waits for the database work in flight and closes the back office's connection.
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// Login throttling, and the administrator's unlock.
    pub fn logins(&self) -> &LoginGuard {
        &self.logins
    }

    /// The gate PDF and XLSX generation go through.
    pub(crate) fn documents(&self) -> &WorkGate {
        &self.documents
    }

    /// Password checks run so far (each one argon2 computation).
    pub fn password_checks(&self) -> u64 {
        self.passwords.checks()
    }

    /// The settings.
    pub fn config(&self) -> &BackOfficeConfig {
        &self.config
    }

    /// Creates a web user; a taken login is a conflict.
    pub async fn create_user(&self, user: NewUser) -> Result<i64> {
        if user.login.trim().is_empty() || user.password.chars().count() < 8 {
            return Err(Error::InvalidInput(
                "a user needs a login and a password of at least 8 characters".into(),
            ));
        }
        let hash = auth::hash_password(&user.password)?;
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
        self.db
            .run(move |c| user_rows::insert_user(c, &row, siteproof_core::now()))
            .await?
            .ok_or_else(|| Error::Conflict(format!("the login {login} is taken")))
    }

    /// Checks a password and opens a session: the session id for the cookie (only its hash is
    /// stored) and the user. Refused alike for an unknown login and a wrong password; refused
    /// before any work once the attempt is over a limit (`crate::login_guard`).
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        address: &str,
    ) -> Result<(String, WebUser)> {
        self.logins.admit(login, address)?;
        let owned = login.to_owned();
        let found = self
            .db
            .run(move |c| user_rows::password_of(c, &owned))
            .await?;
        let (user, hash) = found.unzip();
        // An unknown login gets a decoy check of the same cost: no probing by timing.
        let user = match self.passwords.verify(password, hash).await? {
            true => user,
            false => None,
        };
        let Some(user_id) = user else {
            return Err(Error::Unauthorized("the login or the password is wrong"));
        };
        self.logins.succeeded(login, address);
        let session = auth::random_token();
        let csrf = auth::random_token();
        let hash = auth::session_hash(&session);
        let now = siteproof_core::now();
        let expires = now + i64::try_from(self.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
        self.db
            .run(move |c| user_rows::insert_session(c, &hash, user_id, &csrf, now, expires))
            .await?;
        let user = self
            .session(&session)
            .await?
            .ok_or_else(|| Error::Internal("a new session is not found".into()))?;
        Ok((session, user))
    }

    /// The user of a live session.
    pub async fn session(&self, session: &str) -> Result<Option<WebUser>> {
        let hash = auth::session_hash(session);
        let now = siteproof_core::now();
        let Some((cols, csrf)) = self
            .db
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
        let hash = auth::session_hash(session);
        let now = siteproof_core::now();
        self.db
            .run(move |c| user_rows::delete_session(c, &hash, now))
            .await
    }

    /// The groups of the user's region.
    pub async fn groups(&self, user: &WebUser) -> Result<Vec<String>> {
        let region = user.region.clone();
        self.db.run(move |c| db::groups(c, &region)).await
    }
}

impl BackOffice {
    /// Loads record `id` of `kind` from the sync storage, with the log position it was read
    /// at; an unknown id or another kind is `UnknownRecord`.
    pub(super) async fn load_record(
        &self,
        id: &str,
        kind: RecordKind,
    ) -> Result<(AutoCommit, u64)> {
        let unknown = || Error::UnknownRecord { id: id.to_string() };
        let record: RecordId = id.parse().map_err(|_| unknown())?;
        let full = self
            .storage
            .full_document(&record)
            .await?
            .ok_or_else(unknown)?;
        full.header.expect_kind(kind).map_err(|_| unknown())?;
        let doc = siteproof_core::document::decode(&full.to_bytes(), automerge::ActorId::random())
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok((doc, full.max_seq()))
    }

    /// Stores what the back office wrote to one of its records (template, case, assignment):
    /// the changes of `doc` after `heads` (empty for a new record) and a fresh snapshot.
    /// `known_through` is the log position the record was read at (0 for a new record).
    pub(super) async fn store_office_record(
        &self,
        header: &RecordHeader,
        doc: &mut AutoCommit,
        heads: &[ChangeHash],
        known_through: u64,
    ) -> Result<()> {
        let changes = doc
            .get_changes(heads)
            .into_iter()
            .map(|mut c| (c.hash().0, c.bytes().into_owned()))
            .collect();
        self.storage
            .store_push(&PushWrite {
                pushed_by: None,
                records: vec![RecordWrite {
                    header: header.clone(),
                    changes,
                    known_through,
                    snapshot: Some(doc.save()),
                }],
            })
            .await?;
        Ok(())
    }
}

/// Whether a CSRF token sent with a form is the session's.
pub fn csrf_ok(user: &WebUser, sent: &str) -> bool {
    auth::tokens_equal(&user.csrf, sent)
}
