//! The rosters of a region: inspectors (督导检查人员库), each in at most one group, and the
//! expert pool (专家库). Office rows, not synced records, kept through the storage's
//! `RosterStore`: an experts assignment copies the chosen experts' contacts into the
//! assignment, a group-information assignment the group's members.

mod pages;
pub(super) mod routes;

use siteproof_core::ExpertContact;

use super::{BackOffice, WebUser};
use crate::error::{Error, Result};
use crate::identity::visibility::{Duty, Visibility};
use crate::storage::GroupChange;
pub use crate::storage::{Expert, Inspector};

fn check_editor(user: &WebUser) -> Result<()> {
    Visibility::user(user).require(Duty::KeepRosters)
}

fn required(what: &str, text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 200 {
        return Err(Error::InvalidInput(format!(
            "{what} is required (at most 200 characters)"
        )));
    }
    Ok(text.to_owned())
}

fn optional(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().chars().take(50).collect::<String>())
        .filter(|t| !t.is_empty())
}

impl BackOffice {
    /// Adds an inspector to the user's region's roster, optionally into a group; returns its id.
    pub async fn add_inspector(&self, user: &WebUser, new: Inspector) -> Result<i64> {
        check_editor(user)?;
        let inspector = Inspector {
            id: 0,
            name: required("the name", &new.name)?,
            unit: required("the unit", &new.unit)?,
            phone: optional(new.phone),
            sectors: new.sectors,
            group: new.group,
        };
        self.storage
            .roster_store()
            .add_inspector(&user.region, &inspector)
            .await?
            .ok_or_else(|| Error::InvalidInput("no such group in this region".into()))
    }

    /// Puts an inspector of the region into a group (or, with `None`, out of any).
    pub async fn set_inspector_group(
        &self,
        user: &WebUser,
        id: i64,
        group: Option<String>,
    ) -> Result<()> {
        check_editor(user)?;
        match self
            .storage
            .roster_store()
            .set_inspector_group(&user.region, id, group.as_deref())
            .await?
        {
            GroupChange::Done => Ok(()),
            GroupChange::NoSuchGroup => {
                Err(Error::InvalidInput("no such group in this region".into()))
            }
            GroupChange::NoSuchInspector => Err(Error::UnknownRecord { id: id.to_string() }),
        }
    }

    /// The region's inspector roster, by group then name.
    pub async fn inspectors(&self, user: &WebUser) -> Result<Vec<Inspector>> {
        Ok(self
            .storage
            .roster_store()
            .inspectors(&user.region, None)
            .await?)
    }

    /// Adds an expert to the region's pool; returns its id.
    pub async fn add_expert(&self, user: &WebUser, new: Expert) -> Result<i64> {
        check_editor(user)?;
        let expert = Expert {
            id: 0,
            name: required("the name", &new.name)?,
            specialty: required("the specialty", &new.specialty)?,
            sectors: new.sectors,
            unit: required("the unit", &new.unit)?,
            phone: optional(new.phone),
        };
        Ok(self
            .storage
            .roster_store()
            .add_expert(&user.region, &expert)
            .await?)
    }

    /// The region's expert pool, by name.
    pub async fn experts(&self, user: &WebUser) -> Result<Vec<Expert>> {
        Ok(self.storage.roster_store().experts(&user.region).await?)
    }

    /// The members of a group of the user's region (for a group-information assignment).
    pub async fn group_members(&self, user: &WebUser, group: &str) -> Result<Vec<Inspector>> {
        Ok(self
            .storage
            .roster_store()
            .inspectors(&user.region, Some(group))
            .await?)
    }

    /// The contacts of experts `ids` of `region`'s pool (unknown ids are left out).
    pub(super) async fn expert_contacts(
        &self,
        region: &str,
        ids: &[i64],
    ) -> Result<Vec<ExpertContact>> {
        Ok(self
            .storage
            .roster_store()
            .experts(region)
            .await?
            .into_iter()
            .filter(|e| ids.contains(&e.id))
            .map(|e| ExpertContact {
                name: e.name,
                specialty: e.specialty,
                sectors: e.sectors,
                unit: e.unit,
                phone: e.phone,
            })
            .collect())
    }
}
