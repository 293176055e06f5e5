//! The rosters of a region: inspectors (督导检查人员库), each in at most one group, and the
//! expert pool (专家库). Office rows, not synced records: an experts assignment copies the chosen
//! experts' contacts into the assignment, a group-information assignment the group's members.

mod pages;
pub(super) mod routes;

use rusqlite::{Connection, params};
use siteproof_core::{ExpertContact, Sector};

use super::{BackOffice, WebUser, db};
use crate::error::{Error, Result};
use crate::identity::visibility::{Duty, Visibility};

/// An inspector of the roster.
#[derive(Clone, Debug, PartialEq)]
pub struct Inspector {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Employer (unit).
    pub unit: String,
    /// Phone.
    pub phone: Option<String>,
    /// Sectors of competence.
    pub sectors: Vec<Sector>,
    /// The group the inspector is in, if any.
    pub group: Option<String>,
}

/// An expert of the pool.
#[derive(Clone, Debug, PartialEq)]
pub struct Expert {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Field of expertise.
    pub specialty: String,
    /// Sectors covered.
    pub sectors: Vec<Sector>,
    /// Employer or institute.
    pub unit: String,
    /// Phone.
    pub phone: Option<String>,
}

fn sectors_text(sectors: &[Sector]) -> String {
    sectors
        .iter()
        .map(|s| s.code())
        .collect::<Vec<_>>()
        .join(",")
}

fn sectors_of(text: &str) -> Vec<Sector> {
    text.split(',').filter_map(Sector::from_code).collect()
}

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
        let name = required("the name", &new.name)?;
        let unit = required("the unit", &new.unit)?;
        let region = user.region.clone();
        if let Some(group) = new.group.clone() {
            let r = region.clone();
            if !self
                .db
                .run(move |c| db::group_in_region(c, &group, &r))
                .await?
            {
                return Err(Error::InvalidInput("no such group in this region".into()));
            }
        }
        let (phone, sectors, group) = (optional(new.phone), sectors_text(&new.sectors), new.group);
        self.db
            .run(move |c| {
                c.execute(
                    "INSERT INTO bo_inspectors (region, name, unit, phone, sectors, grp)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![region, name, unit, phone, sectors, group],
                )?;
                Ok(c.last_insert_rowid())
            })
            .await
    }

    /// Puts an inspector of the region into a group (or, with `None`, out of any).
    pub async fn set_inspector_group(
        &self,
        user: &WebUser,
        id: i64,
        group: Option<String>,
    ) -> Result<()> {
        check_editor(user)?;
        let region = user.region.clone();
        if let Some(g) = group.clone() {
            let r = region.clone();
            if !self.db.run(move |c| db::group_in_region(c, &g, &r)).await? {
                return Err(Error::InvalidInput("no such group in this region".into()));
            }
        }
        let changed = self
            .db
            .run(move |c| {
                c.execute(
                    "UPDATE bo_inspectors SET grp = ?1 WHERE id = ?2 AND region = ?3",
                    params![group, id, region],
                )
            })
            .await?;
        if changed == 0 {
            return Err(Error::UnknownRecord { id: id.to_string() });
        }
        Ok(())
    }

    /// The region's inspector roster, by group then name.
    pub async fn inspectors(&self, user: &WebUser) -> Result<Vec<Inspector>> {
        let region = user.region.clone();
        self.db.run(move |c| inspectors_of(c, &region, None)).await
    }

    /// Adds an expert to the region's pool; returns its id.
    pub async fn add_expert(&self, user: &WebUser, new: Expert) -> Result<i64> {
        check_editor(user)?;
        let name = required("the name", &new.name)?;
        let specialty = required("the specialty", &new.specialty)?;
        let unit = required("the unit", &new.unit)?;
        let (region, phone, sectors) = (
            user.region.clone(),
            optional(new.phone),
            sectors_text(&new.sectors),
        );
        self.db
            .run(move |c| {
                c.execute(
                    "INSERT INTO bo_experts (region, name, specialty, sectors, unit, phone)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![region, name, specialty, sectors, unit, phone],
                )?;
                Ok(c.last_insert_rowid())
            })
            .await
    }

    /// The region's expert pool, by name.
    pub async fn experts(&self, user: &WebUser) -> Result<Vec<Expert>> {
        let region = user.region.clone();
        self.db.run(move |c| experts_of(c, &region)).await
    }

    /// The members of a group of the user's region (for a group-information assignment).
    pub async fn group_members(&self, user: &WebUser, group: &str) -> Result<Vec<Inspector>> {
        let (region, group) = (user.region.clone(), group.to_owned());
        self.db
            .run(move |c| inspectors_of(c, &region, Some(&group)))
            .await
    }
}

fn inspectors_of(
    conn: &Connection,
    region: &str,
    group: Option<&str>,
) -> rusqlite::Result<Vec<Inspector>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, unit, phone, sectors, grp FROM bo_inspectors
         WHERE region = ?1 AND (?2 IS NULL OR grp = ?2) ORDER BY grp, name, id",
    )?;
    stmt.query_map(params![region, group], |r| {
        Ok(Inspector {
            id: r.get(0)?,
            name: r.get(1)?,
            unit: r.get(2)?,
            phone: r.get(3)?,
            sectors: sectors_of(&r.get::<_, String>(4)?),
            group: r.get(5)?,
        })
    })?
    .collect()
}

fn experts_of(conn: &Connection, region: &str) -> rusqlite::Result<Vec<Expert>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, specialty, sectors, unit, phone FROM bo_experts
         WHERE region = ?1 ORDER BY name, id",
    )?;
    stmt.query_map([region], |r| {
        Ok(Expert {
            id: r.get(0)?,
            name: r.get(1)?,
            specialty: r.get(2)?,
            sectors: sectors_of(&r.get::<_, String>(3)?),
            unit: r.get(4)?,
            phone: r.get(5)?,
        })
    })?
    .collect()
}

/// The contacts of experts `ids` of `region` (unknown ids are left out).
pub(super) fn expert_contacts(
    conn: &Connection,
    region: &str,
    ids: &[i64],
) -> rusqlite::Result<Vec<ExpertContact>> {
    Ok(experts_of(conn, region)?
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
