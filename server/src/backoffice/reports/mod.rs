//! Period reports for the user's region: the daily briefing (每日简报), the half-month
//! analysis (半月分析) and the month-end summary (月底总结), read from the index tables only;
//! and the exports: the ledger as CSV and XLSX (`export.rs`), a case's rectification notice
//! as PDF (`notice.rs`). Routes in `routes.rs`, the report page in `pages.rs`.
//!
//! "Report" here means only these period figures: the devices' `report` records are the
//! collections (`collections.rs`), the public's reports are leads (`leads/`).

mod export;
mod notice;
mod pages;
pub(super) mod routes;

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::db::CaseRow;
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
    /// Cases opened in the period.
    pub opened: i64,
    /// Of those, closed now.
    pub closed: i64,
    /// Open cases past their deadline now (whatever the period).
    pub overdue: Vec<CaseRow>,
    /// Cases under listed supervision now (escalated by hand or overdue).
    pub escalated: Vec<CaseRow>,
}

impl Report {
    /// Closed / opened in the period, in percent (100 when nothing was opened).
    pub fn closure_rate(&self) -> f64 {
        if self.opened == 0 {
            100.0
        } else {
            self.closed as f64 * 100.0 / self.opened as f64
        }
    }
}

fn scope_sql(vis: &Visibility, table: &str) -> (String, Vec<Value>) {
    let filter = vis.sql_filter(table, Unsectored::Hidden);
    (format!(" 1=1{}", filter.sql), filter.args)
}

fn figures(
    conn: &Connection,
    vis: &Visibility,
    start: i64,
    end: i64,
) -> rusqlite::Result<(i64, i64, Vec<SectorCount>, i64, i64)> {
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
    let (cond, args) = scope_sql(vis, "f");
    let all: Vec<Value> = args.iter().cloned().chain(period.clone()).collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT f.sector, COALESCE(SUM(f.severity = 'major'), 0), COALESCE(SUM(f.severity = 'general'), 0)
         FROM bo_findings f WHERE{cond} AND f.at >= ? AND f.at < ? GROUP BY f.sector ORDER BY f.sector"
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
    let (cond, args) = scope_sql(vis, "c");
    let all: Vec<Value> = args.iter().cloned().chain(period).collect();
    let (opened, closed) = conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(c.status = 'closed'), 0) FROM bo_cases c
             WHERE{cond} AND c.opened_at >= ? AND c.opened_at < ?"
        ),
        params_from_iter(all.iter()),
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((visits, covert, by_sector, opened, closed))
}

impl BackOffice {
    /// The report of `kind` for the period holding `at`, over the user's region and sectors.
    pub async fn report(&self, user: &WebUser, kind: ReportKind, at: i64) -> Result<Report> {
        self.refresh_index().await?;
        let (start, end) = kind.bounds(at);
        let vis = Visibility::user(user);
        let (visits, covert, by_sector, opened, closed) = self
            .db
            .run({
                let vis = vis.clone();
                move |c| figures(c, &vis, start, end)
            })
            .await?;
        let now = siteproof_core::now();
        let open: Vec<CaseRow> = self
            .db
            .run(move |c| case_rows::list(c, &vis, None, None, None, 100_000))
            .await?
            .into_iter()
            .filter(|r| r.status != "closed")
            .collect();
        let overdue = open
            .iter()
            .filter(|r| super::ledger::days_overdue(r, now) > 0)
            .cloned()
            .collect();
        let escalated = open
            .into_iter()
            .filter(|r| super::ledger::escalated(r, now))
            .collect();
        Ok(Report {
            kind,
            start,
            end,
            visits,
            covert,
            by_sector,
            opened,
            closed,
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
