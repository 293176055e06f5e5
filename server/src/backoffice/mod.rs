//! The back office (安委会办公室 and sector departments) in a browser: web users bound to a
//! region, server-rendered pages (zh-CN first, English with `?lang=en`), the hazard ledger
//! (台账) and its cases.
//!
//! [`BackOffice`] is the service, tested on its own. It is split by feature, each folder
//! holding its part of the service, its SQL, its routes (`routes.rs`) and its pages
//! (`pages.rs`): `visits/` (the visit index and pages), `ledger/` (cases and the ledger),
//! `reports/` (period reports and the CSV/XLSX/PDF exports), `assignments/` (六推送),
//! `leads/` (whistleblower leads, public form included), `rosters/` (inspectors, experts),
//! `library/` (templates), `enterprises/` (the enterprise registry: import, export, merges), `collections.rs` (三收集 records from the groups). Shared: the
//! connection and its row types (`db.rs`, `rows.rs`), request extractors (`extract.rs`), the
//! page frame (`layout.rs`), languages and dates, the page headers (`headers.rs`), the login
//! pages (`login.rs`) and the router that merges every feature's routes (`router.rs`).
//! Users and sessions themselves are the identity layer's (`crate::identity::Sessions`).

mod assignments;
mod briefing;
mod collections;
mod dates;
mod directory;
pub(crate) mod enterprises;
mod extract;
pub mod headers;
mod i18n;
mod layout;
mod leads;
mod ledger;
mod library;
mod login;
mod reports;
mod rosters;
mod router;
mod rows;
mod supervision;
mod visits;

use std::sync::Arc;
use std::time::Duration;

pub use crate::identity::{NewUser, Role, WebUser};
pub use assignments::{AssignmentRow, NewAssignment};
pub use enterprises::{
    Enterprise, EnterpriseHistory, EnterpriseLead, EnterpriseListRow, ImportProblem, RepeatFinding,
    SiteMerge,
};
pub(crate) use leads::LeadsApi;
pub use leads::{LeadGate, LeadInput, LeadReceiptStatus, LeadRow, LeadStatus, Triage};
pub use ledger::CaseInput;
pub use library::{TemplateEntry, TemplateState};
pub use reports::{Report, ReportKind};
pub use rosters::{Expert, Inspector};
pub use router::{front_door, is_office_path, not_found, paths, router};
pub use rows::{
    CaseRow, CollectionRow, LedgerFilter, ReinspectionRow, VisitCounts, VisitFilter, VisitRow,
};
pub use supervision::{
    AuditRow, EnterpriseRisk, KeySource, List, ListEntry, Proposal, RiskCacheStats,
    SupervisionLists, TierFilter,
};
pub use visits::VisitDetail;

use automerge::{AutoCommit, ChangeHash};
use siteproof_core::{RecordHeader, RecordId, RecordKind};

use crate::blob::BlobStore;
use crate::error::{Error, Result};
use crate::identity::{DEFAULT_CHECKS, LoginGuard, LoginLimits, SessionConfig, Sessions};
use crate::storage::{FullDocument, SyncStorage};
use crate::storage::{PushWrite, RecordWrite};
use crate::work_gate::WorkGate;

/// Settings of the back office.
#[derive(Clone, Debug)]
pub struct BackOfficeConfig {
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// Whether session cookies carry `Secure` (off only for plain-HTTP local demos).
    pub secure_cookies: bool,
    /// Login attempts allowed (`crate::identity::login_guard`).
    pub logins: LoginLimits,
    /// Password checks run at once, and how many more may wait (more: 503).
    pub password_checks: (usize, usize),
    /// Whistleblower leads accepted per client address per `lead_window`.
    pub leads_per_address: usize,
    /// Whistleblower leads accepted from everyone per `lead_window`.
    pub leads_overall: usize,
    /// The window of the lead limits.
    pub lead_window: Duration,
    /// After devices of a region pushed records, how long at least before a sync rebuilds
    /// the region's enterprise directory (`backoffice/directory.rs`).
    pub directory_min_gap: Duration,
    /// The longest a region's enterprise directory goes without a rebuild (tiers and
    /// overdue hazards change with time alone).
    pub directory_max_age: Duration,
    /// Whether the supervision's kept risk facts are brought up to date in the background
    /// after each write (on: the tier view rarely reads more than a few enterprises). Off in
    /// tests that count what the requests themselves read.
    pub warm_risk_facts: bool,
}

impl Default for BackOfficeConfig {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(8 * 3600),
            secure_cookies: true,
            logins: LoginLimits::default(),
            password_checks: DEFAULT_CHECKS,
            leads_per_address: 5,
            leads_overall: 120,
            lead_window: Duration::from_secs(10 * 60),
            directory_min_gap: Duration::from_secs(30),
            directory_max_age: Duration::from_secs(15 * 60),
            warm_risk_facts: true,
        }
    }
}

/// The back-office service.
pub struct BackOffice {
    storage: Arc<dyn SyncStorage>,
    blobs: Option<Arc<dyn BlobStore>>,
    config: BackOfficeConfig,
    sessions: Arc<Sessions>,
    /// PDF and XLSX generation: two at once, eight more waiting (more: 503).
    documents: WorkGate,
    index_lock: tokio::sync::Mutex<()>,
    lead_gate: LeadGate,
    /// The supervision's risk facts kept per region between requests.
    risks: supervision::KeptRisks,
    templates: std::sync::Mutex<
        std::collections::HashMap<siteproof_core::RecordId, Arc<siteproof_core::Template>>,
    >,
    /// When each region's enterprise directory was last built, and what changed since.
    directories: std::sync::Mutex<std::collections::HashMap<String, directory::Built>>,
    /// Held while a directory is built: builds never run at once.
    directory_lock: tokio::sync::Mutex<()>,
    /// This process's actor for the directories it writes (a new one after a restart, so a
    /// server restored from a backup never reuses a change number devices already hold).
    directory_actor: automerge::ActorId,
}

impl BackOffice {
    /// The back office over the server's storage (every back-office table is behind one of
    /// its stores) and blob store.
    pub fn open(
        storage: Arc<dyn SyncStorage>,
        blobs: Option<Arc<dyn BlobStore>>,
        config: BackOfficeConfig,
    ) -> Result<Self> {
        let risks =
            supervision::KeptRisks::open(storage.supervision_store(), config.warm_risk_facts);
        // Warms the regions the database already holds, ahead of their first tier view.
        risks.changed();
        let sessions = Sessions::new(
            storage.web_user_store(),
            storage.rate_store(),
            &SessionConfig {
                ttl: config.session_ttl,
                logins: config.logins.clone(),
                password_checks: config.password_checks,
            },
        )?;
        Ok(Self {
            lead_gate: LeadGate::new(
                Arc::clone(&storage),
                config.lead_window,
                config.leads_per_address,
                config.leads_overall,
            ),
            storage,
            blobs,
            sessions,
            config,
            documents: WorkGate::new("documents", 2, 8),
            index_lock: tokio::sync::Mutex::new(()),
            risks,
            templates: std::sync::Mutex::new(std::collections::HashMap::new()),
            directories: std::sync::Mutex::new(std::collections::HashMap::new()),
            directory_lock: tokio::sync::Mutex::new(()),
            directory_actor: automerge::ActorId::random(),
        })
    }

    /// Waits for the database work in flight and closes the back office's connections.
    pub async fn close(&self) {
        self.risks.close().await;
    }

    /// Login limits, and the administrator's unlock.
    pub fn logins(&self) -> &LoginGuard {
        self.sessions.logins()
    }

    /// The gate PDF and XLSX generation go through.
    pub(crate) fn documents(&self) -> &WorkGate {
        &self.documents
    }

    /// Password checks run so far (each one argon2 computation).
    pub fn password_checks(&self) -> u64 {
        self.sessions.password_checks()
    }

    /// The settings.
    pub fn config(&self) -> &BackOfficeConfig {
        &self.config
    }

    /// Users and sessions (shared with the web layer through [`crate::Services`]).
    pub fn sessions(&self) -> &Arc<Sessions> {
        &self.sessions
    }

    /// Creates a web user ([`Sessions::create_user`]).
    pub async fn create_user(&self, user: NewUser) -> Result<i64> {
        self.sessions.create_user(user).await
    }

    /// Logs in ([`Sessions::login`]): the session id for the cookie and the user.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        address: &str,
    ) -> Result<(String, WebUser)> {
        self.sessions.login(login, password, address).await
    }

    /// The user of a live session ([`Sessions::session`]).
    pub async fn session(&self, session: &str) -> Result<Option<WebUser>> {
        self.sessions.session(session).await
    }

    /// Ends a session ([`Sessions::logout`]).
    pub async fn logout(&self, session: &str) -> Result<()> {
        self.sessions.logout(session).await
    }

    /// The groups of the user's region.
    pub async fn groups(&self, user: &WebUser) -> Result<Vec<String>> {
        let mut groups: Vec<String> = self
            .storage
            .list_groups()
            .await?
            .into_iter()
            .filter(|g| g.region.as_str() == user.region)
            .map(|g| g.id.to_string())
            .collect();
        groups.sort();
        Ok(groups)
    }
}

impl BackOffice {
    /// Record `id`'s whole stored document; an id that does not parse or is not stored is
    /// `UnknownRecord`.
    pub(super) async fn full_document(&self, id: &str) -> Result<FullDocument> {
        let unknown = || Error::UnknownRecord { id: id.to_string() };
        let record: RecordId = id.parse().map_err(|_| unknown())?;
        self.storage
            .full_document(&record)
            .await?
            .ok_or_else(unknown)
    }

    /// Loads record `id` of `kind` from the sync storage, with the log position it was read
    /// at; an unknown id or another kind is `UnknownRecord`.
    pub(super) async fn load_record(
        &self,
        id: &str,
        kind: RecordKind,
    ) -> Result<(AutoCommit, u64)> {
        let full = self.full_document(id).await?;
        full.header
            .expect_kind(kind)
            .map_err(|_| Error::UnknownRecord { id: id.to_string() })?;
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
        if header.kind != RecordKind::Directory {
            // A case or an assignment changes what the region's directory counts.
            self.directory_changed(&header.scope.region);
        }
        self.storage
            .store_push(&PushWrite {
                pushed_by: None,
                records: vec![office_write(header, doc, heads, known_through)],
            })
            .await?;
        Ok(())
    }
}

/// What the back office stores of one of its records: the changes of `doc` after `heads`
/// (empty for a new record) and a fresh snapshot, read at log position `known_through`.
pub(super) fn office_write(
    header: &RecordHeader,
    doc: &mut AutoCommit,
    heads: &[ChangeHash],
    known_through: u64,
) -> RecordWrite {
    let changes = doc
        .get_changes(heads)
        .into_iter()
        .map(|mut c| (c.hash().0, c.bytes().into_owned()))
        .collect();
    RecordWrite {
        header: header.clone(),
        changes,
        known_through,
        snapshot: Some(doc.save()),
    }
}
