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

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::db::{CaseRow, LedgerFilter};
use super::{BackOffice, WebUser, dates};
use crate::backoffice::ledger::rows as case_rows;
use crate::error::{Error, Result};
use crate::identity::visibility::{Unsectored, Visibility};

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

/// Hazards of one sector in the period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SectorCount {
    /// Sector code.
    pub sector: String,
    /// Major hazards.
    pub major: i64,
    /// General hazards.
    pub general: i64,
}

/// What became of the hazards found in a period, counted as they stand now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HazardCounts {
    /// Hazards found in the period (every finding is a ledger entry).
    pub found: i64,
    /// Of those, fixed on the spot (立行立改).
    pub fixed_on_spot: i64,
    /// Of those, reported rectified and awaiting verification or closure.
    pub rectified: i64,
    /// Of those, closed (销号).
    pub closed: i64,
    /// Of those, past their deadline now.
    pub overdue: i64,
    /// Of those, under listed supervision (挂牌督办) now.
    pub listed: i64,
}

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

fn scope_sql(vis: &Visibility, table: &str) -> (String, Vec<Value>) {
    let filter = vis.rows(Unsectored::Hidden).to_sqlite(table);
    (format!(" 1=1{}", filter.sql), filter.args)
}

type Figures = (i64, i64, Vec<SectorCount>, HazardCounts);

fn figures(
    conn: &Connection,
    vis: &Visibility,
    start: i64,
    end: i64,
    now: i64,
) -> rusqlite::Result<Figures> {
    let period = [Value::Integer(start), Value::Integer(end)];
    let (cond, args) = scope_sql(vis, "v");
    let all: Vec<Value> = args.iter().cloned().chain(period.clone()).collect();
    let (visits, covert) = conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(v.mode = 'covert'), 0) FROM bo_visits v
             WHERE{cond} AND v.started_at >= ? AND v.started_at < ?"
        ),
        params_from_iter(all.iter()),
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (cond, args) = scope_sql(vis, "c");
    let all: Vec<Value> = args.iter().cloned().chain(period.clone()).collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.sector, COALESCE(SUM(c.severity = 'major'), 0), COALESCE(SUM(c.severity = 'general'), 0)
         FROM bo_cases c WHERE{cond} AND c.opened_at >= ? AND c.opened_at < ?
         GROUP BY c.sector ORDER BY c.sector"
    ))?;
    let by_sector = stmt
        .query_map(params_from_iter(all.iter()), |r| {
            Ok(SectorCount {
                sector: r.get(0)?,
                major: r.get(1)?,
                general: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let all: Vec<Value> = [Value::Integer(now), Value::Integer(now)]
        .into_iter()
        .chain(args)
        .chain(period)
        .collect();
    let hazards = conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(c.fixed_on_spot), 0),
                    COALESCE(SUM(c.status IN ('rectified', 'verified')), 0),
                    COALESCE(SUM(c.status = 'closed'), 0),
                    COALESCE(SUM({}), 0), COALESCE(SUM({}), 0)
             FROM bo_cases c WHERE{cond} AND c.opened_at >= ? AND c.opened_at < ?",
            case_rows::overdue_sql(),
            case_rows::listed_sql()
        ),
        params_from_iter(all.iter()),
        |r| {
            Ok(HazardCounts {
                found: r.get(0)?,
                fixed_on_spot: r.get(1)?,
                rectified: r.get(2)?,
                closed: r.get(3)?,
                overdue: r.get(4)?,
                listed: r.get(5)?,
            })
        },
    )?;
    Ok((visits, covert, by_sector, hazards))
}

/// Rows the overdue and listed lists of a report hold at most.
const LISTED_ROWS: i64 = 1_000;

impl BackOffice {
    /// The report of `kind` for the period holding `at`, over the user's region and sectors.
    pub async fn report(&self, user: &WebUser, kind: ReportKind, at: i64) -> Result<Report> {
        self.refresh_index().await?;
        let (start, end) = kind.bounds(at);
        let vis = Visibility::user(user);
        let now = siteproof_core::now();
        let (visits, covert, by_sector, hazards) = self
            .db
            .run({
                let vis = vis.clone();
                move |c| figures(c, &vis, start, end, now)
            })
            .await?;
        let list = |overdue: bool, listed: bool| LedgerFilter {
            overdue,
            listed,
            ..LedgerFilter::default()
        };
        let (a, b) = (list(true, false), list(false, true));
        let (overdue, escalated) = self
            .db
            .run(move |c| {
                Ok((
                    case_rows::list(c, &vis, &a, now, LISTED_ROWS)?,
                    case_rows::list(c, &vis, &b, now, LISTED_ROWS)?,
                ))
            })
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
