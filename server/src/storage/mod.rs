//! Where the server keeps its state: groups, enrollment codes, devices, and every record as an
//! append-only log of Automerge changes plus a per-record snapshot.
//!
//! [`SyncStorage`] is the seam between the sync logic and a database. The SQLite
//! implementation ([`SqliteStorage`]) is the embedded default; the PostgreSQL one
//! ([`PostgresStorage`], for several server processes on one database) passes the same suite
//! ([`crate::storage_suite`]). [`Database`] names the one a server opens.
//!
//! [`RateStore`] holds the throttling counters (logins, enrollments, the lead form) beside
//! them, so a limit holds across every process on one database; each backend implements it
//! on its own tables and returns itself from [`SyncStorage::rate_store`]. [`WebUserStore`]
//! holds the back office's users and sessions the same way ([`SyncStorage::web_user_store`]),
//! so a session opened on one process is live on every other. [`LeadStore`] keeps the
//! whistleblower leads ([`SyncStorage::lead_store`]), so a lead is triaged once whichever
//! process decides; [`TemplateStore`] the template library ([`SyncStorage::template_store`]),
//! so a template version is published once; [`RosterStore`] the inspectors and experts
//! ([`SyncStorage::roster_store`]); [`AssignmentStore`] the assignments the office issued
//! ([`SyncStorage::assignment_store`]), each record stored with its row in one transaction;
//! [`CustodyStore`] the chain of custody and the evidence checks it records
//! ([`SyncStorage::custody_store`]), one chain in one order whichever process appends;
//! [`CaseStore`] the hazard cases the office writes ([`SyncStorage::case_store`]), each
//! write of a case record, its ledger row and its custody entry one transaction, conditional
//! on what the office read; [`EnterpriseStore`] the enterprise registry and the site merges
//! ([`SyncStorage::enterprise_store`]), one live merge per site and one row per enterprise
//! whichever process writes; [`OfficeIndexStore`] the office's index of synced visits, its
//! ledger lists and report figures ([`SyncStorage::office_index_store`]), refreshed by any
//! process without a row read earlier replacing one read later; [`SupervisionStore`] tiered
//! supervision's lists, their audit and the risk facts with the log of their changes
//! ([`SyncStorage::supervision_store`]), an open list entry taken once whichever process adds
//! it; [`UploadLeaseStore`] the leases on tus uploads
//! ([`SyncStorage::upload_lease_store`]), so one process at a time appends to an upload;
//! [`UploadStore`] where each tus upload stands ([`SyncStorage::upload_store`]), its offset
//! saved only by the lease's holder and from the offset it read.
//! Which office rows a reader sees is a [`RowFilter`] from the visibility policy, which each
//! backend translates into its own SQL.
//!
//! Rules every implementation keeps:
//!
//! - `seq` is global, strictly increasing, never reused, and a reader never sees a change with
//!   a lower `seq` appear after one with a higher `seq` was visible (pull cursors rely on it;
//!   PostgreSQL serialises appends with a transaction-scoped advisory lock).
//! - A change is stored at most once per record (`UNIQUE (doc_id, hash)`); storing it again is
//!   a no-op, not an error.
//! - Rows are never rewritten by read-modify-write outside one transaction, so several server
//!   processes may accept changes for one record at once.
//! - A tus upload's offset moves only in one statement that checks the saver's live lease and
//!   the offset it read, so an offset never goes back and no chunk counts twice.

mod assignments;
mod cases;
mod columns;
mod custody;
mod database;
mod enterprises;
mod leads;
mod office_index;
mod postgres;
mod rate;
mod rosters;
mod row_filter;
mod sqlite;
mod supervision;
mod templates;
mod upload_leases;
mod uploads;
mod web_users;

use async_trait::async_trait;
use siteproof_core::{DeviceId, RecordHeader, RecordId, RecordKind, Scope};

use crate::ids::{GroupId, RegionCode};

pub use assignments::{ASSIGNMENT_LIST_LIMIT, AssignmentStore, IssuedAssignment};
pub use cases::{CaseRow, CaseStore, ledger_columns};
pub use custody::{
    BrokenLink, ChainCheck, CustodyEntry, CustodyEvent, CustodyStore, ENTRY_VERSION, EvidenceRow,
    EvidenceSigner, GENESIS,
};
pub use database::Database;
pub use enterprises::{
    CANDIDATE_ROWS, Enterprise, EnterpriseHistory, EnterpriseLead, EnterpriseListRow,
    EnterpriseReader, EnterpriseStore, HISTORY_ROWS, IndexedFinding, RepeatFinding, SiteMerge,
};
pub use leads::{LEAD_LIST_LIMIT, LeadRecord, LeadState, LeadStore, LeadTriage, NewLead};
pub use office_index::{
    CollectionRow, FindingEntry, FindingRow, HazardCounts, IndexPosition, IndexRows, LedgerFilter,
    OfficeIndexStore, PeriodFigures, ReinspectionRow, SectorCount, VisitCounts, VisitFilter,
    VisitRow,
};
pub use postgres::{PostgresCondition, PostgresStorage, SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION};
pub use rate::{Admission, RateKey, RateStore};
pub use rosters::{Expert, GroupChange, Inspector, RosterStore};
pub use row_filter::{RowFilter, SectorRows};
pub use sqlite::enterprises as sqlite_enterprises;
pub use sqlite::file_copy::{FileCopyError, check_database_file, copy_database_file};
pub use sqlite::{
    SQLITE_CASE_COLUMNS, SharedConnection, SqliteCondition, SqliteStorage, put_sqlite_case_row,
    sqlite_case_row,
};
pub use supervision::{
    AuditRow, Facts, Gathered, HeldWrite, ListEntry, ListRemoval, NewListEntry, OfficeRows,
    RiskPosition, RiskRead, RiskUpdate, RiskView, SupervisionList, SupervisionStore, VisitFixture,
};
pub use templates::{DraftImport, TemplateDraft, TemplateStore, TemplateVersion};
pub use upload_leases::UploadLeaseStore;
pub use uploads::{UploadProgress, UploadRow, UploadStore};
pub use web_users::{NewSession, NewWebUser, WebUserRow, WebUserStore};

/// The embedded database's file name in a data directory.
pub const DATABASE_FILE: &str = "siteproof.db";

/// A scan of at most this many log rows costs less than handing it to another thread and back
/// (two thread wake-ups): the pull after a cursor asks for this many first, and SQLite reads
/// them on the request's thread when a read connection is free.
pub const SMALL_SCAN_ROWS: u32 = 128;

/// A change hash: 32 bytes of SHA-256, as Automerge computes it.
pub type Hash = [u8; 32];

/// Failures of a storage backend.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StorageError {
    /// A write conflicts with what is stored (a duplicate id, or a record created concurrently
    /// with another header).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Something that should exist does not.
    #[error("not found: {0}")]
    NotFound(String),
    /// The backend failed; the detail is for the log, never for a client.
    #[error("storage backend: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Backend(e.to_string())
    }
}

/// Shorthand for storage results.
pub type StorageResult<T> = Result<T, StorageError>;

/// A group of inspectors within a region; devices enroll into one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRecord {
    /// The group's id (the `group` of record scopes).
    pub id: GroupId,
    /// The region it belongs to (the `region` of record scopes).
    pub region: RegionCode,
    /// Display name.
    pub name: String,
    /// Creation time, ms since the Unix epoch.
    pub created_at: i64,
}

/// A one-time enrollment code as stored: only its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrollmentCodeRecord {
    /// SHA-256 of the code's canonical form.
    pub code_hash: Hash,
    /// The group a device enrolled with it joins.
    pub group: GroupId,
    /// When it was issued, ms since the Unix epoch.
    pub created_at: i64,
    /// After this instant (ms) it is refused.
    pub expires_at: i64,
}

/// A device about to be enrolled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDevice {
    /// Its new id.
    pub id: DeviceId,
    /// A name the inspector or the office gave it.
    pub name: String,
    /// SHA-256 of its bearer token.
    pub token_hash: Hash,
    /// Enrollment time, ms since the Unix epoch.
    pub enrolled_at: i64,
    /// Its Ed25519 public key for signed evidence, if it sent one.
    pub public_key: Option<[u8; 32]>,
}

/// An enrolled device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Its id.
    pub id: DeviceId,
    /// Its name.
    pub name: String,
    /// The region and group it captures for.
    pub scope: Scope,
    /// Enrollment time, ms since the Unix epoch.
    pub enrolled_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// A device found by its token, with the revoked devices of its group: what a sync needs to
/// know of its caller, read together ([`SyncStorage::device_session`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSession {
    /// The device (revoked ones too: the caller decides).
    pub device: DeviceRecord,
    /// The revoked devices of its group (region and group of its scope), in id order.
    pub revoked: Vec<DeviceId>,
}

/// What the server knows of a record without loading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocMeta {
    /// Kind, id and scope (immutable after creation).
    pub header: RecordHeader,
    /// The `seq` of the record's first stored change.
    pub created_seq: u64,
    /// The device that pushed the record's first change (`None`: the back office).
    pub created_by: Option<DeviceId>,
}

/// One stored change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredChange {
    /// Its position in the global log.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash,
    /// Raw Automerge change bytes.
    pub data: Vec<u8>,
}

/// A record as the server would send it whole: its snapshot and the changes stored after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullDocument {
    /// Kind, id, scope.
    pub header: RecordHeader,
    /// A saved document covering every change with `seq <= snapshot_seq` (maybe more).
    pub snapshot: Option<Vec<u8>>,
    /// See `snapshot`; 0 without one.
    pub snapshot_seq: u64,
    /// Changes with `seq > snapshot_seq`, in `seq` order.
    pub trailing: Vec<StoredChange>,
}

impl FullDocument {
    /// The bytes to send: the snapshot followed by the trailing changes (Automerge loads a
    /// concatenation of chunks as one document).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.byte_len());
        if let Some(s) = &self.snapshot {
            out.extend_from_slice(s);
        }
        for c in &self.trailing {
            out.extend_from_slice(&c.data);
        }
        out
    }

    /// The length of [`FullDocument::to_bytes`].
    pub fn byte_len(&self) -> usize {
        self.snapshot.as_ref().map_or(0, Vec::len)
            + self.trailing.iter().map(|c| c.data.len()).sum::<usize>()
    }

    /// The highest `seq` the bytes are known to cover.
    pub fn max_seq(&self) -> u64 {
        self.trailing.last().map_or(self.snapshot_seq, |c| c.seq)
    }
}

/// One record's part of a push, validated by the sync service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordWrite {
    /// The record's header: for a new record the one to create, else the stored one.
    pub header: RecordHeader,
    /// Changes in causal order (dependencies first); ones already stored are skipped.
    pub changes: Vec<(Hash, Vec<u8>)>,
    /// The writer's copy of the record holds every stored change with `seq <= known_through`
    /// (0 for a new record), plus `changes`.
    pub known_through: u64,
    /// A saved document of that copy, stored as the record's snapshot if, inside the
    /// transaction, no change other than `changes` turns out to be stored after
    /// `known_through` (then the copy holds everything up to the new last `seq`).
    pub snapshot: Option<Vec<u8>>,
}

/// What storing one record of a push found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordStored {
    /// When no change other than the pushed ones was stored after `known_through`: the
    /// record's last `seq` now, which the writer's copy covers. `None` otherwise.
    pub covered_through: Option<u64>,
}

/// A whole push, stored in one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushWrite {
    /// Who pushed (`None`: the back office).
    pub pushed_by: Option<DeviceId>,
    /// The records.
    pub records: Vec<RecordWrite>,
}

/// What a pull scans: changes visible in a device's scope after a position in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanQuery {
    /// The reading device's scope: rows of that group, of the whole region (`group == ""`)
    /// and global rows (`region == ""`).
    pub scope: Scope,
    /// Only changes with `seq > after`.
    pub after: u64,
    /// The reading device, whose own changes and records count as known to it; `None` when
    /// the reader is to be treated as knowing nothing (no valid cursor).
    pub reader: Option<DeviceId>,
}

/// One change row of a scan, with what the pull planner needs to decide about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanRow {
    /// Position in the log.
    pub seq: u64,
    /// Change hash (becomes the cursor's check when the page ends here).
    pub hash: Hash,
    /// The record.
    pub doc_id: RecordId,
    /// Its kind.
    pub kind: RecordKind,
    /// Whether the reading device pushed this change.
    pub pushed_by_reader: bool,
    /// Whether the record is new to the reader: created after `after` by someone else.
    pub new_to_reader: bool,
    /// The change bytes, present exactly when the row is neither new to the reader nor
    /// pushed by it (the only rows a pull may send as changes).
    pub data: Option<Vec<u8>>,
}

/// The storage behind the sync server. Async so that a PostgreSQL backend can use
/// `tokio-postgres` directly; the SQLite backend runs its work on blocking threads.
#[async_trait]
pub trait SyncStorage: Send + Sync + 'static {
    /// The installation's epoch: random, made when the database was created.
    async fn epoch(&self) -> StorageResult<String>;
    /// The seed of the server's Ed25519 certificate key (device certificates for peer sync):
    /// made once per installation, kept with the data, never sent anywhere.
    async fn certificate_key_seed(&self) -> StorageResult<[u8; 32]>;

    /// Creates a group (and its region if new). A duplicate id is a `Conflict`.
    async fn create_group(&self, group: &GroupRecord) -> StorageResult<()>;
    /// One group.
    async fn group(&self, id: &GroupId) -> StorageResult<Option<GroupRecord>>;
    /// Every group, by region then id.
    async fn list_groups(&self) -> StorageResult<Vec<GroupRecord>>;

    /// Stores a new enrollment code (by hash).
    async fn add_enrollment_code(&self, code: &EnrollmentCodeRecord) -> StorageResult<()>;
    /// Atomically consumes an unused, unexpired code and enrolls `device` into its group.
    /// `None` when the code is unknown, used or expired; nothing is written then.
    async fn redeem_enrollment_code(
        &self,
        code_hash: &Hash,
        now: i64,
        device: &NewDevice,
    ) -> StorageResult<Option<DeviceRecord>>;

    /// The device holding a token (revoked ones too: the caller decides).
    async fn device_by_token(&self, token_hash: &Hash) -> StorageResult<Option<DeviceRecord>>;
    /// The device holding a token (revoked ones too: the caller decides) with the revoked
    /// devices of its group, as [`revoked_devices`](Self::revoked_devices) lists them, read
    /// together (one statement on PostgreSQL). Nothing of it is kept: each call reads both.
    async fn device_session(&self, token_hash: &Hash) -> StorageResult<Option<DeviceSession>>;
    /// Every device, by enrollment time.
    async fn list_devices(&self) -> StorageResult<Vec<DeviceRecord>>;
    /// Revokes a device; `false` if there is no such device. Revoking twice keeps the first time.
    async fn revoke_device(&self, id: &DeviceId, now: i64) -> StorageResult<bool>;
    /// The revoked devices of one group (region and group of `scope`), in id order.
    async fn revoked_devices(&self, scope: &Scope) -> StorageResult<Vec<DeviceId>>;
    /// The Ed25519 public key a device sent at enrollment, if it sent one.
    async fn device_public_key(&self, id: &DeviceId) -> StorageResult<Option<[u8; 32]>>;

    /// What is known of these records (unknown ids are simply absent).
    async fn documents(&self, ids: &[RecordId]) -> StorageResult<Vec<DocMeta>>;
    /// What is known of these records, in the order asked (unknown ids are absent), each
    /// with its changes stored after the `seq` given with it, in `seq` order (none read for
    /// `None`), read together (one statement on PostgreSQL, one snapshot of the database).
    async fn documents_since(
        &self,
        wanted: &[(RecordId, Option<u64>)],
    ) -> StorageResult<Vec<(DocMeta, Vec<StoredChange>)>>;
    /// A record's snapshot and trailing changes, or `None`.
    async fn full_document(&self, id: &RecordId) -> StorageResult<Option<FullDocument>>;
    /// Several records' full documents in one round trip, in the order asked (unknown ids
    /// are skipped).
    async fn full_documents(&self, ids: &[RecordId]) -> StorageResult<Vec<FullDocument>>;
    /// A record's changes with `seq > after`, in `seq` order.
    async fn changes_after(&self, id: &RecordId, after: u64) -> StorageResult<Vec<StoredChange>>;
    /// Stores a push in one transaction: new records are created, already-stored changes are
    /// skipped, snapshots are written as [`RecordWrite::snapshot`] says. If a record exists with
    /// another header, nothing is stored (`Conflict`). One result per record, in order.
    async fn store_push(&self, push: &PushWrite) -> StorageResult<Vec<RecordStored>>;
    /// Replaces a record's snapshot if `seq` is newer than the stored one's.
    async fn put_snapshot(&self, id: &RecordId, seq: u64, data: &[u8]) -> StorageResult<()>;
    /// The hash of the change at `seq`, if there is one.
    async fn change_hash_at(&self, seq: u64) -> StorageResult<Option<Hash>>;
    /// The first `limit` changes matching `query`, in `seq` order.
    async fn scan(&self, query: &ScanQuery, limit: u32) -> StorageResult<Vec<ScanRow>>;
    /// The hash of the change at `query.after` (a cursor's change: `None` if there is none)
    /// and the first `limit` changes matching `query`, as [`scan`](Self::scan) reads them,
    /// read together (one statement on PostgreSQL). With `limit` at most
    /// [`SMALL_SCAN_ROWS`], SQLite reads them where the request runs when a read connection is
    /// free, as it does lookups.
    async fn scan_from(
        &self,
        query: &ScanQuery,
        limit: u32,
    ) -> StorageResult<(Option<Hash>, Vec<ScanRow>)>;
    /// Waits for the work in flight, makes every acknowledged write durable where a backup of
    /// the database alone finds it, and releases the connections. Later calls fail with
    /// `Backend`; closing twice is harmless.
    async fn close(&self) -> StorageResult<()>;
    /// Whether the database answers now and its schema is this build's (`/readyz`): a
    /// trivial query, and room to write (no other process holds the write lock for long).
    async fn check_ready(&self) -> StorageResult<()>;
    /// The same backend's throttling counters ([`RateStore`]), on the same database.
    fn rate_store(&self) -> std::sync::Arc<dyn RateStore>;
    /// The same backend's web users and sessions ([`WebUserStore`]), on the same database.
    fn web_user_store(&self) -> std::sync::Arc<dyn WebUserStore>;
    /// The same backend's whistleblower leads ([`LeadStore`]), on the same database.
    fn lead_store(&self) -> std::sync::Arc<dyn LeadStore>;
    /// The same backend's leases on tus uploads ([`UploadLeaseStore`]), on the same database.
    fn upload_lease_store(&self) -> std::sync::Arc<dyn UploadLeaseStore>;
    /// The same backend's tus upload rows ([`UploadStore`]), on the same database as the
    /// leases.
    fn upload_store(&self) -> std::sync::Arc<dyn UploadStore>;
    /// The same backend's template library ([`TemplateStore`]), on the same database.
    fn template_store(&self) -> std::sync::Arc<dyn TemplateStore>;
    /// The same backend's rosters of inspectors and experts ([`RosterStore`]), on the same
    /// database.
    fn roster_store(&self) -> std::sync::Arc<dyn RosterStore>;
    /// The same backend's rows of the assignments the office issued ([`AssignmentStore`]),
    /// on the same database.
    fn assignment_store(&self) -> std::sync::Arc<dyn AssignmentStore>;
    /// The same backend's custody log and evidence checks ([`CustodyStore`]), on the same
    /// database.
    fn custody_store(&self) -> std::sync::Arc<dyn CustodyStore>;
    /// The same backend's case records and ledger rows ([`CaseStore`]), on the same database.
    fn case_store(&self) -> std::sync::Arc<dyn CaseStore>;
    /// The same backend's enterprise registry and site merges ([`EnterpriseStore`]), on the
    /// same database.
    fn enterprise_store(&self) -> std::sync::Arc<dyn EnterpriseStore>;
    /// The same backend's office index, ledger lists and report figures
    /// ([`OfficeIndexStore`]), on the same database.
    fn office_index_store(&self) -> std::sync::Arc<dyn OfficeIndexStore>;
    /// The same backend's supervision lists, risk facts and log of risk changes
    /// ([`SupervisionStore`]), on the same database.
    fn supervision_store(&self) -> std::sync::Arc<dyn SupervisionStore>;
}
