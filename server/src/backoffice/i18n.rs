//! The pages' two languages: zh-CN first, English with `?lang=en` (remembered in a cookie).

use siteproof_core::{AssignmentKind, CaseEventKind, CollectionKind, Sector};

/// A page language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文 (default).
    Zh,
    /// English.
    En,
}

impl Lang {
    /// From a `lang` query value or cookie.
    pub fn from_code(code: Option<&str>) -> Option<Lang> {
        match code? {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The code for `lang=` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `<html lang>` value.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Picks the text of this language.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// A sector's name.
    pub fn sector(self, code: &str) -> &'static str {
        let (zh, en) = match Sector::from_code(code) {
            Some(Sector::HazardousChemicals) => ("危险化学品", "Hazardous chemicals"),
            Some(Sector::CoalMine) => ("煤矿", "Coal mines"),
            Some(Sector::NonCoalMine) => ("非煤矿山", "Non-coal mines"),
            Some(Sector::IndustryTrade) => ("工贸", "Industry and trade"),
            Some(Sector::FireSafety) => ("消防", "Fire safety"),
            Some(Sector::RoadTransport) => ("道路交通", "Road transport"),
            Some(Sector::BuildingConstruction) => ("房屋市政工程", "Building construction"),
            Some(Sector::Gas) => ("燃气", "Gas"),
            Some(Sector::Tourism) => ("旅游", "Tourism"),
            Some(Sector::SpecialEquipment) => ("特种设备", "Special equipment"),
            None => ("其他", "Other"),
        };
        self.t(zh, en)
    }

    /// A visit mode's name.
    pub fn mode(self, code: &str) -> &'static str {
        match code {
            "covert" => self.t("暗访", "Covert"),
            _ => self.t("明查", "Announced"),
        }
    }

    /// A severity's name.
    pub fn severity(self, code: &str) -> &'static str {
        match code {
            "major" => self.t("重大事故隐患", "Major hazard"),
            _ => self.t("一般隐患", "General hazard"),
        }
    }

    /// A case status's name.
    pub fn status(self, code: &str) -> &'static str {
        match code {
            "fixed_on_spot" => self.t("立行立改", "Fixed on the spot"),
            "open" => self.t("待交办", "Open"),
            "rectifying" => self.t("已下达整改", "Rectification ordered"),
            "reopened" => self.t("已重新打开", "Reopened"),
            "rectified" => self.t("已整改待核查", "Rectified"),
            "verified" => self.t("已核查待销号", "Verified"),
            "closed" => self.t("已销号", "Closed"),
            _ => self.t("未知", "Unknown"),
        }
    }

    /// An evidence check's outcome, as its badge says it.
    pub fn evidence_status(self, code: &str) -> &'static str {
        match code {
            "verified" => self.t("签名已验证", "Signature verified"),
            "rejected" => self.t("验证失败", "Verification failed"),
            _ => self.t("未验证", "Not verified"),
        }
    }

    /// A case event's name.
    pub fn event(self, kind: CaseEventKind) -> &'static str {
        match kind {
            CaseEventKind::Opened => self.t("立案", "Opened"),
            CaseEventKind::Ordered => self.t("下达整改", "Rectification ordered"),
            CaseEventKind::InterimMeasures => self.t("防控措施", "Interim measures"),
            CaseEventKind::Escalated => self.t("挂牌督办", "Listed supervision"),
            CaseEventKind::Rectified => self.t("整改完成", "Rectified"),
            CaseEventKind::Verified => self.t("核查通过", "Verified"),
            CaseEventKind::Closed => self.t("销号", "Closed"),
            CaseEventKind::Reopened => self.t("重新打开", "Reopened"),
        }
    }

    /// An assignment kind's name (六推送).
    pub fn assignment_kind(self, kind: AssignmentKind) -> &'static str {
        match kind {
            AssignmentKind::RiskPoint => self.t("风险点位", "Risk point"),
            AssignmentKind::Lead => self.t("举报线索", "Whistleblower lead"),
            AssignmentKind::GroupInfo => self.t("组情信息", "Group information"),
            AssignmentKind::KeyFocus => self.t("重点关注事项", "Key focus"),
            AssignmentKind::Experts => self.t("行业专家", "Sector experts"),
            AssignmentKind::PlannedTarget => self.t("计划检查对象", "Planned target"),
            AssignmentKind::Reinspection => self.t("复查", "Re-inspection"),
        }
    }

    /// An assignment kind's name from its code.
    pub fn assignment_kind_code(self, code: &str) -> &'static str {
        AssignmentKind::from_code(code)
            .map_or_else(|| self.t("其他", "Other"), |k| self.assignment_kind(k))
    }

    /// A collection kind's name (三收集).
    pub fn collection(self, code: &str) -> &'static str {
        match CollectionKind::from_code(code) {
            Some(CollectionKind::WorkUpdate) => self.t("工作动态", "Work update"),
            Some(CollectionKind::Practice) => self.t("经验做法", "Practice"),
            None => self.t("其他", "Other"),
        }
    }

    /// A lead status's name.
    pub fn lead_status(self, code: &str) -> &'static str {
        match code {
            "received" => self.t("已受理，待研判", "Received, awaiting triage"),
            "assigned" => self.t("已转交督查组核查", "Passed to an inspection group"),
            "inspected" => self.t("督查组已现场核查", "Inspected on site"),
            "dismissed" => self.t("经研判不予立项", "Not taken further"),
            _ => self.t("未知", "Unknown"),
        }
    }
}
