//! The region's enterprise directory on the phone: searched offline from its index rows
//! (`directory_index`, rewritten from the `directory` record with every change the server
//! sends), and visits started from one of its entries.

use automerge::{AutoCommit, ROOT};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Store;
use crate::document::{RecordHeader, RecordKind};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::{
    Directory, DirectoryEntry, GeoPoint, NewVisit, Sector, Site, TemplateRef, Timestamp, VisitMode,
};

/// What an inspector enters to start a visit at an enterprise of the directory.
#[derive(Clone, Debug, PartialEq)]
pub struct VisitFromEnterprise {
    /// Covert or announced.
    pub mode: VisitMode,
    /// Names of the inspectors.
    pub team: Vec<String>,
    /// The checklist version to use.
    pub template: TemplateRef,
    /// The visit's sector; the checklist's when not given.
    pub sector: Option<Sector>,
    /// Where the visit starts.
    pub location: Option<GeoPoint>,
}

/// What the phone holds of its region's directory.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DirectoryInfo {
    /// The region.
    pub region: String,
    /// When the server last changed it, ms.
    pub updated_at: Timestamp,
    /// Enterprises the region's registry holds.
    pub registered: u64,
    /// Enterprises the phone holds (fewer than `registered` only over the directory's cap).
    pub held: u64,
}

const COLUMNS: &str = "credit_code, name, former_names, address, sectors, tier, open_hazards, \
                       overdue_hazards, key_listed, blacklisted";

fn entry_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<DirectoryEntry> {
    Ok(DirectoryEntry {
        credit_code: r.get(0)?,
        name: r.get(1)?,
        former_names: r
            .get::<_, String>(2)?
            .split('\n')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        address: r.get(3)?,
        sectors: r
            .get::<_, String>(4)?
            .split(',')
            .filter_map(Sector::from_code)
            .collect(),
        tier: r.get(5)?,
        open_hazards: r.get(6)?,
        overdue_hazards: r.get(7)?,
        key_listed: r.get(8)?,
        blacklisted: r.get(9)?,
    })
}

fn search_text(e: &DirectoryEntry) -> String {
    let mut text = format!("{}\n{}\n{}", e.credit_code, e.name, e.address);
    for name in &e.former_names {
        text.push('\n');
        text.push_str(name);
    }
    text.to_lowercase()
}

/// Rewrites the index rows of directory record `header` from its document.
pub(super) fn reindex(tx: &Transaction<'_>, header: &RecordHeader, doc: &AutoCommit) -> Result<()> {
    let directory: Directory = autosurgeon::hydrate_prop(doc, ROOT, "directory")?;
    unindex(tx, &header.id)?;
    let mut insert = tx.prepare_cached(&format!(
        "INSERT INTO directory_index (record, {COLUMNS}, search)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))?;
    for e in directory.enterprises.values() {
        let sectors: Vec<&str> = e.sectors.iter().map(|s| s.code()).collect();
        insert.execute(params![
            header.id.as_str(),
            e.credit_code,
            e.name,
            e.former_names.join("\n"),
            e.address,
            sectors.join(","),
            e.tier,
            e.open_hazards,
            e.overdue_hazards,
            e.key_listed,
            e.blacklisted,
            search_text(e),
        ])?;
    }
    Ok(())
}

/// Drops the index rows of directory record `id`.
pub(super) fn unindex(tx: &Connection, id: &RecordId) -> Result<()> {
    tx.prepare_cached("DELETE FROM directory_index WHERE record = ?1")?
        .execute([id.as_str()])?;
    Ok(())
}

impl Store {
    /// The directory record of this device's region (none before the profile names one).
    fn directory_record(&self) -> Result<Option<RecordId>> {
        let region = &self.profile.scope.region;
        if region.is_empty() {
            return Ok(None);
        }
        RecordId::for_directory(region).map(Some)
    }

    /// The enterprises of this device's region whose credit code, name, former name or
    /// address contains `search` (ignoring case; every enterprise when `None` or blank), by
    /// name; at most `limit` of them when given. Reads the store only: it works offline.
    pub fn directory(
        &self,
        search: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<DirectoryEntry>> {
        let Some(record) = self.directory_record()? else {
            return Ok(Vec::new());
        };
        let term = search.map(|s| s.trim().to_lowercase()).unwrap_or_default();
        let limit = limit.map_or(-1, i64::from);
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM directory_index
             WHERE record = ?1 AND instr(search, ?2) > 0
             ORDER BY name, credit_code LIMIT ?3"
        ))?;
        let rows = stmt
            .query_map(params![record.as_str(), term, limit], entry_of)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// One enterprise of the directory by its credit code (case and surrounding spaces do
    /// not matter); `NotFound` when this device's directory does not hold it.
    pub fn directory_entry(&self, credit_code: &str) -> Result<DirectoryEntry> {
        let code = credit_code.trim().to_uppercase();
        let not_found = || Error::NotFound {
            kind: "enterprise",
            id: code.clone(),
        };
        let Some(record) = self.directory_record()? else {
            return Err(not_found());
        };
        self.conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM directory_index WHERE record = ?1 AND credit_code = ?2"
            ))?
            .query_row(params![record.as_str(), code], entry_of)
            .optional()?
            .ok_or_else(not_found)
    }

    /// What the device holds of its region's directory; `None` before the first one arrived.
    pub fn directory_info(&mut self) -> Result<Option<DirectoryInfo>> {
        let Some(record) = self.directory_record()? else {
            return Ok(None);
        };
        let held: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM directory_index WHERE record = ?1",
            [record.as_str()],
            |r| r.get(0),
        )?;
        let stored: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM records WHERE id = ?1 AND kind = 'directory')
                AND NOT EXISTS (SELECT 1 FROM unreadable WHERE id = ?1)",
            [record.as_str()],
            |r| r.get(0),
        )?;
        if !stored {
            return Ok(None);
        }
        let entry = self.loaded_record(&record, RecordKind::Directory, "directory")?;
        let doc = &entry.doc;
        let region: Option<String> =
            autosurgeon::hydrate_path(doc, &ROOT, ["directory".into(), "region".into()])?;
        let updated_at: Option<i64> =
            autosurgeon::hydrate_path(doc, &ROOT, ["directory".into(), "updated_at".into()])?;
        let registered: Option<u64> =
            autosurgeon::hydrate_path(doc, &ROOT, ["directory".into(), "registered".into()])?;
        Ok(Some(DirectoryInfo {
            region: region.unwrap_or_default(),
            updated_at: updated_at.unwrap_or_default(),
            registered: registered.unwrap_or_default(),
            held: u64::try_from(held).unwrap_or_default(),
        }))
    }

    /// Starts a visit at enterprise `credit_code` of the directory: the visit's site takes
    /// the entry's name, credit code and address (so the office links the visit to the
    /// enterprise by its code), its sector `input.sector` or the checklist's.
    pub fn start_visit_from_enterprise(
        &mut self,
        credit_code: &str,
        input: VisitFromEnterprise,
    ) -> Result<RecordId> {
        let entry = self.directory_entry(credit_code)?;
        let template = self.template(&input.template.id, input.template.version)?;
        let site = Site {
            name: entry.name,
            credit_code: Some(entry.credit_code),
            address: entry.address,
            sector: input.sector.unwrap_or(template.sector),
        };
        self.create_visit(NewVisit {
            site,
            mode: input.mode,
            team: input.team,
            template: input.template,
            assignment: None,
            location: input.location,
        })
    }
}
