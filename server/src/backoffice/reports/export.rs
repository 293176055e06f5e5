//! The ledger as files: CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese) and
//! XLSX.

use crate::backoffice::CaseRow;
use crate::backoffice::dates::date;
use crate::backoffice::i18n::Lang;
use crate::backoffice::ledger::{days_overdue, escalated};

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

/// The ledger as CSV.
pub fn ledger_csv(lang: Lang, rows: &[CaseRow], now: i64) -> String {
    let mut out = String::from("\u{feff}");
    let line = |cells: &[&str]| {
        cells
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",")
    };
    out.push_str(&line(&ledger_header(lang)));
    out.push_str("\r\n");
    for r in rows {
        let cells = ledger_cells(lang, r, now);
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        out.push_str(&line(&refs));
        out.push_str("\r\n");
    }
    out
}

/// The ledger as an XLSX workbook: one sheet, a bold header row, days overdue as numbers.
pub fn ledger_xlsx(lang: Lang, rows: &[CaseRow], now: i64) -> Result<Vec<u8>, String> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet
        .set_name(lang.t("隐患台账", "Ledger"))
        .map_err(|e| e.to_string())?;
    for (col, title) in ledger_header(lang).iter().enumerate() {
        let col = u16::try_from(col).map_err(|e| e.to_string())?;
        sheet
            .write_string_with_format(0, col, *title, &bold)
            .map_err(|e| e.to_string())?;
        sheet.set_column_width(col, 16).map_err(|e| e.to_string())?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = u32::try_from(i + 1).map_err(|e| e.to_string())?;
        for (col, cell) in ledger_cells(lang, r, now).iter().enumerate() {
            let col = u16::try_from(col).map_err(|e| e.to_string())?;
            if col == 8 {
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
