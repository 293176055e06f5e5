//! Strict checking of a record's content against the model: what the server runs on every
//! pushed record before storing it, and what the phone runs on what it receives before
//! indexing it. A record passes only if every field has the Automerge type, nullability and
//! allowed values that `docs/records.md` lays down; keys the model does not know are allowed
//! (a newer app's fields) and kept. A failure names the field by its path.

mod answer;
mod shape;
mod touched;

pub(crate) use answer::check_value;
pub use touched::Touched;

use automerge::{AutoCommit, ROOT, ReadDoc};

use crate::document::{DOCUMENT_SCHEMA, RecordKind};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::{Answer, Template, TemplateRef};
use crate::visit_doc;
use shape::{HEADER, REPORT, VISIT, join, walk};

/// Where a record departs from the model: a field path (`answers/item-1/value`) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Invalid {
    path: String,
    reason: String,
}

impl Invalid {
    fn at(path: &str, reason: String) -> Self {
        Self {
            path: path.to_string(),
            reason,
        }
    }

    fn into_error(self, id: &RecordId) -> Error {
        Error::InvalidRecord {
            id: id.to_string(),
            path: self.path,
            reason: self.reason,
        }
    }
}

/// Checks a whole record document. `template` is the template version a visit names, when
/// the caller holds it: then every answer must be to one of its items and fit its answer
/// kind. Fails with [`Error::InvalidRecord`] naming `id` and the field.
pub fn check(doc: &AutoCommit, id: &RecordId, template: Option<&Template>) -> Result<()> {
    check_reading(doc, id, template).map(drop)
}

/// What the check of a whole visit read of it, kept for its index row: the record is then
/// read once for both.
pub(crate) struct VisitRead {
    /// The visit, as the phone's reader reads it.
    pub visit: crate::model::Visit,
    /// How many of its items have conflicting answers.
    pub conflicts: u32,
}

/// [`check`], keeping what it read of a visit (`None` for other kinds).
pub(crate) fn check_reading(
    doc: &AutoCommit,
    id: &RecordId,
    template: Option<&Template>,
) -> Result<Option<VisitRead>> {
    check_inner(doc, template).map_err(|e| e.into_error(id))
}

/// Checks what an update wrote: the parts of record `doc` that `touched` names, each whole
/// (the full [`check`] when they cannot be placed, or for kinds other than visits). For a
/// record that read as the model before the update, this finds whatever [`check`] would find
/// wrong, at the cost of the update rather than of the whole record.
pub fn check_update(
    doc: &AutoCommit,
    id: &RecordId,
    template: Option<&Template>,
    touched: &Touched,
) -> Result<()> {
    touched::check_touched(doc, template, touched).map_err(|e| e.into_error(id))
}

/// The record id of the template version a visit names, if the visit names one readably.
pub fn visit_template(doc: &AutoCommit) -> Option<RecordId> {
    visit_doc::template_ref(doc)
        .ok()
        .map(|t: TemplateRef| RecordId::for_template(&t.id, t.version))
}

fn check_inner(
    doc: &AutoCommit,
    template: Option<&Template>,
) -> Result<Option<VisitRead>, Invalid> {
    for key in ["kind", "id", "scope", "schema"] {
        let values = doc
            .get_all(ROOT, key)
            .map_err(|e| Invalid::at(key, e.to_string()))?;
        match values.len() {
            0 => return Err(Invalid::at(key, "is missing".into())),
            1 => {}
            _ => return Err(Invalid::at(key, "has conflicting values".into())),
        }
    }
    let root = doc
        .hydrate(ROOT, None)
        .map_err(|e| Invalid::at("", e.to_string()))?;
    walk(&root, &HEADER, "")?;
    let schema: u64 = autosurgeon::hydrate_prop(doc, ROOT, "schema")
        .map_err(|e| Invalid::at("schema", e.to_string()))?;
    if schema != DOCUMENT_SCHEMA {
        return Err(Invalid::at(
            "schema",
            format!("is {schema}; this version reads schema {DOCUMENT_SCHEMA}"),
        ));
    }
    let kind: String = autosurgeon::hydrate_prop(doc, ROOT, "kind")
        .map_err(|e| Invalid::at("kind", e.to_string()))?;
    let kind: RecordKind = kind
        .parse()
        .map_err(|e: Error| Invalid::at("kind", e.to_string()))?;
    let other = match kind {
        RecordKind::Visit => return check_visit(doc, &root, template).map(Some),
        RecordKind::Report => {
            walk(&root, &REPORT, "")?;
            let collection = crate::document::read_collection(doc).map_err(model_error)?;
            same_id(doc, &collection.id, "collection/id")
        }
        RecordKind::Template => {
            let t: Template = autosurgeon::hydrate_prop(doc, ROOT, "template")
                .map_err(|e| Invalid::at("template", e.to_string()))?;
            t.validate()
                .map_err(|e| Invalid::at("template", e.to_string()))?;
            same_id(doc, &t.record_id(), "template")
        }
        RecordKind::Case => {
            let case: crate::model::Case = autosurgeon::hydrate_prop(doc, ROOT, "case")
                .map_err(|e| Invalid::at("case", e.to_string()))?;
            same_id(doc, &case.id, "case/id")
        }
        RecordKind::Assignment => {
            let a = crate::document::read_assignment(doc).map_err(model_error)?;
            same_id(doc, &a.id, "assignment/id")
        }
        RecordKind::Directory => {
            let d = crate::document::read_directory(doc)
                .map_err(|e| Invalid::at("directory", e.to_string()))?;
            d.validate()
                .map_err(|e| Invalid::at("directory", e.to_string()))?;
            let scope: crate::model::Scope = autosurgeon::hydrate_prop(doc, ROOT, "scope")
                .map_err(|e| Invalid::at("scope", e.to_string()))?;
            if scope.region != d.region || !scope.group.is_empty() {
                return Err(Invalid::at(
                    "directory/region",
                    "differs from the header's scope {region, \"\"}".into(),
                ));
            }
            let id = crate::ids::RecordId::for_directory(&d.region)
                .map_err(|e| Invalid::at("directory/region", e.to_string()))?;
            same_id(doc, &id, "directory/region")
        }
    };
    other.map(|()| None)
}

fn check_visit(
    doc: &AutoCommit,
    root: &automerge::hydrate::Value,
    template: Option<&Template>,
) -> Result<VisitRead, Invalid> {
    walk(root, &VISIT, "")?;
    // The phone's own reader, on what passed the walk (which sees each key's winning value),
    // from the same snapshot: the document is read once.
    let visit = visit_doc::from_snapshot(root).map_err(model_error)?;
    if let Some(t) = template {
        if t.record_id() != RecordId::for_template(&visit.template.id, visit.template.version) {
            return Err(Invalid::at(
                "template",
                "names another template version".into(),
            ));
        }
        for (key, answer) in &visit.answers {
            fits_template(t, key, answer, &join("answers", key))?;
        }
    }
    // Concurrent answers to one item are all kept and all shown: the others must be valid
    // answers too. Only conflicted keys are read again (the iterator flags them).
    let Ok(Some((_, answers))) = doc.get(ROOT, "answers") else {
        return Err(Invalid::at("answers", "is missing".into()));
    };
    let conflicted: Vec<String> = doc
        .map_range(&answers, ..)
        .filter(|item| item.conflict)
        .map(|item| item.key.to_string())
        .collect();
    let conflicts = u32::try_from(conflicted.len()).unwrap_or(u32::MAX);
    for key in conflicted {
        let path = join("answers", &key);
        let values = doc
            .get_all(&answers, key.as_str())
            .map_err(|e| Invalid::at(&path, e.to_string()))?;
        for (value, _) in values {
            let Some(text) = value.as_str() else {
                return Err(Invalid::at(&path, "is not a scalar string".into()));
            };
            answer::check_json(text, &path)?;
            let parsed: Answer = serde_json::from_str(text)
                .map_err(|e| Invalid::at(&path, format!("is not an answer ({e})")))?;
            if let Some(t) = template {
                fits_template(t, &key, &parsed, &path)?;
            }
        }
    }
    Ok(VisitRead { visit, conflicts })
}

fn fits_template(t: &Template, key: &str, answer: &Answer, path: &str) -> Result<(), Invalid> {
    let item = key
        .parse()
        .ok()
        .and_then(|item| t.item(&item))
        .ok_or_else(|| {
            Invalid::at(
                path,
                format!("is not an item of template {}", t.record_id()),
            )
        })?;
    check_value(item, &answer.value).map_err(|e| Invalid::at(&join(path, "value"), e.to_string()))
}

fn same_id(doc: &AutoCommit, inner: &RecordId, path: &str) -> Result<(), Invalid> {
    let id: RecordId =
        autosurgeon::hydrate_prop(doc, ROOT, "id").map_err(|e| Invalid::at("id", e.to_string()))?;
    if &id == inner {
        Ok(())
    } else {
        Err(Invalid::at(path, "differs from the header's id".into()))
    }
}

fn model_error(e: Error) -> Invalid {
    Invalid::at("", e.to_string())
}
