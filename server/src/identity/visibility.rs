//! Who may see and write what: one [`Visibility`] policy, built from a [`Principal`], that
//! the sync service, the media service, every back-office route and every office query ask.
//! No other place decides visibility, so a rule changes here or nowhere.
//!
//! The rules:
//! - A device reads its group's records, its region's (group `""`) and global ones (region
//!   `""`); it writes only records of kinds devices write, in exactly its own scope.
//! - A back-office user reads its region and global records; a sector department only those
//!   of its sectors. Office tables always carry a region, so the rows a reader sees there
//!   ([`RowFilter`], which each storage backend turns into its own SQL) are the region's
//!   and, for a sector department, its sectors'.
//! - Enterprises (the registry, and the codes typed on visits) belong to a region: an office
//!   user sees those of its region, whatever its sectors, and reads an enterprise's history
//!   and risk facts only through the visits and cases it may see ([`Visibility::rows`] on
//!   the index); the supervision lists' rows by their region ([`Visibility::region_rows`]);
//!   a device reads its region's directory, built under
//!   [`Visibility::directory`]: the region's enterprises with counts over the whole region.
//! - Some kinds reach a device only when its sync request announces that it reads them
//!   ([`Reads`]: the directory, which app builds from before it fail on), whatever its scope.
//! - Office duties (rosters, lead triage, templates, the enterprise registry, the supervision
//!   lists) follow the role: [`Duty`].
//!
//! The storage's pull scan (`storage/sqlite/log.rs`) states the device rule in SQL for
//! speed; `tests/visibility.rs` checks that it agrees with this policy.

use siteproof_core::sync::wire::ANNOUNCED_KINDS;
use siteproof_core::{RecordId, RecordKind, Scope, Sector};

use super::principal::Principal;
use super::users::{Role, WebUser};
use crate::error::{Error, Result};
use crate::storage::{RowFilter, SectorRows};

/// What a reader is, as far as visibility goes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Reader {
    /// A device of this scope.
    Device(Scope),
    /// A back-office user of `region`; `sectors` is `None` when every sector is visible.
    Office {
        region: String,
        role: Role,
        sectors: Option<Vec<Sector>>,
    },
    /// The enterprise directory of a region, built for every device of it
    /// ([`Visibility::directory`]).
    Directory(String),
}

/// What a caller wants to do with a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// See it in a list.
    ReadList,
    /// Open it.
    ReadOne,
    /// Fetch a file it references.
    Evidence,
    /// Change it.
    Write,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 4] = [
        Action::ReadList,
        Action::ReadOne,
        Action::Evidence,
        Action::Write,
    ];
}

/// What a record is, as far as visibility goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordFacts {
    /// Its kind.
    pub kind: RecordKind,
    /// Its scope.
    pub scope: Scope,
    /// Its sector, when it has one (visits, cases).
    pub sector: Option<Sector>,
}

/// An office duty that only some roles have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duty {
    /// Keep the rosters of inspectors and experts.
    KeepRosters,
    /// Push a lead to a group or dismiss it.
    TriageLeads,
    /// Import and publish checklist templates.
    ManageTemplates,
    /// Push an assignment in this sector (`None`: no sector).
    AssignInSector(Option<Sector>),
    /// Import enterprises and merge name-only sites into them (and undo merges).
    KeepEnterprises,
    /// Change the key-supervision list and the blacklist (重点监管企业名单, 黑名单).
    KeepSupervisionLists,
}

/// Whether office rows with no sector (leads before triage) are shown to sector departments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsectored {
    /// Only rows of the reader's sectors.
    Hidden,
    /// Rows of the reader's sectors and rows with no sector.
    Shown,
}

impl Unsectored {
    /// How records of `kind` with no sector are shown: collections are for the whole region;
    /// an assignment with no sector, like every visit and case, is not a sector's.
    pub fn of(kind: RecordKind) -> Self {
        match kind {
            RecordKind::Report | RecordKind::Template | RecordKind::Directory => Unsectored::Shown,
            RecordKind::Visit | RecordKind::Case | RecordKind::Assignment => Unsectored::Hidden,
        }
    }
}

/// What decides the office rows a reader sees through [`Visibility::rows`]: two
/// readers with equal keys see the same rows, so what is read for one may be kept for the
/// other (the supervision's risk facts are kept per key).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RowsKey {
    region: String,
    /// Sorted; `None` when every sector is visible.
    sectors: Option<Vec<Sector>>,
}

impl RowsKey {
    /// The key of a region's whole view (a reviewer's: every sector).
    pub fn whole_region(region: &str) -> Self {
        Self {
            region: region.to_owned(),
            sectors: None,
        }
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// A reader who sees exactly these rows (for reading them ahead of any request).
    pub fn reader(&self) -> Visibility {
        let role = if self.sectors.is_some() {
            Role::SectorDepartment
        } else {
            Role::Reviewer
        };
        Visibility {
            reader: Reader::Office {
                region: self.region.clone(),
                role,
                sectors: self.sectors.clone(),
            },
        }
    }
}

/// The policy for one reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visibility {
    reader: Reader,
}

impl Visibility {
    /// The policy for whoever is calling.
    pub fn of(principal: &Principal) -> Self {
        match principal {
            Principal::Device(d) => Self::device(&d.scope),
            Principal::User(u) => Self::user(u),
        }
    }

    /// The policy for a device of `scope`.
    pub fn device(scope: &Scope) -> Self {
        Self {
            reader: Reader::Device(scope.clone()),
        }
    }

    /// The policy the enterprise directory of `region` is built under. Every device of the
    /// region receives it (a record of scope `{region, ""}`), so it holds the region's
    /// registry, and its per-enterprise figures (open and overdue hazards) count the visits
    /// and cases of the whole region, whatever their group or sector: counts, never the
    /// hazards themselves. It reads what a device of the region may read and writes nothing.
    pub fn directory(region: &str) -> Self {
        Self {
            reader: Reader::Directory(region.to_owned()),
        }
    }

    /// The policy for a back-office user.
    pub fn user(user: &WebUser) -> Self {
        let sectors = (user.role == Role::SectorDepartment).then(|| user.sectors.clone());
        Self {
            reader: Reader::Office {
                region: user.region.clone(),
                role: user.role,
                sectors,
            },
        }
    }

    /// Whether the reader may read a record of this scope (the region and group rule).
    pub fn may_read_scope(&self, record: &Scope) -> bool {
        match &self.reader {
            Reader::Device(own) => {
                record.region.is_empty()
                    || (record.region == own.region
                        && (record.group.is_empty() || record.group == own.group))
            }
            Reader::Office { region, .. } => record.region.is_empty() || record.region == *region,
            Reader::Directory(region) => {
                record.region.is_empty() || (record.region == *region && record.group.is_empty())
            }
        }
    }

    /// Whether the reader may see records of this sector (`None`: a record with no sector).
    pub fn sees_sector(&self, sector: Option<Sector>, unsectored: Unsectored) -> bool {
        match (&self.reader, sector) {
            (Reader::Device(_) | Reader::Directory(_), _)
            | (Reader::Office { sectors: None, .. }, _) => true,
            (
                Reader::Office {
                    sectors: Some(own), ..
                },
                Some(s),
            ) => own.contains(&s),
            (
                Reader::Office {
                    sectors: Some(_), ..
                },
                None,
            ) => unsectored == Unsectored::Shown,
        }
    }

    /// Whether the reader may do `action` on a record.
    pub fn allows(&self, action: Action, record: &RecordFacts) -> bool {
        match action {
            // Writing needs the sector too: the office writes only what it may read.
            Action::Write => {
                self.check_write(record.kind, &record.scope).is_ok()
                    && self.sees_sector(record.sector, Unsectored::of(record.kind))
            }
            Action::ReadList | Action::ReadOne | Action::Evidence => {
                self.may_read_scope(&record.scope)
                    && self.sees_sector(record.sector, Unsectored::of(record.kind))
            }
        }
    }

    /// Whether the reader may write a record of `kind` and `scope`: devices write the kinds
    /// devices write, in exactly their scope; the office writes cases and assignments in
    /// what it may read. The error says which rule refused.
    pub fn check_write(&self, kind: RecordKind, scope: &Scope) -> Result<(), WriteRefusal> {
        match &self.reader {
            Reader::Device(own) => {
                if !kind.written_by_devices() {
                    Err(WriteRefusal::Kind)
                } else if scope != own {
                    Err(WriteRefusal::Scope)
                } else {
                    Ok(())
                }
            }
            Reader::Directory(_) => Err(WriteRefusal::Kind),
            Reader::Office { region, .. } => {
                if !matches!(kind, RecordKind::Case | RecordKind::Assignment) {
                    Err(WriteRefusal::Kind)
                } else if scope.region != *region {
                    Err(WriteRefusal::Scope)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Whether the reader reads evidence only through office rows (a user: the visit or case
    /// must be visible in the office index, which knows its sector).
    pub fn reads_through_office(&self) -> bool {
        matches!(self.reader, Reader::Office { .. })
    }

    /// The office rows (visits, cases, findings, assignments, leads: rows with a region and a
    /// sector) the reader may see; `unsectored` says whether rows with no sector count.
    pub fn rows(&self, unsectored: Unsectored) -> RowFilter {
        let (region, sectors) = match &self.reader {
            Reader::Office {
                region, sectors, ..
            } => (region, sectors.as_ref()),
            Reader::Directory(region) => (region, None),
            // A device never reads office tables.
            Reader::Device(_) => return RowFilter::Nothing,
        };
        RowFilter::Region {
            region: region.clone(),
            sectors: sectors.map(|s| SectorRows {
                sectors: s.clone(),
                unsectored: unsectored == Unsectored::Shown,
            }),
        }
    }

    /// The office rows with no sector (collections, the supervision lists) the reader may
    /// see: those of its region.
    pub fn region_rows(&self) -> RowFilter {
        match &self.reader {
            Reader::Office { region, .. } | Reader::Directory(region) => RowFilter::region(region),
            Reader::Device(_) => RowFilter::Nothing,
        }
    }

    /// The enterprises of the registry the reader may see: those of its region, for an
    /// office user and for a device alike.
    pub fn enterprise_rows(&self) -> RowFilter {
        RowFilter::region(self.enterprise_region())
    }

    /// The key of the office rows the reader sees (`None` for a device, which reads none; the
    /// directory's is its region's whole office).
    pub fn rows_key(&self) -> Option<RowsKey> {
        match &self.reader {
            Reader::Office {
                region, sectors, ..
            } => Some(RowsKey {
                region: region.clone(),
                sectors: sectors.as_ref().map(|s| {
                    let mut s = s.clone();
                    s.sort();
                    s.dedup();
                    s
                }),
            }),
            // The directory reads a region's rows as its whole office does.
            Reader::Directory(region) => Some(RowsKey {
                region: region.clone(),
                sectors: None,
            }),
            Reader::Device(_) => None,
        }
    }

    /// The region whose enterprises the reader sees.
    pub fn enterprise_region(&self) -> &str {
        match &self.reader {
            Reader::Office { region, .. } | Reader::Directory(region) => region,
            Reader::Device(scope) => &scope.region,
        }
    }

    /// The region of an office reader (`None` for a device).
    pub fn region(&self) -> Option<&str> {
        match &self.reader {
            Reader::Office { region, .. } => Some(region),
            Reader::Device(_) | Reader::Directory(_) => None,
        }
    }

    /// Whether the reader has `duty`; `Forbidden` saying who has it otherwise.
    pub fn require(&self, duty: Duty) -> Result<()> {
        let Reader::Office { role, sectors, .. } = &self.reader else {
            return Err(Error::Forbidden("office duties are for signed-in users"));
        };
        match duty {
            Duty::KeepRosters if *role == Role::SectorDepartment => Err(Error::Forbidden(
                "only reviewers and administrators keep the rosters",
            )),
            Duty::TriageLeads if *role == Role::SectorDepartment => Err(Error::Forbidden(
                "leads are triaged by reviewers and administrators",
            )),
            Duty::KeepEnterprises if *role == Role::SectorDepartment => Err(Error::Forbidden(
                "the enterprise registry is kept by reviewers and administrators",
            )),
            Duty::ManageTemplates if *role != Role::Admin => Err(Error::Forbidden(
                "only administrators import and publish templates",
            )),
            Duty::KeepSupervisionLists if *role == Role::SectorDepartment => Err(Error::Forbidden(
                "the key list and the blacklist are kept by reviewers and administrators",
            )),
            Duty::AssignInSector(sector)
                if sectors
                    .as_ref()
                    .is_some_and(|own| sector.is_none_or(|s| !own.contains(&s))) =>
            {
                Err(Error::Forbidden(
                    "a sector department pushes only within its own sectors",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The record kinds a device reads, from what its sync request announced (`reads`): every
/// kind but those sent only to devices that announce them (core's `ANNOUNCED_KINDS`: kinds
/// added after apps were in the field that stop on a kind they do not know), and of those the
/// ones it named. Unknown names are ignored (a newer app's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    announced: Vec<RecordKind>,
}

impl Reads {
    /// What a request (or the cursor it carries) announced.
    pub fn announced(codes: &[String]) -> Self {
        let mut announced: Vec<RecordKind> = Vec::new();
        for code in codes {
            if let Ok(kind) = code.parse::<RecordKind>()
                && Self::only_announced(kind)
                && !announced.contains(&kind)
            {
                announced.push(kind);
            }
        }
        announced.sort_by_key(|k| k.code());
        Self { announced }
    }

    fn only_announced(kind: RecordKind) -> bool {
        ANNOUNCED_KINDS.contains(&kind.code())
    }

    /// Whether the device receives records of `kind`.
    pub fn receives(&self, kind: RecordKind) -> bool {
        !Self::only_announced(kind) || self.announced.contains(&kind)
    }

    /// The announced kinds, as the cursor carries them.
    pub fn codes(&self) -> Vec<String> {
        self.announced.iter().map(|k| k.code().to_owned()).collect()
    }

    /// The records a device of `scope` may hold of the kinds announced here and not in
    /// `before`: it announces them for the first time, so it has none of them yet. (Every
    /// kind sent only on announcement is the directory, one record per region.)
    pub fn first_announced_records(&self, before: &Reads, scope: &Scope) -> Vec<RecordId> {
        self.announced
            .iter()
            .filter(|k| !before.announced.contains(k))
            .filter_map(|kind| match kind {
                RecordKind::Directory => RecordId::for_directory(&scope.region).ok(),
                _ => None,
            })
            .collect()
    }
}

/// Why a write is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteRefusal {
    /// The reader does not write records of this kind.
    Kind,
    /// The record is outside the reader's scope.
    Scope,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(region: &str, group: &str) -> Scope {
        Scope {
            region: region.into(),
            group: group.into(),
        }
    }

    #[test]
    fn a_device_reads_its_group_region_and_global_records_and_writes_only_its_own() {
        let v = Visibility::device(&scope("hebei", "g1"));
        assert!(v.may_read_scope(&scope("hebei", "g1")));
        assert!(v.may_read_scope(&scope("hebei", "")));
        assert!(v.may_read_scope(&scope("", "")));
        assert!(!v.may_read_scope(&scope("hebei", "g2")));
        assert!(!v.may_read_scope(&scope("tianjin", "")));
        assert_eq!(
            v.check_write(RecordKind::Visit, &scope("hebei", "g1")),
            Ok(())
        );
        assert_eq!(
            v.check_write(RecordKind::Case, &scope("hebei", "g1")),
            Err(WriteRefusal::Kind)
        );
        assert_eq!(
            v.check_write(RecordKind::Visit, &scope("hebei", "")),
            Err(WriteRefusal::Scope)
        );
        assert_eq!(v.rows(Unsectored::Hidden), RowFilter::Nothing);
        assert_eq!(v.region_rows(), RowFilter::Nothing);
        assert_eq!(v.enterprise_rows(), RowFilter::region("hebei"));
    }

    #[test]
    fn a_device_receives_the_directory_only_when_it_announced_it() {
        let old = Reads::announced(&[]);
        let new = Reads::announced(&["directory".into(), "hologram".into(), "visit".into()]);
        assert!(!old.receives(RecordKind::Directory));
        assert!(old.receives(RecordKind::Visit) && old.receives(RecordKind::Template));
        assert!(new.receives(RecordKind::Directory));
        assert_eq!(new.codes(), ["directory"]);
        let scope = scope("hebei", "g1");
        assert_eq!(
            new.first_announced_records(&old, &scope),
            [RecordId::for_directory("hebei").expect("id")]
        );
        assert!(new.first_announced_records(&new, &scope).is_empty());
    }

    #[test]
    fn a_sector_department_filter_names_its_sectors_and_optionally_unsectored_rows() {
        let user = WebUser {
            id: 1,
            login: "fire".into(),
            name: "fire".into(),
            role: Role::SectorDepartment,
            region: "hebei".into(),
            sectors: vec![Sector::FireSafety],
            csrf: String::new(),
        };
        let v = Visibility::user(&user);
        let fire = |unsectored| RowFilter::Region {
            region: "hebei".into(),
            sectors: Some(SectorRows {
                sectors: vec![Sector::FireSafety],
                unsectored,
            }),
        };
        assert_eq!(v.rows(Unsectored::Shown), fire(true));
        assert_eq!(v.rows(Unsectored::Hidden), fire(false));
        assert_eq!(v.region_rows(), RowFilter::region("hebei"));
        assert_eq!(v.enterprise_rows(), RowFilter::region("hebei"));
        assert!(v.sees_sector(None, Unsectored::Shown));
        assert!(!v.sees_sector(None, Unsectored::Hidden));
        assert!(v.require(Duty::KeepRosters).is_err());
        assert!(v.require(Duty::KeepSupervisionLists).is_err());
        assert!(
            v.require(Duty::AssignInSector(Some(Sector::FireSafety)))
                .is_ok()
        );
        assert!(v.require(Duty::AssignInSector(Some(Sector::Gas))).is_err());
        let none = Visibility::user(&WebUser {
            sectors: vec![],
            ..user
        });
        assert_eq!(
            none.rows(Unsectored::Hidden),
            RowFilter::Region {
                region: "hebei".into(),
                sectors: Some(SectorRows {
                    sectors: vec![],
                    unsectored: false
                }),
            },
            "an empty sector list is kept, so it matches no sectored row"
        );
    }

    #[test]
    fn a_reviewer_and_the_directory_see_every_sector_of_their_region() {
        let reviewer = WebUser {
            id: 2,
            login: "rev".into(),
            name: "rev".into(),
            role: Role::Reviewer,
            region: "hebei".into(),
            // Sectors on a reviewer narrow nothing: only sector departments are narrowed.
            sectors: vec![Sector::Gas],
            csrf: String::new(),
        };
        for v in [Visibility::user(&reviewer), Visibility::directory("hebei")] {
            for unsectored in [Unsectored::Shown, Unsectored::Hidden] {
                assert_eq!(v.rows(unsectored), RowFilter::region("hebei"));
            }
            assert_eq!(v.region_rows(), RowFilter::region("hebei"));
            assert_eq!(v.enterprise_rows(), RowFilter::region("hebei"));
        }
    }

    #[test]
    fn readers_with_equal_row_keys_get_equal_row_filters() {
        let key = RowsKey::whole_region("hebei");
        assert_eq!(
            key.reader().rows(Unsectored::Hidden),
            RowFilter::region("hebei")
        );
    }
}
