//! Reading and writing the parts of a visit document. Writes touch only the keys they change,
//! so concurrent captures on several phones merge key by key.

use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, transaction::Transactable};
use autosurgeon::Hydrate;

use crate::error::{Error, Result};
use crate::ids::{ItemId, MediaHash};
use crate::model::{Answer, AnswerConflict, Finding, MediaRef, Severity, TemplateRef, Visit};

/// Id and value counts the visit list shows.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct VisitCounts {
    pub answered: u32,
    pub major_findings: u32,
    pub general_findings: u32,
    pub conflicts: u32,
}

fn map_at(doc: &AutoCommit, key: &str) -> Result<ObjId> {
    match doc.get(ROOT, key)? {
        Some((automerge::Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Err(Error::Malformed(format!("visit has no {key} map"))),
    }
}

/// The whole visit.
pub(crate) fn read(doc: &AutoCommit) -> Result<Visit> {
    Ok(autosurgeon::hydrate(doc)?)
}

/// The template version the visit uses.
pub(crate) fn template_ref(doc: &AutoCommit) -> Result<TemplateRef> {
    Ok(autosurgeon::hydrate_prop(doc, ROOT, "template")?)
}

/// Puts a fresh answer object at `answers/<item>`. A fresh object (not an in-place update)
/// makes two offline answers to one item a visible conflict instead of a field-wise blend.
pub(crate) fn put_answer(doc: &mut AutoCommit, item: &ItemId, answer: &Answer) -> Result<()> {
    let answers = map_at(doc, "answers")?;
    doc.put_object(&answers, item.as_str(), ObjType::Map)?;
    autosurgeon::reconcile_prop(doc, &answers, item.as_str(), answer)?;
    Ok(())
}

/// Adds a finding under its own id.
pub(crate) fn put_finding(doc: &mut AutoCommit, finding: &Finding) -> Result<()> {
    let findings = map_at(doc, "findings")?;
    autosurgeon::reconcile_prop(doc, &findings, finding.id.as_str(), finding)?;
    Ok(())
}

/// Adds a media reference under its hash.
pub(crate) fn put_media(doc: &mut AutoCommit, media: &MediaRef) -> Result<()> {
    let map = map_at(doc, "media")?;
    autosurgeon::reconcile_prop(doc, &map, media.hash.as_str(), media)?;
    Ok(())
}

/// Sets the end time.
pub(crate) fn put_ended(doc: &mut AutoCommit, at: i64) -> Result<()> {
    doc.put(ROOT, "ended_at", at)?;
    Ok(())
}

/// Whether a media hash is attached to the visit.
pub(crate) fn has_media(doc: &AutoCommit, hash: &MediaHash) -> Result<bool> {
    let map = map_at(doc, "media")?;
    Ok(doc.get(&map, hash.as_str())?.is_some())
}

/// Every item with more than one concurrent answer, with all of them.
pub(crate) fn conflicts(doc: &AutoCommit) -> Result<Vec<AnswerConflict>> {
    let answers = map_at(doc, "answers")?;
    let mut out = Vec::new();
    for key in doc.keys(&answers) {
        let values = doc.get_all(&answers, key.as_str())?;
        if values.len() < 2 {
            continue;
        }
        let mut all = Vec::with_capacity(values.len());
        for (_, obj) in values.iter().rev() {
            all.push(Answer::hydrate_map(doc, obj)?);
        }
        out.push(AnswerConflict {
            item: key.parse()?,
            answers: all,
        });
    }
    Ok(out)
}

/// Counts for the visit list, read without hydrating every answer.
pub(crate) fn counts(doc: &AutoCommit) -> Result<VisitCounts> {
    let answers = map_at(doc, "answers")?;
    let findings = map_at(doc, "findings")?;
    let mut counts = VisitCounts {
        answered: u32::try_from(doc.length(&answers)).unwrap_or(u32::MAX),
        ..VisitCounts::default()
    };
    for key in doc.keys(&answers) {
        if doc.get_all(&answers, key.as_str())?.len() > 1 {
            counts.conflicts += 1;
        }
    }
    for key in doc.keys(&findings) {
        let finding = match doc.get(&findings, key.as_str())? {
            Some((_, obj)) => obj,
            None => continue,
        };
        match autosurgeon::hydrate_prop::<_, Severity, _, _>(doc, &finding, "severity")? {
            Severity::Major => counts.major_findings += 1,
            Severity::General => counts.general_findings += 1,
        }
    }
    Ok(counts)
}
