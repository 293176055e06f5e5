//! Tiered supervision (分级分类差异化执法, `docs/supervision.md`): every enterprise the user may
//! see, known by the credit code its visits carry, scored by `siteproof_core::supervision`
//! from facts the index gathers (`facts.rs`); the key-supervision list (tier A, the blacklist
//! and manual entries), the blacklist with its way off, the audit of every change to them,
//! and the planning of covert visits that become planned-target pushes. Lists are office
//! rows kept by the [`SupervisionStore`]; who may change them is `Duty::KeepSupervisionLists`.

mod cache;
mod facts;
pub(super) mod pages;
pub(super) mod routes;

use std::collections::{HashMap, HashSet};

use siteproof_core::{
    AssignmentKind, RecordId, RiskFacts, RiskScore, Sector, Site, Tier, normalize_credit_code,
};

use super::{BackOffice, NewAssignment, WebUser};
use crate::error::{Error, Result};
use crate::identity::visibility::{Duty, Visibility};
pub use crate::storage::{AuditRow, ListEntry, SupervisionList as List};
use crate::storage::{ListRemoval, NewListEntry, StorageError, StorageResult, SupervisionStore};
pub use cache::{KeptRisks, RiskCacheStats};
pub use facts::Gathered;
use facts::{DAY_MS, view_of};

/// One enterprise with its facts, score and list marks.
#[derive(Clone, Debug)]
pub struct EnterpriseRisk {
    /// What the index knows.
    pub facts: Gathered,
    /// Whole days since its last covert visit.
    pub days_since_covert: Option<u32>,
    /// Score, tier, reasons.
    pub risk: RiskScore,
    /// On the blacklist now.
    pub blacklisted: bool,
    /// A manual key-list entry is open.
    pub key_listed: bool,
}

impl EnterpriseRisk {
    /// On the key-supervision list: tier A, blacklisted, or entered by hand.
    pub fn on_key_list(&self) -> bool {
        self.risk.tier == Tier::A || self.blacklisted || self.key_listed
    }
}

/// The tier view's filters.
#[derive(Clone, Debug, Default)]
pub struct TierFilter {
    /// Sector code of the latest visit.
    pub sector: Option<String>,
    /// Group of the latest visit (the group's area).
    pub group: Option<String>,
    /// One tier.
    pub tier: Option<Tier>,
}

/// Where a key-list entry comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum KeySource {
    /// Tier A by the score.
    Tier,
    /// On the blacklist.
    Blacklist,
    /// Entered by hand (the open row).
    Manual(ListEntry),
}

/// The key-supervision list, the blacklist and their audit, as one user may see them.
#[derive(Clone, Debug)]
pub struct SupervisionLists {
    /// The key list: each enterprise with every source that puts it there.
    pub key_list: Vec<(EnterpriseRisk, Vec<KeySource>)>,
    /// Blacklist entries, open first then closed, newest first.
    pub blacklist: Vec<ListEntry>,
    /// Closed manual key-list entries.
    pub key_list_closed: Vec<ListEntry>,
    /// Every change, newest first.
    pub audit: Vec<AuditRow>,
}

/// A proposed covert visit.
#[derive(Clone, Debug)]
pub struct Proposal {
    /// The enterprise.
    pub enterprise: EnterpriseRisk,
    /// Days past its tier's interval (`None`: never visited covertly).
    pub overdue_days: Option<i64>,
}

const MAX_REASON: usize = 1000;

fn reason_of(what: &str, text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_REASON {
        return Err(Error::InvalidInput(format!(
            "{what} needs a reason (at most {MAX_REASON} characters)"
        )));
    }
    Ok(text.to_owned())
}

fn whole_days(ms: i64) -> u32 {
    u32::try_from((ms / DAY_MS).max(0)).unwrap_or(u32::MAX)
}

fn score(g: Gathered, now: i64) -> Option<EnterpriseRisk> {
    let sector = Sector::from_code(&g.sector)?;
    let days_since_covert = g.last_covert.map(|t| whole_days(now - t));
    let risk = RiskFacts {
        sector,
        major_hazards: g.major,
        overdue_hazards: g.overdue,
        repeat_findings: g.repeats,
        leads: g.leads,
        days_since_covert,
    }
    .score();
    Some(EnterpriseRisk {
        facts: g,
        days_since_covert,
        risk,
        blacklisted: false,
        key_listed: false,
    })
}

/// Marks an enterprise on the blacklist or the key list by the open entries' codes.
fn marked(
    mut e: EnterpriseRisk,
    black: &HashSet<String>,
    keyed: &HashSet<String>,
) -> EnterpriseRisk {
    e.blacklisted = black.contains(&e.facts.credit_code);
    e.key_listed = keyed.contains(&e.facts.credit_code);
    e
}

/// The credit codes of the open entries of `list` that `vis` may see.
async fn open_codes(
    store: &dyn SupervisionStore,
    vis: &Visibility,
    list: List,
) -> StorageResult<HashSet<String>> {
    Ok(store
        .list_entries(list, &vis.region_rows(), Some(true))
        .await?
        .into_iter()
        .map(|e| e.credit_code)
        .collect())
}

/// The open blacklist's and key list's codes `vis` may see.
async fn marks(
    store: &dyn SupervisionStore,
    vis: &Visibility,
) -> StorageResult<(HashSet<String>, HashSet<String>)> {
    Ok((
        open_codes(store, vis, List::Blacklist).await?,
        open_codes(store, vis, List::KeyList).await?,
    ))
}

/// The tier and the list flags (key-listed, blacklisted) of every enterprise `vis` may see
/// that can be scored, by credit code, at `now`: what the region's enterprise directory
/// carries (`backoffice/directory.rs`).
pub(super) async fn tiers(
    store: &dyn SupervisionStore,
    vis: &Visibility,
    now: i64,
) -> StorageResult<HashMap<String, (Tier, bool, bool)>> {
    let (black, keyed) = marks(store, vis).await?;
    Ok(facts::gather(store, vis, now, None)
        .await?
        .into_values()
        .filter_map(|g| score(g, now))
        .map(|e| {
            let code = e.facts.credit_code.clone();
            let flags = (e.risk.tier, keyed.contains(&code), black.contains(&code));
            (code, flags)
        })
        .collect())
}

impl BackOffice {
    /// The store of the lists and the risk facts.
    fn supervision(&self) -> std::sync::Arc<dyn SupervisionStore> {
        self.storage.supervision_store()
    }

    /// Every enterprise the user may see, scored at `now`, highest score first. The facts
    /// come from the kept entry of the user's rows, brought up to date first (`cache.rs`).
    pub async fn enterprise_risks_at(
        &self,
        user: &WebUser,
        now: i64,
    ) -> Result<Vec<EnterpriseRisk>> {
        self.refresh_index().await?;
        let vis = Visibility::user(user);
        let gathered = self.risks.facts_at(&vis, now).await?;
        let (black, keyed) = marks(&*self.supervision(), &vis).await?;
        let mut out: Vec<EnterpriseRisk> = gathered
            .into_iter()
            .filter_map(|g| score(g, now))
            .map(|e| marked(e, &black, &keyed))
            .collect();
        out.sort_by(|a, b| {
            b.risk
                .score
                .cmp(&a.risk.score)
                .then_with(|| a.facts.credit_code.cmp(&b.facts.credit_code))
        });
        Ok(out)
    }

    /// What the kept risk facts have cost in reads so far (regions read whole, enterprises
    /// read again, requests served as kept).
    pub fn risk_cache_stats(&self) -> RiskCacheStats {
        self.risks.stats()
    }

    /// Brings the kept risk facts up to date now, as the warming after each write does in
    /// the background (`BackOfficeConfig::warm_risk_facts`), and returns once done.
    pub async fn warm_risk_facts(&self) -> Result<()> {
        Ok(self.risks.warm_now().await?)
    }

    /// One enterprise's risk as the user may see it (its page's panel), at `now`; `None` when
    /// the user sees nothing of it or its sector is unknown. Read directly: one enterprise's
    /// facts are a few index searches.
    pub async fn enterprise_risk_at(
        &self,
        user: &WebUser,
        code: &str,
        now: i64,
    ) -> Result<Option<EnterpriseRisk>> {
        self.refresh_index().await?;
        let vis = Visibility::user(user);
        let store = self.supervision();
        let gathered = facts::gather(&*store, &vis, now, Some(code)).await?;
        let (black, keyed) = marks(&*store, &vis).await?;
        Ok(gathered
            .into_values()
            .filter_map(|g| score(g, now))
            .map(|e| marked(e, &black, &keyed))
            .next())
    }

    /// The tier view: the enterprises matching `filter`, highest score first.
    pub async fn tier_view(
        &self,
        user: &WebUser,
        filter: &TierFilter,
    ) -> Result<Vec<EnterpriseRisk>> {
        let all = self
            .enterprise_risks_at(user, siteproof_core::now())
            .await?;
        Ok(all
            .into_iter()
            .filter(|e| filter.sector.as_ref().is_none_or(|s| *s == e.facts.sector))
            .filter(|e| filter.group.as_ref().is_none_or(|g| *g == e.facts.group))
            .filter(|e| filter.tier.is_none_or(|t| t == e.risk.tier))
            .collect())
    }

    /// The key list, the blacklist and the audit, as the user may see them.
    pub async fn supervision_lists(&self, user: &WebUser) -> Result<SupervisionLists> {
        let all = self
            .enterprise_risks_at(user, siteproof_core::now())
            .await?;
        let rows = Visibility::user(user).region_rows();
        let store = self.supervision();
        let keyed = store.list_entries(List::KeyList, &rows, None).await?;
        let black = store.list_entries(List::Blacklist, &rows, None).await?;
        let audit = store.audit_rows(&rows).await?;
        let visible: HashSet<&str> = all.iter().map(|e| e.facts.credit_code.as_str()).collect();
        let seen = |code: &str| visible.contains(code);
        let mut key_list = Vec::new();
        for e in all.iter().filter(|e| e.on_key_list()) {
            let mut sources = Vec::new();
            if e.risk.tier == Tier::A {
                sources.push(KeySource::Tier);
            }
            if e.blacklisted {
                sources.push(KeySource::Blacklist);
            }
            sources.extend(
                keyed
                    .iter()
                    .filter(|k| k.removed_at.is_none() && k.credit_code == e.facts.credit_code)
                    .cloned()
                    .map(KeySource::Manual),
            );
            key_list.push((e.clone(), sources));
        }
        // Decisions by hand first (the page shows the first few hundred), then by score.
        key_list.sort_by_key(|(e, _)| !(e.blacklisted || e.key_listed));
        Ok(SupervisionLists {
            key_list,
            blacklist: black.into_iter().filter(|b| seen(&b.credit_code)).collect(),
            key_list_closed: keyed
                .into_iter()
                .filter(|k| k.removed_at.is_some() && seen(&k.credit_code))
                .collect(),
            audit: audit.into_iter().filter(|a| seen(&a.credit_code)).collect(),
        })
    }

    /// Puts an enterprise on a list (the key list by hand, or the blacklist decided on
    /// `decided_on`), with the audit row, in one transaction; returns the entry's id.
    pub async fn add_to_list(
        &self,
        user: &WebUser,
        list: List,
        credit_code: &str,
        reason: &str,
        decided_on: Option<i64>,
    ) -> Result<i64> {
        let vis = Visibility::user(user);
        vis.require(Duty::KeepSupervisionLists)?;
        let reason = reason_of("an entry", reason)?;
        let code = normalize_credit_code(credit_code)
            .ok_or_else(|| Error::InvalidInput("the credit code is required".into()))?;
        self.refresh_index().await?;
        let store = self.supervision();
        let Some(name) = store.visible_name(&view_of(&vis), &code).await? else {
            return Err(Error::InvalidInput(format!(
                "no enterprise of your region (registered, or named by a visit you may see) has credit code {code}"
            )));
        };
        let now = siteproof_core::now();
        let entry = NewListEntry {
            region: user.region.clone(),
            credit_code: code,
            name,
            reason,
            decided_on: decided_on.unwrap_or_else(|| super::dates::day_start(now)),
            by: user.login.clone(),
            at: now,
        };
        let added = store.add_to_list(list, &entry).await;
        self.directory_changed(&user.region);
        match added {
            Ok(id) => Ok(id),
            Err(StorageError::Conflict(_)) => Err(Error::InvalidInput(
                "the enterprise is already on this list".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes an entry off its list, stating why, with the audit row, in one transaction. The
    /// entry is kept, closed.
    pub async fn remove_from_list(
        &self,
        user: &WebUser,
        list: List,
        id: i64,
        reason: &str,
    ) -> Result<()> {
        let vis = Visibility::user(user);
        vis.require(Duty::KeepSupervisionLists)?;
        let reason = reason_of("a removal", reason)?;
        let store = self.supervision();
        let rows = vis.region_rows();
        let unknown = || Error::UnknownRecord { id: id.to_string() };
        let Some(entry) = store
            .list_entries(list, &rows, Some(true))
            .await?
            .into_iter()
            .find(|e| e.id == id)
        else {
            return Err(unknown());
        };
        if store
            .visible_name(&view_of(&vis), &entry.credit_code)
            .await?
            .is_none()
        {
            return Err(unknown());
        }
        let removal = ListRemoval {
            region: vis.region().unwrap_or_default().to_owned(),
            reason,
            by: user.login.clone(),
            at: siteproof_core::now(),
        };
        let removed = store.remove_from_list(list, id, &removal).await;
        self.directory_changed(&user.region);
        match removed {
            Ok(_) => Ok(()),
            // Closed meanwhile, by this process or another.
            Err(StorageError::Conflict(_) | StorageError::NotFound(_)) => Err(unknown()),
            Err(e) => Err(e.into()),
        }
    }

    /// Covert visits to propose to `group` at `now`: enterprises of its area (whose latest
    /// visit was the group's; the whole region with `whole_region`) whose tier's interval has
    /// passed since their last covert visit, or that never had one, or that are on the key
    /// list; highest tier first, then longest without a covert visit.
    pub async fn planning_at(
        &self,
        user: &WebUser,
        group: &str,
        whole_region: bool,
        now: i64,
    ) -> Result<Vec<Proposal>> {
        let all = self.enterprise_risks_at(user, now).await?;
        let mut out: Vec<Proposal> = all
            .into_iter()
            .filter(|e| whole_region || e.facts.group == group)
            .filter_map(|e| {
                let interval = i64::from(e.risk.tier.visit_interval_days());
                let overdue_days = e.days_since_covert.map(|d| i64::from(d) - interval);
                let due = overdue_days.is_none_or(|d| d >= 0) || e.on_key_list();
                due.then_some(Proposal {
                    enterprise: e,
                    overdue_days,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            let gap = |p: &Proposal| p.enterprise.days_since_covert.map_or(u32::MAX, |d| d);
            a.enterprise
                .risk
                .tier
                .cmp(&b.enterprise.risk.tier)
                .then_with(|| gap(b).cmp(&gap(a)))
                .then_with(|| {
                    a.enterprise
                        .facts
                        .credit_code
                        .cmp(&b.enterprise.facts.credit_code)
                })
        });
        Ok(out)
    }

    /// Turns a selection of proposals into planned-target pushes (推送计划检查对象) to
    /// `group`: one assignment per enterprise, with its name and credit code as the site, its
    /// tier and reasons as the content. Returns the assignments' ids.
    pub async fn plan_covert_visits(
        &self,
        user: &WebUser,
        group: &str,
        credit_codes: &[String],
        due: Option<i64>,
    ) -> Result<Vec<RecordId>> {
        if credit_codes.is_empty() {
            return Err(Error::InvalidInput(
                "tick at least one enterprise to plan".into(),
            ));
        }
        let all = self
            .enterprise_risks_at(user, siteproof_core::now())
            .await?;
        let mut codes = credit_codes.to_vec();
        codes.sort();
        codes.dedup();
        let mut chosen = Vec::new();
        for code in &codes {
            let e = all
                .iter()
                .find(|e| e.facts.credit_code == *code)
                .ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "no enterprise with credit code {code} is yours to plan"
                    ))
                })?;
            chosen.push(e.clone());
        }
        let mut ids = Vec::new();
        for e in chosen {
            let sector = Sector::from_code(&e.facts.sector);
            let reasons = e
                .risk
                .reasons
                .iter()
                .map(|r| format!("{}（{} 分）", r.zh, r.points))
                .collect::<Vec<_>>()
                .join("；");
            let new = NewAssignment {
                group: group.to_owned(),
                kind: AssignmentKind::PlannedTarget,
                title: format!("计划暗访：{}", e.facts.name),
                body: format!(
                    "风险等级 {}，{} 分：{reasons}",
                    e.risk.tier.code(),
                    e.risk.score
                ),
                sector,
                site: sector.map(|sector| Site {
                    name: e.facts.name.clone(),
                    credit_code: Some(e.facts.credit_code.clone()),
                    address: String::new(),
                    sector,
                }),
                template: None,
                due,
                experts: Vec::new(),
                lead: None,
                cases: Vec::new(),
            };
            ids.push(self.issue_assignment(user, new).await?);
        }
        Ok(ids)
    }
}
