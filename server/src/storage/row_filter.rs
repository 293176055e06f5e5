//! [`RowFilter`]: which office rows a reader sees, as plain data. The identity layer's
//! visibility policy decides it (`identity/visibility.rs`); each backend only translates it
//! into a condition of its own SQL dialect (`sqlite/row_filter.rs`, `postgres/row_filter.rs`).
//! Office rows always carry a region, and visits, cases, findings, assignments and leads a
//! sector (leads before triage may have none).

use siteproof_core::Sector;

/// The office rows a reader may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowFilter {
    /// No row at all.
    Nothing,
    /// Rows of one region, narrowed to some sectors when `sectors` is set.
    Region {
        /// The region code the rows must carry.
        region: String,
        /// `None`: every sector (and rows with none).
        sectors: Option<SectorRows>,
    },
}

/// The sectors a reader sees within its region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectorRows {
    /// Rows of these sectors; an empty list matches no sectored row.
    pub sectors: Vec<Sector>,
    /// Whether rows with no sector are seen too.
    pub unsectored: bool,
}

impl RowFilter {
    /// Rows of `region`, whatever their sector.
    pub fn region(region: &str) -> Self {
        RowFilter::Region {
            region: region.to_owned(),
            sectors: None,
        }
    }

    /// The values the condition binds, in the order of its placeholders (the same for every
    /// dialect): the region, then the sector codes (one empty code for an empty list, so the
    /// `IN` list is never empty and matches nothing).
    pub(super) fn values(&self) -> Vec<String> {
        let RowFilter::Region { region, sectors } = self else {
            return Vec::new();
        };
        let mut out = vec![region.clone()];
        if let Some(s) = sectors {
            if s.sectors.is_empty() {
                out.push(String::new());
            }
            out.extend(s.sectors.iter().map(|s| s.code().to_owned()));
        }
        out
    }

    /// The condition's text with each placeholder made by `mark` (called in order, once per
    /// value of [`RowFilter::values`]) and `never` for a filter that matches nothing. Starts
    /// with ` AND `.
    pub(super) fn condition(
        &self,
        table: &str,
        never: &str,
        mut mark: impl FnMut() -> String,
    ) -> String {
        let RowFilter::Region { sectors, .. } = self else {
            return format!(" AND {never}");
        };
        let mut sql = format!(" AND {table}.region = {}", mark());
        if let Some(s) = sectors {
            let marks: Vec<String> = (0..s.sectors.len().max(1)).map(|_| mark()).collect();
            let or_null = if s.unsectored {
                format!("{table}.sector IS NULL OR ")
            } else {
                String::new()
            };
            sql.push_str(&format!(
                " AND ({or_null}{table}.sector IN ({}))",
                marks.join(",")
            ));
        }
        sql
    }
}
