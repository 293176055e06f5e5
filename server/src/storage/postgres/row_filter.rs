//! A [`RowFilter`] as a PostgreSQL condition with numbered `$n` placeholders.

use tokio_postgres::types::ToSql;

use crate::storage::RowFilter;

/// A condition to append to a `WHERE` clause, with its arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostgresCondition {
    /// Starts with ` AND `; its placeholders are numbered from the `first` it was made with.
    pub sql: String,
    /// One per placeholder, in order.
    pub args: Vec<String>,
}

impl PostgresCondition {
    /// The arguments as query parameters, to follow the query's own ones.
    pub fn params(&self) -> impl Iterator<Item = &(dyn ToSql + Sync)> {
        self.args.iter().map(|a| a as &(dyn ToSql + Sync))
    }
}

impl RowFilter {
    /// The condition on `table` (an alias with `region` and, for sectored filters, `sector`
    /// columns), its placeholders numbered from `$first` (the query's own parameters come
    /// before it).
    pub fn to_postgres(&self, table: &str, first: usize) -> PostgresCondition {
        let mut next = first;
        let sql = self.condition(table, "FALSE", || {
            next += 1;
            format!("${}", next - 1)
        });
        PostgresCondition {
            sql,
            args: self.values(),
        }
    }
}

#[cfg(test)]
mod tests {
    use siteproof_core::Sector;

    use super::*;
    use crate::storage::SectorRows;

    fn sectored(sectors: Vec<Sector>, unsectored: bool) -> RowFilter {
        RowFilter::Region {
            region: "hebei".into(),
            sectors: Some(SectorRows {
                sectors,
                unsectored,
            }),
        }
    }

    #[test]
    fn nothing_matches_no_row_and_binds_nothing() {
        let c = RowFilter::Nothing.to_postgres("v", 1);
        assert_eq!(c.sql, " AND FALSE");
        assert!(c.args.is_empty());
    }

    #[test]
    fn a_whole_region_binds_the_region_at_the_first_free_placeholder() {
        let c = RowFilter::region("hebei").to_postgres("v", 3);
        assert_eq!(c.sql, " AND v.region = $3");
        assert_eq!(c.args, ["hebei"]);
        assert_eq!(c.params().count(), 1);
    }

    #[test]
    fn sectors_are_numbered_in_order_and_unsectored_rows_added_only_when_shown() {
        let c = sectored(vec![Sector::FireSafety, Sector::Gas], false).to_postgres("c", 1);
        assert_eq!(c.sql, " AND c.region = $1 AND (c.sector IN ($2,$3))");
        assert_eq!(c.args, ["hebei", "fire_safety", "gas"]);
        let c = sectored(vec![Sector::Gas], true).to_postgres("l", 2);
        assert_eq!(
            c.sql,
            " AND l.region = $2 AND (l.sector IS NULL OR l.sector IN ($3))"
        );
        assert_eq!(c.args, ["hebei", "gas"]);
    }

    #[test]
    fn an_empty_sector_list_binds_one_empty_code_so_it_matches_nothing() {
        let c = sectored(vec![], true).to_postgres("l", 1);
        assert_eq!(
            c.sql,
            " AND l.region = $1 AND (l.sector IS NULL OR l.sector IN ($2))"
        );
        assert_eq!(c.args, ["hebei", ""]);
    }

    #[test]
    fn both_dialects_bind_the_same_values_in_the_same_order() {
        for f in [
            RowFilter::Nothing,
            RowFilter::region("hebei"),
            sectored(vec![], false),
            sectored(vec![Sector::CoalMine, Sector::Tourism], true),
        ] {
            let pg = f.to_postgres("t", 1);
            let lite = f.to_sqlite("t");
            assert_eq!(pg.args.len(), lite.args.len());
            assert_eq!(pg.sql.matches('$').count(), lite.sql.matches('?').count());
        }
    }
}
