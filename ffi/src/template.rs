//! Checklist templates and the small value types they share with visits, as uniffi records.

use siteproof_core as core;

/// Text in Chinese (the working language) and English.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct LocalizedText {
    /// zh-CN text.
    pub zh: String,
    /// English text.
    pub en: String,
}

/// Who may read a record: a region, and within it one group (empty: the whole region).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Scope {
    /// Region code, e.g. `hebei.shijiazhuang`.
    pub region: String,
    /// Group id within the region.
    pub group: String,
}

/// Severity of a hazard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Severity {
    /// 重大事故隐患: major accident hazard.
    Major,
    /// 一般隐患: general hazard.
    General,
}

/// The sectors of the source policy (§13); each has its own checklist templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Sector {
    /// 危险化学品: hazardous chemicals.
    HazardousChemicals,
    /// 煤矿: coal mines.
    CoalMine,
    /// 非煤矿山: non-coal mines and tailings ponds.
    NonCoalMine,
    /// 工贸: industry and trade (steel, aluminium, combustible dust).
    IndustryTrade,
    /// 消防: fire safety.
    FireSafety,
    /// 道路交通: road transport.
    RoadTransport,
    /// 房屋市政工程: building construction.
    BuildingConstruction,
    /// 燃气: gas.
    Gas,
    /// 旅游: tourism.
    Tourism,
    /// 特种设备: special equipment.
    SpecialEquipment,
}

/// Where an item's requirement comes from.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Criterion {
    /// The source document, e.g. 《煤矿重大事故隐患判定标准》.
    pub document: String,
    /// The clause within it, e.g. 第三条.
    pub clause: String,
}

/// The document a whole template is drawn from.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct TemplateSource {
    /// Document title.
    pub document: String,
    /// Issuing reference (文号) or standard number.
    pub reference: String,
}

/// What kind of answer an item takes.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum AnswerKind {
    /// Pass, fail or not applicable.
    PassFail,
    /// A measured number.
    Number {
        /// Unit, e.g. `%LEL`.
        unit: Option<String>,
    },
    /// Free text.
    Text,
    /// One of a fixed set of choices.
    Choice {
        /// The allowed choices.
        choices: Vec<String>,
    },
}

/// One checklist item.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct TemplateItem {
    /// Item id, unique within the template.
    pub id: String,
    /// What the inspector checks.
    pub text: LocalizedText,
    /// The criterion the item comes from.
    pub criterion: Criterion,
    /// Severity of the hazard when the item fails.
    pub severity: Severity,
    /// The kind of answer.
    pub answer: AnswerKind,
    /// Whether a failed item must carry photo or video evidence.
    pub evidence_required: bool,
}

/// One version of a checklist template (immutable once published).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Template {
    /// Stable template id across versions.
    pub id: String,
    /// Version number, from 1.
    pub version: u32,
    /// Title.
    pub title: LocalizedText,
    /// The sector the template is for.
    pub sector: Sector,
    /// Source document.
    pub source: TemplateSource,
    /// The items, in display order.
    pub items: Vec<TemplateItem>,
}

/// One line of the template list.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct TemplateSummary {
    /// Template id.
    pub id: String,
    /// Version.
    pub version: u32,
    /// Sector.
    pub sector: Sector,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// Number of items.
    pub items: u32,
}

impl From<core::LocalizedText> for LocalizedText {
    fn from(t: core::LocalizedText) -> Self {
        Self { zh: t.zh, en: t.en }
    }
}

impl From<core::Scope> for Scope {
    fn from(s: core::Scope) -> Self {
        Self {
            region: s.region,
            group: s.group,
        }
    }
}

impl From<Scope> for core::Scope {
    fn from(s: Scope) -> Self {
        core::Scope::group(s.region, s.group)
    }
}

impl From<core::Severity> for Severity {
    fn from(s: core::Severity) -> Self {
        match s {
            core::Severity::Major => Self::Major,
            core::Severity::General => Self::General,
        }
    }
}

impl From<Severity> for core::Severity {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Major => Self::Major,
            Severity::General => Self::General,
        }
    }
}

/// Sector pairs in one table, so the two directions cannot drift apart.
macro_rules! sector_pairs {
    ($($name:ident),* $(,)?) => {
        impl From<core::Sector> for Sector {
            fn from(s: core::Sector) -> Self {
                match s { $(core::Sector::$name => Self::$name,)* }
            }
        }
        impl From<Sector> for core::Sector {
            fn from(s: Sector) -> Self {
                match s { $(Sector::$name => Self::$name,)* }
            }
        }
    };
}

sector_pairs!(
    HazardousChemicals,
    CoalMine,
    NonCoalMine,
    IndustryTrade,
    FireSafety,
    RoadTransport,
    BuildingConstruction,
    Gas,
    Tourism,
    SpecialEquipment,
);

impl From<core::AnswerKind> for AnswerKind {
    fn from(k: core::AnswerKind) -> Self {
        match k {
            core::AnswerKind::PassFail => Self::PassFail,
            core::AnswerKind::Number { unit } => Self::Number { unit },
            core::AnswerKind::Text => Self::Text,
            core::AnswerKind::Choice { choices } => Self::Choice { choices },
        }
    }
}

impl From<core::TemplateItem> for TemplateItem {
    fn from(i: core::TemplateItem) -> Self {
        Self {
            id: i.id.into(),
            text: i.text.into(),
            criterion: Criterion {
                document: i.criterion.document,
                clause: i.criterion.clause,
            },
            severity: i.severity.into(),
            answer: i.answer.into(),
            evidence_required: i.evidence_required,
        }
    }
}

impl From<core::Template> for Template {
    fn from(t: core::Template) -> Self {
        Self {
            id: t.id.into(),
            version: t.version,
            title: t.title.into(),
            sector: t.sector.into(),
            source: TemplateSource {
                document: t.source.document,
                reference: t.source.reference,
            },
            items: t.items.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<core::TemplateSummary> for TemplateSummary {
    fn from(t: core::TemplateSummary) -> Self {
        Self {
            id: t.id.into(),
            version: t.version,
            sector: t.sector.into(),
            title_zh: t.title_zh,
            title_en: t.title_en,
            items: t.items,
        }
    }
}
