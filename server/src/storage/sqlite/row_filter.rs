//! A [`RowFilter`] as an SQLite condition with `?` placeholders.

use rusqlite::types::Value;

use crate::storage::RowFilter;

/// A condition to append to a `WHERE` clause, with its arguments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SqliteCondition {
    /// Starts with ` AND `.
    pub sql: String,
    /// One per `?` in `sql`, in order.
    pub args: Vec<Value>,
}

impl SqliteCondition {
    /// Appends the condition to `sql` and its arguments to `args`.
    pub fn append_to(self, sql: &mut String, args: &mut Vec<Value>) {
        sql.push_str(&self.sql);
        args.extend(self.args);
    }
}

impl RowFilter {
    /// The condition on `table` (an alias with `region` and, for sectored filters, `sector`
    /// columns).
    pub fn to_sqlite(&self, table: &str) -> SqliteCondition {
        SqliteCondition {
            sql: self.condition(table, "0", || "?".to_owned()),
            args: self.values().into_iter().map(Value::Text).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use siteproof_core::Sector;

    use super::*;
    use crate::storage::SectorRows;

    fn text(args: &[Value]) -> Vec<String> {
        args.iter()
            .map(|v| match v {
                Value::Text(s) => s.clone(),
                other => panic!("not text: {other:?}"),
            })
            .collect()
    }

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
        let c = RowFilter::Nothing.to_sqlite("v");
        assert_eq!(c.sql, " AND 0");
        assert!(c.args.is_empty());
    }

    #[test]
    fn a_whole_region_binds_only_the_region() {
        let c = RowFilter::region("hebei").to_sqlite("v");
        assert_eq!(c.sql, " AND v.region = ?");
        assert_eq!(text(&c.args), ["hebei"]);
    }

    #[test]
    fn sectors_are_listed_and_unsectored_rows_added_only_when_shown() {
        let c = sectored(vec![Sector::FireSafety, Sector::Gas], false).to_sqlite("c");
        assert_eq!(c.sql, " AND c.region = ? AND (c.sector IN (?,?))");
        assert_eq!(
            text(&c.args),
            ["hebei", Sector::FireSafety.code(), Sector::Gas.code()]
        );
        let c = sectored(vec![Sector::FireSafety], true).to_sqlite("l");
        assert_eq!(
            c.sql,
            " AND l.region = ? AND (l.sector IS NULL OR l.sector IN (?))"
        );
        assert_eq!(text(&c.args), ["hebei", Sector::FireSafety.code()]);
    }

    #[test]
    fn an_empty_sector_list_binds_one_empty_code_so_it_matches_nothing() {
        let c = sectored(vec![], false).to_sqlite("v");
        assert_eq!(c.sql, " AND v.region = ? AND (v.sector IN (?))");
        assert_eq!(text(&c.args), ["hebei", ""]);
    }

    #[test]
    fn the_condition_selects_exactly_the_visible_rows() {
        let conn = rusqlite::Connection::open_in_memory().expect("memory db");
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER, region TEXT, sector TEXT);
             INSERT INTO t VALUES (1, 'hebei', NULL), (2, 'hebei', 'fire_safety'),
                                  (3, 'hebei', 'gas'), (4, 'tianjin', 'fire_safety');",
        )
        .expect("rows");
        let ids = |f: RowFilter| -> Vec<i64> {
            let c = f.to_sqlite("t");
            let sql = format!("SELECT id FROM t WHERE 1=1{} ORDER BY id", c.sql);
            let mut stmt = conn.prepare(&sql).expect("prepare");
            stmt.query_map(rusqlite::params_from_iter(c.args.iter()), |r| r.get(0))
                .expect("query")
                .collect::<rusqlite::Result<_>>()
                .expect("rows")
        };
        let fire = Sector::FireSafety;
        assert_eq!(ids(RowFilter::Nothing), Vec::<i64>::new());
        assert_eq!(ids(RowFilter::region("hebei")), [1, 2, 3]);
        assert_eq!(ids(sectored(vec![fire], false)), [2]);
        assert_eq!(ids(sectored(vec![fire], true)), [1, 2]);
        assert_eq!(ids(sectored(vec![], false)), Vec::<i64>::new());
        assert_eq!(ids(sectored(vec![], true)), [1]);
    }
}
