//! Index tables: what lists and counts read, so that listing never loads documents. They are
//! rewritten from the document in the same transaction as every change to it.

use automerge::{AutoCommit, ROOT};
use rusqlite::{Connection, Transaction, params};

use crate::document::{RecordHeader, RecordKind};
use crate::error::{Error, Result};
use crate::model::{Sector, Severity, Template, VisitMode, VisitSummary};
use crate::record_check::VisitRead;
use crate::visit_doc::{self, VisitCounts};

/// Rewrites the index rows of one record from its document.
pub(crate) fn reindex(tx: &Transaction<'_>, header: &RecordHeader, doc: &AutoCommit) -> Result<()> {
    reindex_with(tx, header, doc, None)
}

/// [`reindex`], with a visit's row already read (`row`, from the record check's read of it):
/// the document is then not read again.
pub(crate) fn reindex_with(
    tx: &Transaction<'_>,
    header: &RecordHeader,
    doc: &AutoCommit,
    row: Option<&VisitRow>,
) -> Result<()> {
    match header.kind {
        RecordKind::Visit => match row {
            Some(row) => row.write(tx, header),
            None => VisitRow::read(doc)?.write(tx, header),
        },
        RecordKind::Template => reindex_template(tx, header, doc),
        RecordKind::Directory => super::directory::reindex(tx, header, doc),
        _ => Ok(()),
    }
}

/// Drops every index row of one record (it became unreadable).
pub(crate) fn unindex(tx: &Transaction<'_>, id: &crate::ids::RecordId) -> Result<()> {
    tx.prepare_cached("DELETE FROM visit_index WHERE id = ?1")?
        .execute([id.as_str()])?;
    tx.prepare_cached("DELETE FROM template_index WHERE id = ?1")?
        .execute([id.as_str()])?;
    super::directory::unindex(tx, id)?;
    Ok(())
}

/// A visit's row of `visit_index`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct VisitRow {
    site_name: String,
    sector: Sector,
    mode: VisitMode,
    started_at: i64,
    ended_at: Option<i64>,
    counts: VisitCounts,
}

impl VisitRow {
    /// The row, read from the document field by field.
    pub(crate) fn read(doc: &AutoCommit) -> Result<Self> {
        let site_name: String =
            autosurgeon::hydrate_path(doc, &ROOT, ["site".into(), "name".into()])?
                .ok_or_else(|| Error::Malformed("visit has no site name".into()))?;
        let sector: Sector =
            autosurgeon::hydrate_path(doc, &ROOT, ["site".into(), "sector".into()])?
                .ok_or_else(|| Error::Malformed("visit has no sector".into()))?;
        Ok(Self {
            site_name,
            sector,
            mode: autosurgeon::hydrate_prop(doc, ROOT, "mode")?,
            started_at: autosurgeon::hydrate_prop(doc, ROOT, "started_at")?,
            ended_at: autosurgeon::hydrate_prop(doc, ROOT, "ended_at")?,
            counts: visit_doc::counts(doc)?,
        })
    }

    /// The row, from what the whole-record check read of the visit.
    pub(crate) fn of(read: &VisitRead) -> Self {
        let v = &read.visit;
        let major = v
            .findings
            .values()
            .filter(|f| f.severity == Severity::Major)
            .count();
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Self {
            site_name: v.site.name.clone(),
            sector: v.site.sector,
            mode: v.mode,
            started_at: v.started_at,
            ended_at: v.ended_at,
            counts: VisitCounts {
                answered: count(v.answers.len()),
                major_findings: count(major),
                general_findings: count(v.findings.len() - major),
                conflicts: read.conflicts,
            },
        }
    }

    fn write(&self, tx: &Transaction<'_>, header: &RecordHeader) -> Result<()> {
        let c = &self.counts;
        // An upsert updates the row in place; started_at (the only indexed column) never
        // changes.
        tx.prepare_cached(
            "INSERT INTO visit_index (id, site_name, sector, mode, started_at, ended_at,
                 answered, major_findings, general_findings, conflicts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (id) DO UPDATE SET site_name = excluded.site_name,
                 sector = excluded.sector, mode = excluded.mode, ended_at = excluded.ended_at,
                 answered = excluded.answered, major_findings = excluded.major_findings,
                 general_findings = excluded.general_findings, conflicts = excluded.conflicts",
        )?
        .execute(params![
            header.id.as_str(),
            self.site_name,
            self.sector.code(),
            self.mode.code(),
            self.started_at,
            self.ended_at,
            c.answered,
            c.major_findings,
            c.general_findings,
            c.conflicts
        ])?;
        Ok(())
    }
}

fn reindex_template(tx: &Transaction<'_>, header: &RecordHeader, doc: &AutoCommit) -> Result<()> {
    let t: Template = autosurgeon::hydrate_prop(doc, ROOT, "template")?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO template_index (id, template_id, version, sector, title_zh, title_en, items)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        header.id.as_str(),
        t.id.as_str(),
        t.version,
        t.sector.code(),
        t.title.zh,
        t.title.en,
        t.items.len() as i64
    ])?;
    Ok(())
}

/// Every visit, newest first.
pub(crate) fn list_visits(conn: &Connection) -> Result<Vec<VisitSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, site_name, sector, mode, started_at, ended_at, answered, major_findings,
                general_findings, conflicts
         FROM visit_index ORDER BY started_at DESC, id",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let sector: String = r.get(2)?;
        let mode: String = r.get(3)?;
        out.push(VisitSummary {
            id: r.get::<_, String>(0)?.parse()?,
            site_name: r.get(1)?,
            sector: Sector::from_code(&sector)
                .ok_or_else(|| Error::Malformed(format!("unknown sector {sector:?} in index")))?,
            mode: if mode == "covert" {
                VisitMode::Covert
            } else {
                VisitMode::Announced
            },
            started_at: r.get(4)?,
            ended_at: r.get(5)?,
            answered: r.get(6)?,
            major_findings: r.get(7)?,
            general_findings: r.get(8)?,
            conflicts: r.get(9)?,
        });
    }
    Ok(out)
}

/// One line of the template list.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TemplateSummary {
    /// Template id.
    pub id: crate::ids::TemplateId,
    /// Version.
    pub version: u32,
    /// Sector.
    pub sector: Sector,
    /// Title (zh).
    pub title_zh: String,
    /// Title (en).
    pub title_en: String,
    /// Number of items.
    pub items: u32,
}

/// Every template version held, by id and version.
pub(crate) fn list_templates(conn: &Connection) -> Result<Vec<TemplateSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT template_id, version, sector, title_zh, title_en, items FROM template_index
         ORDER BY template_id, version",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u32>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, u32>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, version, sector, title_zh, title_en, items) = row?;
        out.push(TemplateSummary {
            id: id.parse()?,
            version,
            sector: Sector::from_code(&sector)
                .ok_or_else(|| Error::Malformed(format!("unknown sector {sector:?} in index")))?,
            title_zh,
            title_en,
            items,
        });
    }
    Ok(out)
}
