//! Reading an enterprise roster from CSV or XLSX: a header row naming the columns (in
//! Chinese or English, any order), then one enterprise per row. Every row is checked before
//! anything is written; a bad row is reported with its line (the spreadsheet's row number,
//! the header being line 1) and the reason, and then nothing is written at all.

use std::collections::HashMap;
use std::io::Cursor;

use siteproof_core::{CreditCode, Sector};

use super::Enterprise;
use crate::backoffice::i18n::Lang;

/// Rows a roster may hold.
pub const MAX_ROWS: usize = 100_000;

/// One bad line of a roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportProblem {
    /// The line (row) number; 1 is the header.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// The roster's columns: (field, the header names it is recognised by).
const COLUMNS: [(&str, &[&str]); 6] = [
    (
        "credit_code",
        &["统一社会信用代码", "信用代码", "credit_code", "credit code"],
    ),
    ("name", &["名称", "企业名称", "name"]),
    ("former_names", &["曾用名", "former_names", "former names"]),
    ("address", &["地址", "address"]),
    ("sectors", &["行业领域", "行业", "sectors"]),
    ("department", &["负责部门", "监管部门", "department"]),
];

/// The header row of a roster as the export writes it.
pub fn header(lang: Lang) -> Vec<String> {
    [
        lang.t("统一社会信用代码", "credit_code"),
        lang.t("名称", "name"),
        lang.t("曾用名", "former_names"),
        lang.t("地址", "address"),
        lang.t("行业领域", "sectors"),
        lang.t("负责部门", "department"),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// The cells of one enterprise as the export writes them (lists joined by `;`).
pub fn cells(e: &Enterprise) -> Vec<String> {
    vec![
        e.credit_code.clone(),
        e.name.clone(),
        e.former_names.join(";"),
        e.address.clone(),
        e.sectors
            .iter()
            .map(|s| s.code())
            .collect::<Vec<_>>()
            .join(";"),
        e.department.clone(),
    ]
}

/// The rows of a roster file: XLSX when it is a zip archive, CSV (UTF-8, optional BOM)
/// otherwise; each with its line number.
fn rows_of(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, ImportProblem> {
    let unreadable = |e: String| ImportProblem {
        line: 0,
        reason: format!("the file does not read: {e}"),
    };
    if bytes.starts_with(b"PK\x03\x04") {
        use calamine::Reader;
        let mut book =
            calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(e.to_string()))?;
        let range = book
            .worksheet_range_at(0)
            .ok_or_else(|| unreadable("the workbook has no sheet".into()))?
            .map_err(|e| unreadable(e.to_string()))?;
        let first = range.start().map_or(0, |(row, _)| row as usize);
        Ok(range
            .rows()
            .enumerate()
            .map(|(i, cells)| (first + i + 1, cells.iter().map(|c| c.to_string()).collect()))
            .collect())
    } else {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| unreadable("a CSV roster must be UTF-8".into()))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        reader
            .records()
            .map(|r| {
                let r = r.map_err(|e| unreadable(e.to_string()))?;
                let line = r.position().map_or(0, |p| p.line() as usize);
                Ok((line, r.iter().map(str::to_owned).collect()))
            })
            .collect()
    }
}

fn sector_of(text: &str) -> Option<Sector> {
    Sector::from_code(text).or_else(|| {
        Sector::ALL
            .into_iter()
            .find(|s| Lang::Zh.sector(s.code()) == text)
    })
}

fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split([';', '；', '、', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Reads a roster for `region`: every enterprise, or every problem found.
pub fn parse_roster(bytes: &[u8], region: &str) -> Result<Vec<Enterprise>, Vec<ImportProblem>> {
    let rows = rows_of(bytes).map_err(|p| vec![p])?;
    let mut rows = rows
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let Some((header_line, header)) = rows.next() else {
        return Err(vec![ImportProblem {
            line: 1,
            reason: "the file is empty".into(),
        }]);
    };
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (i, cell) in header.iter().enumerate() {
        let cell = cell.trim().to_lowercase();
        if let Some((field, _)) = COLUMNS
            .iter()
            .find(|(_, names)| names.contains(&cell.as_str()))
        {
            at.insert(field, i);
        }
    }
    for field in ["credit_code", "name"] {
        if !at.contains_key(field) {
            return Err(vec![ImportProblem {
                line: header_line,
                reason: format!("the header has no {field} column (统一社会信用代码, 名称)"),
            }]);
        }
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (line, cells) in rows {
        if out.len() + problems.len() >= MAX_ROWS {
            problems.push(ImportProblem {
                line,
                reason: format!("a roster holds at most {MAX_ROWS} rows"),
            });
            break;
        }
        let cell = |field: &str| {
            at.get(field)
                .and_then(|&i| cells.get(i))
                .map_or("", |s| s.trim())
        };
        let mut reasons = Vec::new();
        let code = match cell("credit_code").parse::<CreditCode>() {
            Ok(code) => Some(code.to_string()),
            Err(e) => {
                reasons.push(format!("bad credit code: {e}"));
                None
            }
        };
        if cell("name").is_empty() {
            reasons.push("the name is missing".into());
        }
        let mut sectors = Vec::new();
        for s in list(cell("sectors")) {
            match sector_of(s) {
                Some(s) if !sectors.contains(&s) => sectors.push(s),
                Some(_) => {}
                None => reasons.push(format!("unknown sector {s:?}")),
            }
        }
        if let Some(code) = &code
            && let Some(first) = seen.insert(code.clone(), line)
        {
            reasons.push(format!(
                "duplicate credit code {code} (first on line {first})"
            ));
        }
        if let (Some(code), true) = (code, reasons.is_empty()) {
            out.push(Enterprise {
                credit_code: code,
                region: region.to_owned(),
                name: cell("name").to_owned(),
                former_names: list(cell("former_names")).map(str::to_owned).collect(),
                address: cell("address").to_owned(),
                sectors,
                department: cell("department").to_owned(),
            });
        } else {
            problems.extend(
                reasons
                    .into_iter()
                    .map(|reason| ImportProblem { line, reason }),
            );
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_roster_reads_with_chinese_headers_and_lists() {
        let csv = "\u{feff}统一社会信用代码,名称,曾用名,地址,行业领域,负责部门\n\
                   91350100M000100Y43,某化工有限公司,旧名一；旧名二,石家庄,危险化学品;gas,应急管理局\n";
        let rows = parse_roster(csv.as_bytes(), "hebei").expect("a good roster");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].former_names, ["旧名一", "旧名二"]);
        assert_eq!(rows[0].sectors, [Sector::HazardousChemicals, Sector::Gas]);
    }

    #[test]
    fn every_bad_line_is_reported_with_its_reason() {
        let csv = "credit_code,name\n91350100M000100Y43,A\n91350100M000100Y44,B\n91110000600037341L,\n\
                   91350100M000100Y43,C\n";
        let problems = parse_roster(csv.as_bytes(), "hebei").expect_err("bad rows");
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4, 5], "{problems:?}");
        assert!(problems[0].reason.contains("check character"));
        assert!(problems[1].reason.contains("name is missing"));
        assert!(problems[2].reason.contains("duplicate") && problems[2].reason.contains("line 2"));
    }
}
