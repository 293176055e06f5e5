//! The enterprise directory (企业名录) each region's phones hold offline
//! (`docs/enterprises.md`, "On the phone"): one `directory` record per region, scope
//! `{region, ""}`, so every device of the region pulls it by the sync's own rule and no other
//! device sees it. It holds the region's registry (name, former names, address, sectors) with
//! each enterprise's supervision tier, list flags and open hazards, built under
//! [`Visibility::directory`].
//!
//! The office writes it, never a device. A device's sync brings its region's directory up to
//! date first ([`BackOffice::sync_directory`]): at once after an office change to the
//! registry, its lists or the ledger ([`BackOffice::directory_changed`]); no sooner than
//! [`BackOfficeConfig::directory_min_gap`] after the last build once devices pushed visits;
//! and at least every [`BackOfficeConfig::directory_max_age`] (tiers and overdue hazards
//! change with time alone). A build writes only the entries that changed, so devices pull
//! small changes, not the directory again.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc};
use siteproof_core::{
    Directory, DirectoryEntry, MAX_DIRECTORY_ENTRIES, MAX_FORMER_NAMES, RecordHeader, RecordId,
    RecordKind, Scope, Tier, directory_text,
};

use super::BackOffice;
#[cfg(doc)]
use super::BackOfficeConfig;
use super::enterprises::Enterprise;
use crate::error::{Error, Result};
use crate::identity::visibility::{Unsectored, Visibility};

/// What the server remembers of a region's directory between syncs.
#[derive(Clone, Copy, Debug)]
pub(super) struct Built {
    at: Instant,
    /// The office changed what it is built from.
    office_change: bool,
    /// Devices pushed records (visits may bring hazards).
    device_change: bool,
}

/// The directory a region should hold, from its registry (`enterprises`), the hazards per
/// enterprise (`(open, overdue)` by credit code) and the tiers and list flags, and how many
/// enterprises the registry has.
fn wanted(
    enterprises: Vec<Enterprise>,
    hazards: &HashMap<String, (u32, u32)>,
    tiers: &HashMap<String, (Tier, bool, bool)>,
) -> (BTreeMap<String, DirectoryEntry>, u64) {
    let registered = enterprises.len() as u64;
    let mut entries: Vec<DirectoryEntry> = enterprises
        .into_iter()
        .map(|e| {
            let (open, overdue) = hazards.get(&e.credit_code).copied().unwrap_or((0, 0));
            let skip = e.former_names.len().saturating_sub(MAX_FORMER_NAMES);
            let (tier, key_listed, blacklisted) = match tiers.get(&e.credit_code) {
                Some((tier, keyed, black)) => (Some(tier.code().to_owned()), *keyed, *black),
                None => (None, false, false),
            };
            DirectoryEntry {
                tier,
                open_hazards: open,
                overdue_hazards: overdue,
                key_listed,
                blacklisted,
                name: directory_text(&e.name),
                former_names: e.former_names[skip..]
                    .iter()
                    .map(|n| directory_text(n))
                    .collect(),
                address: directory_text(&e.address),
                sectors: e.sectors,
                credit_code: e.credit_code,
            }
        })
        .collect();
    if entries.len() > MAX_DIRECTORY_ENTRIES {
        // Keep the riskiest: tier A first, unscored last, then by name.
        entries.sort_by(|a, b| {
            (a.tier.is_none(), &a.tier, &a.name).cmp(&(b.tier.is_none(), &b.tier, &b.name))
        });
        entries.truncate(MAX_DIRECTORY_ENTRIES);
    }
    (
        entries
            .into_iter()
            .map(|e| (e.credit_code.clone(), e))
            .collect(),
        registered,
    )
}

fn map_at(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<ObjId> {
    match doc.get(obj, key) {
        Ok(Some((automerge::Value::Object(ObjType::Map), id))) => Ok(id),
        _ => Err(Error::Internal(format!(
            "the directory record has no map {key}"
        ))),
    }
}

/// Writes into `doc` what differs between the directory it holds (`old`) and the one wanted;
/// whether anything did.
fn apply(
    doc: &mut AutoCommit,
    old: Option<&Directory>,
    wanted: BTreeMap<String, DirectoryEntry>,
    registered: u64,
    region: &str,
    now: i64,
) -> Result<bool> {
    let internal = |e: autosurgeon::ReconcileError| Error::Internal(e.to_string());
    let Some(old) = old else {
        let directory = Directory {
            region: region.to_owned(),
            updated_at: now,
            registered,
            enterprises: wanted,
        };
        autosurgeon::reconcile_prop(doc, ROOT, "directory", &directory).map_err(internal)?;
        return Ok(true);
    };
    let changed: Vec<&String> = wanted
        .iter()
        .filter(|(code, entry)| old.enterprises.get(*code) != Some(*entry))
        .map(|(code, _)| code)
        .collect();
    let gone: Vec<&String> = old
        .enterprises
        .keys()
        .filter(|code| !wanted.contains_key(*code))
        .collect();
    if changed.is_empty() && gone.is_empty() && old.registered == registered {
        return Ok(false);
    }
    let root = map_at(doc, &ROOT, "directory")?;
    let enterprises = map_at(doc, &root, "enterprises")?;
    let am = |e: automerge::AutomergeError| Error::Internal(e.to_string());
    for code in changed {
        autosurgeon::reconcile_prop(doc, &enterprises, code.as_str(), &wanted[code])
            .map_err(internal)?;
    }
    for code in gone {
        doc.delete(&enterprises, code.as_str()).map_err(am)?;
    }
    if old.registered != registered {
        doc.put(&root, "registered", registered).map_err(am)?;
    }
    doc.put(&root, "updated_at", now).map_err(am)?;
    Ok(true)
}

impl BackOffice {
    /// Notes that the office changed what `region`'s directory is built from (the registry,
    /// the supervision lists, the ledger): the next sync of a device of the region rebuilds it.
    pub fn directory_changed(&self, region: &str) {
        if let Some(b) = self.directories().get_mut(region) {
            b.office_change = true;
        }
    }

    fn directories(&self) -> std::sync::MutexGuard<'_, HashMap<String, Built>> {
        self.directories
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn directory_due(&self, region: &str) -> bool {
        let config = &self.config;
        self.directories().get(region).is_none_or(|b| {
            let age = b.at.elapsed();
            b.office_change
                || (b.device_change && age >= config.directory_min_gap)
                || age >= config.directory_max_age
        })
    }

    /// Before a sync of a device of `region` (and after it, with `pushed`: whether the device
    /// pushed records): rebuilds the region's directory when it is due, and notes pushes.
    /// Whether a change was written.
    pub async fn sync_directory(&self, region: &str) -> Result<bool> {
        if !self.directory_due(region) {
            return Ok(false);
        }
        let _guard = self.directory_lock.lock().await;
        if !self.directory_due(region) {
            return Ok(false); // another sync of the region built it meanwhile
        }
        // Noted before reading: a change made while this build reads is built next time.
        self.directories().insert(
            region.to_owned(),
            Built {
                at: Instant::now(),
                office_change: false,
                device_change: false,
            },
        );
        let written = self.write_directory(region, siteproof_core::now()).await;
        if written.is_err() {
            self.directories().remove(region);
        }
        written
    }

    /// Notes that a device of `region` pushed records: the directory is rebuilt at a later
    /// sync of the region, no sooner than `directory_min_gap` after the last build.
    pub fn directory_pushed(&self, region: &str) {
        if let Some(b) = self.directories().get_mut(region) {
            b.device_change = true;
        }
    }

    /// Builds `region`'s directory as it stands at `now` and stores what changed (nothing
    /// while the region has no registered enterprise and never had a directory). Whether a
    /// change was written.
    pub async fn write_directory(&self, region: &str, now: i64) -> Result<bool> {
        self.refresh_index().await?;
        let vis = Visibility::directory(region);
        let enterprises = self
            .storage
            .enterprise_store()
            .all_enterprises(&vis.enterprise_rows())
            .await?;
        let store = self.storage.supervision_store();
        let hazards = store
            .hazard_counts(&vis.rows(Unsectored::Hidden), now)
            .await?;
        let tiers = super::supervision::tiers(&*store, &vis, now).await?;
        let (entries, registered) = wanted(enterprises, &hazards, &tiers);
        let id = RecordId::for_directory(region).map_err(|e| Error::InvalidInput(e.to_string()))?;
        let header = RecordHeader {
            kind: RecordKind::Directory,
            id: id.clone(),
            scope: Scope::group(region, ""),
        };
        let (mut doc, old, known_through) = match self.storage.full_document(&id).await? {
            Some(full) => {
                let doc = siteproof_core::document::decode(
                    &full.to_bytes(),
                    self.directory_actor.clone(),
                )
                .map_err(|e| Error::Internal(e.to_string()))?;
                let old: Directory = autosurgeon::hydrate_prop(&doc, ROOT, "directory")
                    .map_err(|e| Error::Internal(format!("directory {id}: {e}")))?;
                (doc, Some(old), full.max_seq())
            }
            None if entries.is_empty() => return Ok(false),
            None => (
                header
                    .create(self.directory_actor.clone())
                    .map_err(|e| Error::Internal(e.to_string()))?,
                None,
                0,
            ),
        };
        let heads = if old.is_some() {
            doc.get_heads()
        } else {
            Vec::new()
        };
        if !apply(&mut doc, old.as_ref(), entries, registered, region, now)? {
            return Ok(false);
        }
        doc.commit();
        self.store_office_record(&header, &mut doc, &heads, known_through)
            .await?;
        Ok(true)
    }
}
