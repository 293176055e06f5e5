//! The enterprise directory (企业名录) a phone holds offline: every enterprise of its region's
//! registry with what an inspector needs to pick it when starting a visit: name, credit code,
//! address, sectors, supervision tier and open hazards.
//!
//! The server writes one `directory` record per region (id `directory:<region>`, scope
//! `{region, ""}`), built from the office's registry and kept current as it changes; every
//! device of the region pulls it with its other records, and no device writes it. The store
//! indexes it for offline search ([`crate::Store::directory`]); a visit started from an entry
//! ([`crate::Store::start_visit_from_enterprise`]) carries the entry's name, credit code and
//! address, so the office links the visit to the enterprise by its code.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::{Sector, Timestamp};

/// The most enterprises one region's directory holds. A region registering more gets the
/// first this many by tier (highest risk first), then name; [`Directory::registered`] says
/// how many there are in all.
pub const MAX_DIRECTORY_ENTRIES: usize = 20_000;

/// The most characters of a name or an address kept in the directory (longer ones are cut).
pub const MAX_DIRECTORY_TEXT: usize = 200;

/// The most former names kept per enterprise (the latest ones).
pub const MAX_FORMER_NAMES: usize = 5;

/// One region's enterprise directory (the `directory` record's root key `directory`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Directory {
    /// The region whose registry it is.
    pub region: String,
    /// When the server last changed it, ms.
    pub updated_at: Timestamp,
    /// How many enterprises the region's registry holds (more than `enterprises` only when
    /// over [`MAX_DIRECTORY_ENTRIES`]).
    pub registered: u64,
    /// The enterprises, by credit code.
    pub enterprises: BTreeMap<String, DirectoryEntry>,
}

/// One enterprise of the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct DirectoryEntry {
    /// Unified social credit code (统一社会信用代码), checked per GB 32100-2015.
    pub credit_code: String,
    /// Registered name.
    pub name: String,
    /// Names it was known by before (an inspector may know it by one of them).
    pub former_names: Vec<String>,
    /// Address.
    pub address: String,
    /// Sectors it works in.
    pub sectors: Vec<Sector>,
    /// Supervision tier `A` (highest risk) to `D`, when the office has scored it
    /// (`docs/supervision.md`).
    pub tier: Option<String>,
    /// Hazards found on its visits and not yet closed.
    pub open_hazards: u32,
    /// Of those, how many are past their rectification deadline.
    pub overdue_hazards: u32,
    /// On the key-supervision list (重点监管企业名单).
    pub key_listed: bool,
    /// On the blacklist (黑名单).
    pub blacklisted: bool,
}

impl RecordId {
    /// The record id of `region`'s directory: `directory:<region>`.
    pub fn for_directory(region: &str) -> Result<Self> {
        format!("directory:{region}")
            .parse()
            .map_err(|_| Error::InvalidInput(format!("region {region:?} cannot name a directory")))
    }
}

impl Directory {
    /// Checks what the record layout cannot: every key is its entry's valid credit code,
    /// tiers are `A`-`D`, texts and the entry count within their bounds.
    pub fn validate(&self) -> Result<()> {
        if self.enterprises.len() > MAX_DIRECTORY_ENTRIES {
            return Err(Error::InvalidInput(format!(
                "a directory holds at most {MAX_DIRECTORY_ENTRIES} enterprises"
            )));
        }
        for (code, entry) in &self.enterprises {
            let parsed: crate::CreditCode = code.parse().map_err(|e| {
                Error::InvalidInput(format!("enterprises/{code}: not a credit code ({e})"))
            })?;
            if parsed.as_str() != code || entry.credit_code != *code {
                return Err(Error::InvalidInput(format!(
                    "enterprises/{code}/credit_code: differs from its key"
                )));
            }
            if let Some(tier) = &entry.tier
                && crate::supervision::Tier::from_code(tier).is_none()
            {
                return Err(Error::InvalidInput(format!(
                    "enterprises/{code}/tier: {tier:?} is not a tier A to D"
                )));
            }
            let long = [&entry.name, &entry.address]
                .into_iter()
                .chain(&entry.former_names)
                .any(|t| t.chars().count() > MAX_DIRECTORY_TEXT);
            if long || entry.former_names.len() > MAX_FORMER_NAMES {
                return Err(Error::InvalidInput(format!(
                    "enterprises/{code}: a name or address is over its bound"
                )));
            }
            if entry.name.trim().is_empty() {
                return Err(Error::InvalidInput(format!(
                    "enterprises/{code}/name: is empty"
                )));
            }
        }
        Ok(())
    }
}

/// Cuts `text` to [`MAX_DIRECTORY_TEXT`] characters.
pub fn directory_text(text: &str) -> String {
    text.chars().take(MAX_DIRECTORY_TEXT).collect()
}
