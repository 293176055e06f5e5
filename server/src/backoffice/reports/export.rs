//! The ledger and the period reports as files: CSV (UTF-8 with a BOM, so spreadsheet programs
//! read the Chinese), XLSX and (reports) PDF. A report's figures come from
//! [`Report::figures`], the same list the page shows.

use crate::backoffice::CaseRow;
use crate::backoffice::dates::date;
use crate::backoffice::i18n::Lang;
use crate::backoffice::ledger::{days_overdue, escalated};
use crate::backoffice::reports::Report;

/// The ledger's column titles.
pub fn ledger_header(lang: Lang) -> [&'static str; 11] {
    [
        lang.t("编号", "Id"),
        lang.t("立案日期", "Opened"),
        lang.t("被检查单位", "Site"),
        lang.t("行业领域", "Sector"),
        lang.t("隐患等级", "Severity"),
        lang.t("隐患描述", "Hazard"),
        lang.t("责任单位", "Responsible unit"),
        lang.t("整改期限", "Deadline"),
        lang.t("超期天数", "Days overdue"),
        lang.t("状态", "Status"),
        lang.t("挂牌督办", "Listed supervision"),
    ]
}

/// One ledger row as cells, in the order of [`ledger_header`].
pub fn ledger_cells(lang: Lang, r: &CaseRow, now: i64) -> Vec<String> {
    vec![
        r.id.clone(),
        date(r.opened_at),
        r.site.clone(),
        lang.sector(&r.sector).into(),
        lang.severity(&r.severity).into(),
        r.description.clone(),
        r.unit.clone().unwrap_or_default(),
        r.deadline.map(date).unwrap_or_default(),
        days_overdue(r, now).to_string(),
        lang.status(&r.status).into(),
        if escalated(r, now) {
            lang.t("是", "yes")
        } else {
            ""
        }
        .into(),
    ]
}

fn csv_field(s: &str) -> String {
    // A leading =, +, - or @ would run as a formula in a spreadsheet, and so would one after
    // a leading tab or carriage return (OWASP's CSV injection rule): quote it away.
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Rows of cells as CSV.
pub(in crate::backoffice) fn csv(rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = String::from("\u{feff}");
    for cells in rows {
        let line: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Rows of cells as a one-sheet XLSX workbook: the first row bold, the cells of `numeric`
/// columns written as numbers.
pub(in crate::backoffice) fn xlsx(
    sheet_name: &str,
    rows: &[Vec<String>],
    numeric: &[u16],
) -> Result<Vec<u8>, String> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(|e| e.to_string())?;
    for (i, cells) in rows.iter().enumerate() {
        let row = u32::try_from(i).map_err(|e| e.to_string())?;
        for (col, cell) in cells.iter().enumerate() {
            let col = u16::try_from(col).map_err(|e| e.to_string())?;
            if i == 0 {
                sheet
                    .write_string_with_format(row, col, cell, &bold)
                    .map_err(|e| e.to_string())?;
                sheet.set_column_width(col, 16).map_err(|e| e.to_string())?;
            } else if numeric.contains(&col) && cell.parse::<f64>().is_ok() {
                sheet
                    .write_number(row, col, cell.parse::<f64>().unwrap_or(0.0))
                    .map_err(|e| e.to_string())?;
            } else {
                sheet
                    .write_string(row, col, cell)
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}

fn ledger_table(lang: Lang, rows: &[CaseRow], now: i64) -> Vec<Vec<String>> {
    std::iter::once(
        ledger_header(lang)
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    )
    .chain(rows.iter().map(|r| ledger_cells(lang, r, now)))
    .collect()
}

/// The ledger as CSV.
pub fn ledger_csv(lang: Lang, rows: &[CaseRow], now: i64) -> String {
    csv(ledger_table(lang, rows, now))
}

/// The ledger as an XLSX workbook: one sheet, a bold header row, days overdue as numbers.
pub fn ledger_xlsx(lang: Lang, rows: &[CaseRow], now: i64) -> Result<Vec<u8>, String> {
    xlsx(
        lang.t("隐患台账", "Ledger"),
        &ledger_table(lang, rows, now),
        &[8],
    )
}

/// A report's title.
pub fn report_title(lang: Lang, r: &Report) -> String {
    let kind = match r.kind {
        crate::backoffice::ReportKind::Daily => lang.t("每日简报", "Daily briefing"),
        crate::backoffice::ReportKind::HalfMonth => lang.t("半月分析", "Half-month analysis"),
        crate::backoffice::ReportKind::Month => lang.t("月底总结", "Month-end summary"),
    };
    format!(
        "{kind} {} – {}",
        date(r.start),
        date(r.end - crate::backoffice::dates::DAY_MS)
    )
}

fn report_table(lang: Lang, r: &Report) -> Vec<Vec<String>> {
    let mut rows = vec![vec![report_title(lang, r), String::new()]];
    rows.extend(
        r.figures(lang)
            .into_iter()
            .map(|(label, value)| vec![label.to_owned(), value]),
    );
    rows
}

/// A report's figures as CSV: a title row, then one row per figure.
pub fn report_csv(lang: Lang, r: &Report) -> String {
    csv(report_table(lang, r))
}

/// A report's figures as an XLSX workbook.
pub fn report_xlsx(lang: Lang, r: &Report) -> Result<Vec<u8>, String> {
    xlsx(lang.t("报告", "Report"), &report_table(lang, r), &[1])
}

/// A report's figures as PDF (Chinese). Blocking.
pub fn report_pdf(r: &Report, region: &str) -> crate::error::Result<Vec<u8>> {
    let lang = Lang::Zh;
    let mut lines = vec![
        (18.0, report_title(lang, r)),
        (10.0, format!("地区：{region}")),
        (12.0, String::new()),
    ];
    lines.extend(
        r.figures(lang)
            .into_iter()
            .map(|(label, value)| (12.0, format!("{label}：{value}"))),
    );
    super::notice::text_pdf(&report_title(lang, r), &lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised() {
        for (cell, out) in [
            ("=1+2", "'=1+2"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1+2", "'\t=1+2"),
            ("\r=1+2", "\"'\r=1+2\""),
            ("塔吊无限位", "塔吊无限位"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ] {
            assert_eq!(csv_field(cell), out, "cell {cell:?}");
        }
    }
}
