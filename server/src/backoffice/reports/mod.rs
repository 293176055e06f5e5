//! Period reports for the user's region: the daily briefing (每日简报), the half-month
//! analysis (半月分析) and the month-end summary (月底总结), read from the index tables only;
//! and the exports: the ledger as CSV and XLSX (`export.rs`), a case's rectification notice
//! as PDF (`notice.rs`). Routes in `routes.rs`, the report page in `pages.rs`.
//!
//! "Report" here means only these period figures: the devices' `report` records are the
//! collections (`collections.rs`), the public's reports are leads (`leads/`).

pub(super) mod export;
pub(super) mod notice;
mod pages;
pub(super) mod routes;

use super::rows::{CaseRow, LedgerFilter};
use super::{BackOffice, WebUser, dates};
use crate::error::{Error, Result};
use crate::identity::visibility::{Unsectored, Visibility};
use crate::storage::PeriodFigures;

/// Which report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// One Beijing day.
    Daily,
    /// The 1st-15th or the 16th-end of a month.
    HalfMonth,
    /// A calendar month.
    Month,
}

impl ReportKind {
    /// From the URL code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "daily" => Some(ReportKind::Daily),
            "half" => Some(ReportKind::HalfMonth),
            "month" => Some(ReportKind::Month),
            _ => None,
        }
    }

    /// The URL code.
    pub fn code(self) -> &'static str {
        match self {
            ReportKind::Daily => "daily",
            ReportKind::HalfMonth => "half",
            ReportKind::Month => "month",
        }
    }

    /// `[start, end)` of the period holding `at`.
    pub fn bounds(self, at: i64) -> (i64, i64) {
        match self {
            ReportKind::Daily => {
                let start = dates::day_start(at);
                (start, start + dates::DAY_MS)
            }
            ReportKind::HalfMonth => dates::half_month_bounds(at),
            ReportKind::Month => dates::month_bounds(at),
        }
    }
}

pub use crate::storage::{HazardCounts, SectorCount};

impl HazardCounts {
    /// Closed over found, in percent; `None` when nothing was found (there is no rate to
    /// give, and 100% would claim work that was never needed).
    pub fn closure_rate(&self) -> Option<f64> {
        (self.found > 0).then(|| self.closed as f64 * 100.0 / self.found as f64)
    }

    /// The closure rate as every output shows it: `12.5%`, or `—` when nothing was found.
    pub fn closure_rate_text(&self) -> String {
        self.closure_rate()
            .map_or_else(|| "—".to_owned(), |r| format!("{r:.1}%"))
    }
}

/// A report's figures.
#[derive(Clone, Debug)]
pub struct Report {
    /// Which report.
    pub kind: ReportKind,
    /// Period start (ms).
    pub start: i64,
    /// Period end, exclusive (ms).
    pub end: i64,
    /// Visits started in the period.
    pub visits: i64,
    /// Of which covert.
    pub covert: i64,
    /// Hazards found in the period, by sector.
    pub by_sector: Vec<SectorCount>,
    /// The hazards found in the period and where they stand now.
    pub hazards: HazardCounts,
    /// Hazards past their deadline now (whatever the period).
    pub overdue: Vec<CaseRow>,
    /// Hazards under listed supervision now (whatever the period).
    pub escalated: Vec<CaseRow>,
}

impl Report {
    /// The figures as (label, value) in the order every output shows
    /// them: the page, CSV, XLSX and PDF read this one list.
    pub fn figures(&self, lang: crate::backoffice::i18n::Lang) -> Vec<(&'static str, String)> {
        let major: i64 = self.by_sector.iter().map(|s| s.major).sum();
        let general: i64 = self.by_sector.iter().map(|s| s.general).sum();
        let h = &self.hazards;
        vec![
            (lang.t("检查次数", "Visits"), self.visits.to_string()),
            (lang.t("其中暗访", "Covert"), self.covert.to_string()),
            (
                lang.t("其中明查", "Announced"),
                (self.visits - self.covert).to_string(),
            ),
            (lang.t("发现隐患", "Hazards found"), h.found.to_string()),
            (lang.t("重大隐患", "Major hazards"), major.to_string()),
            (lang.t("一般隐患", "General hazards"), general.to_string()),
            (
                lang.t("立行立改", "Fixed on the spot"),
                h.fixed_on_spot.to_string(),
            ),
            (
                lang.t("已整改待验收", "Rectified, awaiting closure"),
                h.rectified.to_string(),
            ),
            (lang.t("已销号", "Closed"), h.closed.to_string()),
            (lang.t("超期未整改", "Overdue"), h.overdue.to_string()),
            (
                lang.t("挂牌督办", "Listed supervision"),
                h.listed.to_string(),
            ),
            (lang.t("销号率", "Closure rate"), h.closure_rate_text()),
        ]
    }
}

/// Rows the overdue and listed lists of a report hold at most.
const LISTED_ROWS: i64 = 1_000;

impl BackOffice {
    /// The report of `kind` for the period holding `at`, over the user's region and sectors.
    pub async fn report(&self, user: &WebUser, kind: ReportKind, at: i64) -> Result<Report> {
        self.refresh_index().await?;
        let (start, end) = kind.bounds(at);
        let rows = Visibility::user(user).rows(Unsectored::Hidden);
        let now = siteproof_core::now();
        let index = self.storage.office_index_store();
        let PeriodFigures {
            visits,
            covert,
            by_sector,
            hazards,
        } = index.period_figures(&rows, start, end, now).await?;
        let list = |overdue: bool, listed: bool| LedgerFilter {
            overdue,
            listed,
            ..LedgerFilter::default()
        };
        let overdue = index
            .ledger(&rows, &list(true, false), now, LISTED_ROWS)
            .await?;
        let escalated = index
            .ledger(&rows, &list(false, true), now, LISTED_ROWS)
            .await?;
        Ok(Report {
            kind,
            start,
            end,
            visits,
            covert,
            by_sector,
            hazards,
            overdue,
            escalated,
        })
    }
}

/// Parses the report's date (`YYYY-MM-DD`, default today).
pub fn report_day(raw: Option<&str>) -> Result<i64> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(siteproof_core::now()),
        Some(d) => dates::parse_date(d)
            .ok_or_else(|| Error::InvalidInput(format!("{d:?} is not a date (YYYY-MM-DD)"))),
    }
}
