//! [`SupervisionStore`]: what tiered supervision keeps and reads, in the database every server
//! process shares. The key-supervision list's manual entries and the blacklist, each change
//! written with its audit row in one transaction and an open entry taken once (a second add
//! of it, from any process, is a `Conflict`); the risk facts of the enterprises a reader may
//! see, read from the registry, the visit index and the hazard ledger; and the log of the
//! enterprises whose facts changed (`bo_risk_changes`, filled by triggers on the tables the
//! facts are read from), which each process's kept facts read forward from a
//! [`RiskPosition`].
//!
//! The log's rule across processes: a position is taken in the snapshot the facts are read
//! in, and the changes after it are every change that snapshot did not see, whatever order
//! concurrent writers committed in. Pruning deletes only changes the pruning process has read
//! past, and records how far it went ([`RiskUpdate`] reads a view whole when a reader's
//! position is behind it), so no process ever misses a change another one deleted.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use siteproof_core::{Sector, SectorRisk};

use super::{RowFilter, StorageResult};

/// Which supervision list an entry is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SupervisionList {
    /// 重点监管企业名单: the entries made by hand.
    KeyList,
    /// 黑名单.
    Blacklist,
}

impl SupervisionList {
    /// The table of its entries.
    pub(crate) fn table(self) -> &'static str {
        match self {
            SupervisionList::KeyList => "bo_key_list",
            SupervisionList::Blacklist => "bo_blacklist",
        }
    }

    /// The code its audit rows carry.
    pub fn code(self) -> &'static str {
        match self {
            SupervisionList::KeyList => "key_list",
            SupervisionList::Blacklist => "blacklist",
        }
    }

    /// The column read as the day of the decision (the key list has none).
    pub(crate) fn decided_column(self) -> &'static str {
        match self {
            SupervisionList::KeyList => "CAST(NULL AS BIGINT)",
            SupervisionList::Blacklist => "l.decided_on",
        }
    }
}

/// A list entry, open or closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListEntry {
    /// Row id.
    pub id: i64,
    /// Credit code.
    pub credit_code: String,
    /// Name when entered.
    pub name: String,
    /// Why it was entered.
    pub reason: String,
    /// The day of the decision (blacklist), ms.
    pub decided_on: Option<i64>,
    /// Who entered it (login).
    pub added_by: String,
    /// When, ms.
    pub added_at: i64,
    /// Who removed it.
    pub removed_by: Option<String>,
    /// When, ms.
    pub removed_at: Option<i64>,
    /// Why.
    pub removed_reason: Option<String>,
}

/// One change to the lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    /// `key_list` or `blacklist`.
    pub list: String,
    /// `add` or `remove`.
    pub action: String,
    /// Credit code.
    pub credit_code: String,
    /// Enterprise name.
    pub name: String,
    /// Why.
    pub reason: String,
    /// Who (login).
    pub by: String,
    /// When, ms.
    pub at: i64,
}

/// An entry to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewListEntry {
    /// Region.
    pub region: String,
    /// Credit code (normalised).
    pub credit_code: String,
    /// The enterprise's name now.
    pub name: String,
    /// Why.
    pub reason: String,
    /// The day of the decision (stored for the blacklist only), ms.
    pub decided_on: i64,
    /// Who (login).
    pub by: String,
    /// When, ms.
    pub at: i64,
}

/// The closing of an open entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRemoval {
    /// The region the entry must be of.
    pub region: String,
    /// Why.
    pub reason: String,
    /// Who (login).
    pub by: String,
    /// When, ms.
    pub at: i64,
}

/// The rows one reader's risk facts are read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskView {
    /// The region whose registry (and leads' links) count.
    pub region: String,
    /// The visits, findings and hazards the reader sees.
    pub rows: RowFilter,
    /// The leads the reader sees (leads before triage may have no sector).
    pub lead_rows: RowFilter,
}

/// What the office knows of one enterprise at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gathered {
    /// Credit code.
    pub credit_code: String,
    /// In the registry (name and sector come from there).
    pub registered: bool,
    /// The registered name, else the site name of its latest visit.
    pub name: String,
    /// Sector code: the riskiest of its registered sectors, else its latest visit's.
    pub sector: String,
    /// Group of its latest visit (the group whose area it is in; empty: never visited).
    pub group: String,
    /// When its latest visit started, ms (`None`: never visited).
    pub last_visit: Option<i64>,
    /// When its latest covert visit started, ms.
    pub last_covert: Option<i64>,
    /// Major hazards found in the window.
    pub major: u32,
    /// Hazards overdue now.
    pub overdue: u32,
    /// Repeat findings in the window.
    pub repeats: u32,
    /// Leads received in the window.
    pub leads: u32,
}

/// What the office knows of one enterprise, whatever the moment: the counts of [`Gathered`]
/// as the times they are counted from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Everything but the counts (left at zero here).
    pub known: Gathered,
    /// When each major hazard was found.
    pub major_found: Vec<i64>,
    /// The deadline of each hazard awaiting rectification.
    pub open_deadlines: Vec<i64>,
    /// For each checklist item found (by item): for each visit that found it, its latest
    /// finding of it.
    pub item_visits: Vec<Vec<i64>>,
    /// When each linked lead was received.
    pub leads_received: Vec<i64>,
}

/// A position in the log of risk changes: the newest change a snapshot saw (`seq`), the
/// writers in flight then (`in_flight`) and the first that had not begun (`next_writer`).
/// The changes after it are exactly those with a higher `seq` or of a writer in flight then
/// or begun later. `horizon`, the oldest writer that may have written a change not seen
/// (every change of an older writer was seen), is what pruning goes by. Later positions are
/// greater (`seq` and `horizon` only grow).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RiskPosition {
    /// The highest `seq` seen.
    pub seq: i64,
    /// Writers before it had all finished (SQLite, one writer at a time: `seq + 1`).
    pub horizon: i64,
    /// The first writer that had not begun (SQLite: `seq + 1`).
    pub next_writer: i64,
    /// Writers in flight (SQLite: none).
    pub in_flight: Arc<[i64]>,
}

impl RiskPosition {
    /// The position of a log whose writers take turns, after change `seq`.
    pub fn one_writer(seq: i64) -> Self {
        Self {
            seq,
            horizon: seq + 1,
            next_writer: seq + 1,
            in_flight: Arc::from([]),
        }
    }
}

/// What was read to bring a view's facts from one position to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RiskRead {
    /// Nothing changed since the position, which did not move.
    Fresh,
    /// These enterprises changed; `None`: no longer seen.
    Codes(Vec<(String, Option<Facts>)>),
    /// The whole view (no position given, too many changes, the log went back or was pruned
    /// past the position given).
    Whole(HashMap<String, Facts>),
}

/// A view's facts brought to a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskUpdate {
    /// The position the read is up to date with.
    pub at: RiskPosition,
    /// What was read.
    pub read: RiskRead,
}

/// Rows of the visit index, the registry and the merges, written as their writers do: what
/// the suite reads the facts from. A visit's `credit_code` is given as the index would set it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OfficeRows {
    /// `(region, credit_code, name, sectors joined by commas)`.
    pub enterprises: Vec<(String, String, String, String)>,
    /// Visits.
    pub visits: Vec<VisitFixture>,
    /// `(visit, finding id, severity, at, item)`: region, group and sector of the visit.
    pub findings: Vec<(String, String, String, i64, Option<String>)>,
    /// Hazards.
    pub cases: Vec<CaseFixture>,
    /// `(region, site, credit_code, merged_at, undone)`.
    pub merges: Vec<(String, String, String, i64, bool)>,
}

/// A hazard row of [`OfficeRows`]: `(case id, visit, finding id, severity, status,
/// opened_at, open_deadline)`; region, group, site and sector of the visit.
pub type CaseFixture = (String, String, String, String, String, i64, Option<i64>);

/// A visit row of [`OfficeRows`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VisitFixture {
    /// Id.
    pub id: String,
    /// Region.
    pub region: String,
    /// Group.
    pub group: String,
    /// Site name.
    pub site: String,
    /// Sector code.
    pub sector: String,
    /// `covert` or `announced`.
    pub mode: String,
    /// Start, ms.
    pub started_at: i64,
    /// The assignment it answered.
    pub assignment: Option<String>,
    /// Its enterprise.
    pub credit_code: Option<String>,
}

/// A write held open: `written` is sent once the rows are written, and the transaction
/// commits once `commit` is received (or dropped).
#[derive(Debug)]
pub struct HeldWrite {
    /// Told once the rows are in the transaction.
    pub written: tokio::sync::oneshot::Sender<()>,
    /// Waited for before the commit.
    pub commit: tokio::sync::oneshot::Receiver<()>,
}

/// Tiered supervision's lists and risk facts.
#[async_trait]
pub trait SupervisionStore: Send + Sync + 'static {
    /// The entries of `list` that `rows` admits (only open ones with `Some(true)`, only
    /// closed ones with `Some(false)`), open first, newest first.
    async fn list_entries(
        &self,
        list: SupervisionList,
        rows: &RowFilter,
        open: Option<bool>,
    ) -> StorageResult<Vec<ListEntry>>;
    /// The audit rows `rows` admits, newest first, at most 1000.
    async fn audit_rows(&self, rows: &RowFilter) -> StorageResult<Vec<AuditRow>>;
    /// The name of an enterprise as `view` sees it: the registered one, else the site name of
    /// its latest visible visit; `None` when it sees neither.
    async fn visible_name(&self, view: &RiskView, code: &str) -> StorageResult<Option<String>>;
    /// Opens an entry on `list` with its audit row, in one transaction; its id. An open entry
    /// of the same enterprise in the region (made by any process) is a `Conflict`, and then
    /// nothing is written.
    async fn add_to_list(&self, list: SupervisionList, entry: &NewListEntry) -> StorageResult<i64>;
    /// Closes the open entry `id` of the removal's region with its audit row, in one
    /// transaction; the entry as it was. `Conflict` when it is closed already (by any
    /// process), `NotFound` when the region has no such entry; nothing is written then.
    async fn remove_from_list(
        &self,
        list: SupervisionList,
        id: i64,
        removal: &ListRemoval,
    ) -> StorageResult<ListEntry>;
    /// The facts of every enterprise `view` sees (or just `only`): the registry's of its
    /// region, and those of the codes of the visits it sees that the registry does not hold.
    async fn risk_facts(
        &self,
        view: &RiskView,
        only: Option<&str>,
    ) -> StorageResult<HashMap<String, Facts>>;
    /// Brings `view`'s facts from `from` (`None`: nothing kept) to the log's position now, in
    /// one snapshot: the facts of the enterprises of its region changed since, or the whole
    /// view when more than `one_by_one` changed (or the log cannot say what changed).
    async fn risk_update(
        &self,
        view: &RiskView,
        from: Option<RiskPosition>,
        one_by_one: usize,
    ) -> StorageResult<RiskUpdate>;
    /// The log's position now and the regions with changes after `since`.
    async fn risk_regions_changed(
        &self,
        since: RiskPosition,
    ) -> StorageResult<(RiskPosition, Vec<String>)>;
    /// Deletes at most `batch` of the changes `read_past` has read past (never the newest,
    /// so the position never goes back), and records it for every reader. Returns the `seq`
    /// below which changes are gone now.
    async fn prune_risk_changes(&self, read_past: RiskPosition, batch: i64) -> StorageResult<i64>;
    /// Hazards not closed per enterprise as `rows` admits them: `(open, overdue at now)`.
    async fn hazard_counts(
        &self,
        rows: &RowFilter,
        now: i64,
    ) -> StorageResult<HashMap<String, (u32, u32)>>;
    /// Writes `rows` in one transaction, held open as `held` says.
    async fn write_office_rows(
        &self,
        rows: &OfficeRows,
        held: Option<HeldWrite>,
    ) -> StorageResult<()>;
}

/// A count read from the database, as the facts carry it.
pub(crate) fn count_of(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// The rows the facts are made of, as each backend reads them.
#[derive(Default)]
pub(crate) struct FactRows {
    /// `(code, name, sectors joined by commas)` of the registry.
    pub registry: Vec<(String, String, String)>,
    /// `(code, site, sector, group, started_at)` of each enterprise's latest visit.
    pub latest: Vec<(String, String, String, String, i64)>,
    /// `(code, started_at)` of each enterprise's latest covert visit.
    pub covert: Vec<(String, i64)>,
    /// `(code, opened_at)` of each major hazard.
    pub major: Vec<(String, i64)>,
    /// `(code, open_deadline)` of each hazard awaiting rectification.
    pub deadlines: Vec<(String, i64)>,
    /// `(code, item, latest finding)` per enterprise, item and visit, by enterprise and item.
    pub items: Vec<(String, String, i64)>,
    /// `(code, received_on)` of each linked lead.
    pub leads: Vec<(String, i64)>,
}

impl FactRows {
    /// The facts by credit code: the registry's enterprises, and the codes of the visits
    /// read that the registry does not hold.
    pub(crate) fn into_facts(self) -> HashMap<String, Facts> {
        let mut out: HashMap<String, Facts> = HashMap::new();
        for (code, name, sectors) in self.registry {
            let sectors: Vec<Sector> = sectors.split(',').filter_map(Sector::from_code).collect();
            let sector = SectorRisk::riskiest(&sectors).map_or("", |s| s.code());
            let known = Gathered {
                credit_code: code.clone(),
                registered: true,
                name,
                sector: sector.to_owned(),
                ..Gathered::default()
            };
            out.insert(
                code,
                Facts {
                    known,
                    ..Facts::default()
                },
            );
        }
        for (code, site, sector, group, started_at) in self.latest {
            let f = out.entry(code.clone()).or_insert_with(|| Facts {
                known: Gathered {
                    credit_code: code,
                    ..Gathered::default()
                },
                ..Facts::default()
            });
            let g = &mut f.known;
            if !g.registered {
                g.name = site;
            }
            if g.sector.is_empty() {
                g.sector = sector;
            }
            g.group = group;
            g.last_visit = Some(started_at);
        }
        for (code, at) in self.covert {
            if let Some(f) = out.get_mut(&code) {
                f.known.last_covert = Some(at);
            }
        }
        for (code, at) in self.major {
            if let Some(f) = out.get_mut(&code) {
                f.major_found.push(at);
            }
        }
        for (code, at) in self.deadlines {
            if let Some(f) = out.get_mut(&code) {
                f.open_deadlines.push(at);
            }
        }
        // Rows come by enterprise and item: a new item starts a new list of visits.
        let mut last: Option<(String, String)> = None;
        for (code, item, at) in self.items {
            let Some(f) = out.get_mut(&code) else {
                continue;
            };
            let key = (code, item);
            if last.as_ref() != Some(&key) || f.item_visits.is_empty() {
                f.item_visits.push(Vec::new());
                last = Some(key);
            }
            if let Some(visits) = f.item_visits.last_mut() {
                visits.push(at);
            }
        }
        for (code, at) in self.leads {
            if let Some(f) = out.get_mut(&code) {
                f.leads_received.push(at);
            }
        }
        out
    }
}
