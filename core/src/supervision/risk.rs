//! The risk score of one enterprise (风险评分) and its supervision tier (A-D).
//!
//! Every point has a reason: [`RiskScore::reasons`] lists each rule that gave points with the
//! facts behind it, so the office page shows why an enterprise is where it is. The rules are
//! stated, with worked examples, in `docs/supervision.md`; this module is their one copy.
//!
//! | rule | points |
//! | --- | --- |
//! | sector risk class | high 20, medium 10, low 5 |
//! | major hazards found in the last 365 days | 15 each, at most 45 |
//! | hazards overdue now | 10 each, at most 30 |
//! | repeat findings (the same checklist item found again on a later visit, last 365 days) | 10 each, at most 30 |
//! | leads received in the last 365 days | 5 each, at most 15 |
//! | days since the last covert visit | never or over 365: 15; over 180: 10; over 90: 5 |
//!
//! Tier A (highest risk, 重点监管) from 60 points, B from 40, C from 20, D below 20.

use serde::Serialize;

use crate::model::Sector;

/// How dangerous a sector's work is, by the source policy's list of high-risk sectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SectorRisk {
    /// Hazardous chemicals, mines, gas: 20 points.
    High,
    /// Industry and trade, fire safety, special equipment, construction, road transport: 10.
    Medium,
    /// Tourism: 5.
    Low,
}

impl SectorRisk {
    /// The risk class of a sector.
    pub fn of(sector: Sector) -> Self {
        match sector {
            Sector::HazardousChemicals | Sector::CoalMine | Sector::NonCoalMine | Sector::Gas => {
                SectorRisk::High
            }
            Sector::IndustryTrade
            | Sector::FireSafety
            | Sector::SpecialEquipment
            | Sector::BuildingConstruction
            | Sector::RoadTransport => SectorRisk::Medium,
            Sector::Tourism => SectorRisk::Low,
        }
    }

    /// The sector that scores an enterprise working in `sectors` (the registry lists them):
    /// the one of the highest risk class, the first listed among equals.
    pub fn riskiest(sectors: &[Sector]) -> Option<Sector> {
        sectors.iter().copied().reduce(|a, b| {
            if Self::of(b).points() > Self::of(a).points() {
                b
            } else {
                a
            }
        })
    }

    /// The points the class gives.
    pub fn points(self) -> u32 {
        match self {
            SectorRisk::High => 20,
            SectorRisk::Medium => 10,
            SectorRisk::Low => 5,
        }
    }

    /// The class's code (`high`, `medium`, `low`).
    pub fn code(self) -> &'static str {
        match self {
            SectorRisk::High => "high",
            SectorRisk::Medium => "medium",
            SectorRisk::Low => "low",
        }
    }
}

/// What the office knows about one enterprise, gathered from its visits, hazards and leads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RiskFacts {
    /// The sector of its latest visit's checklist.
    pub sector: Sector,
    /// Major hazards found in the last 365 days.
    pub major_hazards: u32,
    /// Hazards whose rectification deadline has passed and that are not rectified.
    pub overdue_hazards: u32,
    /// Repeat findings in the last 365 days: for each checklist item, the visits that found
    /// it after the first one that did.
    pub repeat_findings: u32,
    /// Whistleblower leads received in the last 365 days.
    pub leads: u32,
    /// Whole days since its last covert visit (`None`: never visited covertly).
    pub days_since_covert: Option<u32>,
}

/// One rule of the score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskRule {
    /// The sector's risk class.
    Sector,
    /// Major hazards found.
    MajorHazards,
    /// Hazards overdue.
    OverdueHazards,
    /// The same item found again.
    RepeatFindings,
    /// Leads received.
    Leads,
    /// Time since the last covert visit.
    CovertGap,
}

impl RiskRule {
    /// Every rule, in the order reasons are listed.
    pub const ALL: [RiskRule; 6] = [
        RiskRule::Sector,
        RiskRule::MajorHazards,
        RiskRule::OverdueHazards,
        RiskRule::RepeatFindings,
        RiskRule::Leads,
        RiskRule::CovertGap,
    ];

    /// The rule's code.
    pub fn code(self) -> &'static str {
        match self {
            RiskRule::Sector => "sector",
            RiskRule::MajorHazards => "major_hazards",
            RiskRule::OverdueHazards => "overdue_hazards",
            RiskRule::RepeatFindings => "repeat_findings",
            RiskRule::Leads => "leads",
            RiskRule::CovertGap => "covert_gap",
        }
    }
}

/// Why an enterprise got some points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The rule.
    pub rule: RiskRule,
    /// The points it gave.
    pub points: u32,
    /// The facts behind them, in Chinese (the office's language).
    pub zh: String,
    /// The same in English.
    pub en: String,
}

/// A supervision tier. A is the highest risk (重点监管, visited most often), D the lowest,
/// as in the local schemes of 分级分类监管 that rank enterprises from A (high) to D (low).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Tier {
    /// 60 points and more: key supervision.
    A,
    /// 40 to 59.
    B,
    /// 20 to 39.
    C,
    /// Below 20.
    D,
}

impl Tier {
    /// Every tier, highest risk first.
    pub const ALL: [Tier; 4] = [Tier::A, Tier::B, Tier::C, Tier::D];

    /// The tier of a score.
    pub fn of_score(score: u32) -> Self {
        match score {
            60.. => Tier::A,
            40..=59 => Tier::B,
            20..=39 => Tier::C,
            _ => Tier::D,
        }
    }

    /// The letter.
    pub fn code(self) -> &'static str {
        match self {
            Tier::A => "A",
            Tier::B => "B",
            Tier::C => "C",
            Tier::D => "D",
        }
    }

    /// The tier of a letter.
    pub fn from_code(code: &str) -> Option<Self> {
        Tier::ALL.into_iter().find(|t| t.code() == code)
    }

    /// How often the tier should be visited covertly at least, in days: the planning view
    /// proposes an enterprise once this has passed since its last covert visit.
    pub fn visit_interval_days(self) -> u32 {
        match self {
            Tier::A => 30,
            Tier::B => 90,
            Tier::C => 180,
            Tier::D => 365,
        }
    }
}

/// The score, its tier and the reasons that make it up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RiskScore {
    /// The sum of the reasons' points.
    pub score: u32,
    /// The tier of that score.
    pub tier: Tier,
    /// Every rule that gave points, in [`RiskRule::ALL`]'s order.
    pub reasons: Vec<Reason>,
}

fn capped(count: u32, each: u32, cap: u32) -> u32 {
    count.saturating_mul(each).min(cap)
}

fn covert_gap_points(days: Option<u32>) -> u32 {
    match days {
        None => 15,
        Some(d) if d > 365 => 15,
        Some(d) if d > 180 => 10,
        Some(d) if d > 90 => 5,
        Some(_) => 0,
    }
}

impl RiskFacts {
    /// Scores the facts: each rule's points, their sum and the tier.
    pub fn score(&self) -> RiskScore {
        let mut reasons = Vec::new();
        let mut add = |rule, points: u32, zh: String, en: String| {
            if points > 0 {
                reasons.push(Reason {
                    rule,
                    points,
                    zh,
                    en,
                });
            }
        };
        let class = SectorRisk::of(self.sector);
        let (class_zh, class_en) = match class {
            SectorRisk::High => ("高", "high"),
            SectorRisk::Medium => ("中", "medium"),
            SectorRisk::Low => ("低", "low"),
        };
        add(
            RiskRule::Sector,
            class.points(),
            format!("行业风险类别：{class_zh}"),
            format!("sector risk class: {class_en}"),
        );
        add(
            RiskRule::MajorHazards,
            capped(self.major_hazards, 15, 45),
            format!("近一年发现重大隐患 {} 项", self.major_hazards),
            format!(
                "{} major hazards found in the last year",
                self.major_hazards
            ),
        );
        add(
            RiskRule::OverdueHazards,
            capped(self.overdue_hazards, 10, 30),
            format!("逾期未整改隐患 {} 项", self.overdue_hazards),
            format!("{} hazards overdue", self.overdue_hazards),
        );
        add(
            RiskRule::RepeatFindings,
            capped(self.repeat_findings, 10, 30),
            format!("同一检查项重复发现 {} 次", self.repeat_findings),
            format!("{} repeat findings of the same item", self.repeat_findings),
        );
        add(
            RiskRule::Leads,
            capped(self.leads, 5, 15),
            format!("近一年收到举报线索 {} 条", self.leads),
            format!("{} leads received in the last year", self.leads),
        );
        let (gap_zh, gap_en) = match self.days_since_covert {
            None => ("从未暗访".to_owned(), "never visited covertly".to_owned()),
            Some(d) => (
                format!("距上次暗访 {d} 天"),
                format!("{d} days since the last covert visit"),
            ),
        };
        add(
            RiskRule::CovertGap,
            covert_gap_points(self.days_since_covert),
            gap_zh,
            gap_en,
        );
        let score = reasons.iter().map(|r| r.points).sum();
        RiskScore {
            score,
            tier: Tier::of_score(score),
            reasons,
        }
    }
}

impl RiskScore {
    /// The points one rule gave (0 when it gave none).
    pub fn points_of(&self, rule: RiskRule) -> u32 {
        self.reasons
            .iter()
            .find(|r| r.rule == rule)
            .map_or(0, |r| r.points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_riskiest_registered_sector_scores() {
        let sectors = [
            Sector::Tourism,
            Sector::FireSafety,
            Sector::Gas,
            Sector::CoalMine,
        ];
        assert_eq!(SectorRisk::riskiest(&sectors), Some(Sector::Gas));
        assert_eq!(
            SectorRisk::riskiest(&sectors[..2]),
            Some(Sector::FireSafety)
        );
        assert_eq!(SectorRisk::riskiest(&[]), None);
    }

    #[test]
    fn tier_bounds_are_60_40_20() {
        assert_eq!(Tier::of_score(60), Tier::A);
        assert_eq!(Tier::of_score(59), Tier::B);
        assert_eq!(Tier::of_score(40), Tier::B);
        assert_eq!(Tier::of_score(39), Tier::C);
        assert_eq!(Tier::of_score(20), Tier::C);
        assert_eq!(Tier::of_score(19), Tier::D);
        assert_eq!(Tier::of_score(0), Tier::D);
    }

    #[test]
    fn reasons_add_up_to_the_score_and_caps_hold() {
        let facts = RiskFacts {
            sector: Sector::Gas,
            major_hazards: 9,
            overdue_hazards: 9,
            repeat_findings: 9,
            leads: 9,
            days_since_covert: None,
        };
        let s = facts.score();
        assert_eq!(s.score, 20 + 45 + 30 + 30 + 15 + 15);
        assert_eq!(s.reasons.iter().map(|r| r.points).sum::<u32>(), s.score);
        assert_eq!(s.points_of(RiskRule::MajorHazards), 45);
    }
}
