//! Small value types shared by every record kind.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// The current time as a [`Timestamp`].
pub fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Text in Chinese (the working language) and English.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(deny_unknown_fields)]
pub struct LocalizedText {
    /// zh-CN text.
    pub zh: String,
    /// English text.
    pub en: String,
}

/// Who may read a record: a region, and within it one group or (empty group) the whole region.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate,
)]
pub struct Scope {
    /// Region code, e.g. `hebei.shijiazhuang`. Empty means every region (templates).
    pub region: String,
    /// Group id within the region; empty means the whole region.
    pub group: String,
}

impl Scope {
    /// The scope of one group in one region.
    pub fn group(region: impl Into<String>, group: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            group: group.into(),
        }
    }

    /// Readable by everyone (templates).
    pub fn global() -> Self {
        Self::default()
    }
}

/// A GPS fix.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct GeoPoint {
    /// Latitude in degrees (WGS-84).
    pub lat: f64,
    /// Longitude in degrees (WGS-84).
    pub lon: f64,
    /// Horizontal accuracy in metres, if known.
    pub accuracy_m: Option<f64>,
}

/// Severity of a hazard: 重大事故隐患 (major) or 一般隐患 (general).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 重大事故隐患.
    #[autosurgeon(rename = "major")]
    Major,
    /// 一般隐患.
    #[autosurgeon(rename = "general")]
    General,
}

/// The sectors of the source policy's §13; each has its own checklist templates.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Reconcile,
    Hydrate,
)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    /// 危险化学品.
    #[autosurgeon(rename = "hazardous_chemicals")]
    HazardousChemicals,
    /// 煤矿.
    #[autosurgeon(rename = "coal_mine")]
    CoalMine,
    /// 非煤矿山 and tailings ponds.
    #[autosurgeon(rename = "non_coal_mine")]
    NonCoalMine,
    /// 工贸: steel, aluminium, combustible dust.
    #[autosurgeon(rename = "industry_trade")]
    IndustryTrade,
    /// 消防.
    #[autosurgeon(rename = "fire_safety")]
    FireSafety,
    /// 道路交通.
    #[autosurgeon(rename = "road_transport")]
    RoadTransport,
    /// 房屋市政工程.
    #[autosurgeon(rename = "building_construction")]
    BuildingConstruction,
    /// 燃气.
    #[autosurgeon(rename = "gas")]
    Gas,
    /// 旅游.
    #[autosurgeon(rename = "tourism")]
    Tourism,
    /// 特种设备.
    #[autosurgeon(rename = "special_equipment")]
    SpecialEquipment,
}

impl Sector {
    /// Every sector, in the order of the source policy.
    pub const ALL: [Sector; 10] = [
        Sector::HazardousChemicals,
        Sector::CoalMine,
        Sector::NonCoalMine,
        Sector::IndustryTrade,
        Sector::FireSafety,
        Sector::RoadTransport,
        Sector::BuildingConstruction,
        Sector::Gas,
        Sector::Tourism,
        Sector::SpecialEquipment,
    ];

    /// The snake_case code used in files, URLs and index tables.
    pub fn code(self) -> &'static str {
        match self {
            Sector::HazardousChemicals => "hazardous_chemicals",
            Sector::CoalMine => "coal_mine",
            Sector::NonCoalMine => "non_coal_mine",
            Sector::IndustryTrade => "industry_trade",
            Sector::FireSafety => "fire_safety",
            Sector::RoadTransport => "road_transport",
            Sector::BuildingConstruction => "building_construction",
            Sector::Gas => "gas",
            Sector::Tourism => "tourism",
            Sector::SpecialEquipment => "special_equipment",
        }
    }

    /// Parses a code made by [`Sector::code`].
    pub fn from_code(code: &str) -> Option<Sector> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}
