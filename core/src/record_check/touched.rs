//! The check of an update: what a set of changes writes, and the check of only that part of
//! the record. An Automerge change alters the visible document only at the (object, key)
//! pairs its operations name and below them, so when the record passed the check before the
//! changes, checking the fields and keyed-map entries they write (each whole) finds every
//! departure from the model the full check would find. What cannot be placed precisely (the
//! header, the answers map as a whole, the template reference, another record kind) falls back
//! to the full check. An answer (a string under `answers/<item>`) is checked from the values
//! the changes put there, without reading the entry back from the document (a lookup in a
//! visit's answers map cost about a fifth of applying the change): the entry's other values
//! were put by earlier changes and checked when they came.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::legacy::{Key, ObjectId, OpType};
use automerge::{
    AutoCommit, Change, ExpandedChange, ObjId, Prop, ROOT, ReadDoc, ScalarValue, hydrate,
};

use super::shape::{Shape, VISIT, field, join, walk, walk_entry};
use super::{Invalid, answer, check_inner, fits_template};
use crate::document::RecordKind;
use crate::error::Result;
use crate::model::{Answer, Template};

/// The root map of a visit's answers, each a JSON string under its item id.
const ANSWERS: &str = "answers";

/// Root keys whose change makes the whole record be checked again: the header, and what
/// every answer is checked against.
const WHOLE_ON: &[&str] = &["kind", "id", "scope", "schema", "template", "answers"];

/// The parts of a record a set of changes writes: whole root fields, entries of the maps
/// under the root (`answers/<item>`, `findings/<id>`, `media/<hash>`), and the elements of
/// the lists those hold (`case/events/<index>`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Touched {
    fields: BTreeSet<String>,
    entries: BTreeSet<(String, String)>,
    /// `(map key, key, index)`: element `index` of the list at `<map key>/<key>`.
    elements: BTreeSet<(String, String, usize)>,
    /// Entries whose list an operation wrote at no element that can be named (a deletion, a
    /// scalar put into the list): checked whole.
    lists: BTreeSet<(String, String)>,
    /// What the operations wrote straight into the answers map, by item: the values they put,
    /// each `None` when it is not a string (a deletion puts none). An item some operation
    /// wrote below, or that the changes' own values cannot stand for, is `Unknown` and read
    /// from the document.
    answer_writes: BTreeMap<String, AnswerWrites>,
    whole: bool,
}

/// The values the changes put into one answers entry.
#[derive(Debug, PartialEq, Eq)]
enum AnswerWrites {
    /// Every value put there, in the changes' order (`None`: a value that is not a string).
    Put(Vec<Option<String>>),
    /// Written some other way: the entry is read from the document.
    Unknown,
}

impl Touched {
    /// What `changes`, already applied to `doc`, write.
    pub fn of(doc: &AutoCommit, changes: &[Change]) -> Self {
        Self::of_decoded(doc, changes.iter().map(Change::decode))
    }

    /// What `changes` (decoded: [`Change::decode`]), already applied to `doc`, write. A
    /// caller that hands its parsed changes to Automerge decodes them first and keeps only
    /// this, instead of a copy of each change.
    pub fn of_decoded(doc: &AutoCommit, changes: impl IntoIterator<Item = ExpandedChange>) -> Self {
        let mut touched = Self::default();
        // The path of each object named, looked up once per object.
        let mut paths: HashMap<String, Option<Vec<Prop>>> = HashMap::new();
        for change in changes {
            let actor = change.actor_id.to_hex_string();
            for (n, op) in change.operations.into_iter().enumerate() {
                let path = match op.obj {
                    ObjectId::Root => Some(Vec::new()),
                    ObjectId::Id(id) => paths
                        .entry(id.to_string())
                        .or_insert_with_key(|id| path_of(doc, id))
                        .clone(),
                };
                if let Some([Prop::Map(k1), Prop::Map(k2), rest @ ..]) = path.as_deref() {
                    let made = (rest.is_empty() && matches!(op.action, OpType::Make(_)))
                        .then(|| {
                            path_of(
                                doc,
                                &format!("{}@{actor}", change.start_op.get() + n as u64),
                            )
                        })
                        .flatten();
                    match (rest, made.as_deref()) {
                        ([Prop::Seq(i), ..], _) | ([], Some([_, _, Prop::Seq(i)])) => {
                            touched.elements.insert((k1.clone(), k2.clone(), *i));
                        }
                        _ => {
                            touched.lists.insert((k1.clone(), k2.clone()));
                        }
                    }
                }
                match (path.as_deref(), op.key) {
                    (Some([]), Key::Map(k)) => {
                        touched.fields.insert(k.to_string());
                    }
                    (Some([Prop::Map(k1)]), Key::Map(k2)) => {
                        if k1 == ANSWERS {
                            touched.note_answer(k2.to_string(), Some(op.action));
                        }
                        touched.entries.insert((k1.clone(), k2.to_string()));
                    }
                    (Some([Prop::Map(k1), Prop::Map(k2), ..]), _) => {
                        if k1 == ANSWERS {
                            touched.note_answer(k2.clone(), None);
                        }
                        touched.entries.insert((k1.clone(), k2.clone()));
                    }
                    (Some([Prop::Map(k1), ..]), _) => {
                        touched.fields.insert(k1.clone());
                    }
                    _ => touched.whole = true,
                }
            }
        }
        touched
    }

    /// Notes an operation on answers entry `key`: `action` when it wrote the entry itself,
    /// `None` when it wrote below it.
    fn note_answer(&mut self, key: String, action: Option<OpType>) {
        let writes = self
            .answer_writes
            .entry(key)
            .or_insert_with(|| AnswerWrites::Put(Vec::new()));
        let AnswerWrites::Put(values) = writes else {
            return;
        };
        match action {
            Some(OpType::Put(ScalarValue::Str(text))) => values.push(Some(text.to_string())),
            // The entry's other values (concurrent ones) stay, and passed when they came.
            Some(OpType::Delete) => {}
            Some(OpType::Put(_) | OpType::Make(_) | OpType::Increment(_)) => values.push(None),
            Some(OpType::MarkBegin(_) | OpType::MarkEnd(_)) | None => {
                *writes = AnswerWrites::Unknown;
            }
        }
    }

    /// Everything: the full check.
    pub fn everything() -> Self {
        Self {
            whole: true,
            ..Self::default()
        }
    }

    /// Whether the answers are checked (so the template version they fit is needed).
    pub fn reaches_answers(&self) -> bool {
        self.whole
            || self.fields.contains("answers")
            || self.entries.iter().any(|(k, _)| k == "answers")
    }

    fn needs_whole(&self) -> bool {
        self.whole || WHOLE_ON.iter().any(|k| self.fields.contains(*k))
    }

    /// The events of a case the changes wrote, by index, when they wrote nothing else of it
    /// (how the office appends to a case); `None` otherwise.
    fn case_events_only(&self) -> Option<Vec<usize>> {
        let events = ("case".to_string(), "events".to_string());
        let only_events = self.fields.is_empty()
            && self.entries.iter().all(|e| e == &events)
            && self.lists.iter().all(|(k1, _)| k1 != "case")
            && self
                .elements
                .iter()
                .all(|(k1, k2, _)| (k1, k2) == (&events.0, &events.1));
        only_events.then(|| self.elements.iter().map(|(_, _, i)| *i).collect())
    }
}

/// The keys from the root down to object `id` (its `counter@actor` form), or `None` if the
/// document does not know it.
fn path_of(doc: &AutoCommit, id: &str) -> Option<Vec<Prop>> {
    let obj = doc.import_obj(id).ok()?;
    let parents = doc.parents(&obj).ok()?;
    Some(parents.path().into_iter().map(|(_, prop)| prop).collect())
}

/// Checks the parts of record `doc` that `touched` names (all of it when they cannot be
/// placed). Sound when the record read as the model before the changes were applied.
pub(super) fn check_touched(
    doc: &AutoCommit,
    template: Option<&Template>,
    touched: &Touched,
) -> Result<(), Invalid> {
    let kind = match doc.get(ROOT, "kind") {
        Ok(Some((v, _))) => v.as_str().and_then(|s| s.parse::<RecordKind>().ok()),
        _ => None,
    };
    if kind == Some(RecordKind::Case)
        && !touched.needs_whole()
        && let Some(events) = touched.case_events_only()
    {
        return check_case_events(doc, &events);
    }
    if touched.needs_whole() || kind != Some(RecordKind::Visit) {
        return check_inner(doc, template).map(drop);
    }
    for key in &touched.fields {
        // Unknown keys are a newer app's fields: kept, not checked.
        if let Some(shape) = field(&VISIT, key) {
            check_field(doc, key, shape)?;
        }
    }
    for (map_key, key) in &touched.entries {
        if touched.fields.contains(map_key) {
            continue;
        }
        match field(&VISIT, map_key) {
            None => {}
            Some(Shape::MapOf { .. }) if map_key == ANSWERS => {
                check_answer(doc, key, touched.answer_writes.get(key), template)?;
            }
            Some(Shape::MapOf {
                key: kind,
                value,
                keyed_by,
            }) => {
                let at = join(map_key, key);
                let Some(map) = map_id(doc, map_key)? else {
                    return Err(Invalid::at(map_key, "is missing".into()));
                };
                if let Some(v) = hydrate_at(doc, &map, key, &at)? {
                    walk_entry(*kind, value, *keyed_by, key, &v, &at)?;
                }
            }
            Some(shape) => check_field(doc, map_key, shape)?,
        }
    }
    Ok(())
}

/// Checks the case events at `indices`, each whole, as the full check reads every event.
fn check_case_events(doc: &AutoCommit, indices: &[usize]) -> Result<(), Invalid> {
    let Some(case) = map_id(doc, "case")? else {
        return Err(Invalid::at("case", "is missing".into()));
    };
    let events = match doc.get(&case, "events") {
        Ok(Some((automerge::Value::Object(automerge::ObjType::List), id))) => id,
        Ok(_) => return Err(Invalid::at("case/events", "is not a list".into())),
        Err(e) => return Err(Invalid::at("case/events", e.to_string())),
    };
    for &i in indices {
        let path = format!("case/events/{i}");
        let event: Option<crate::model::CaseEvent> = autosurgeon::hydrate_prop(doc, &events, i)
            .map_err(|e| Invalid::at(&path, e.to_string()))?;
        if event.is_none() {
            return Err(Invalid::at(&path, "is missing".into()));
        }
    }
    Ok(())
}

/// Checks root field `key` whole.
fn check_field(doc: &AutoCommit, key: &str, shape: &Shape) -> Result<(), Invalid> {
    match hydrate_at(doc, &ROOT, key, key)? {
        Some(v) => walk(&v, shape, key),
        None if matches!(shape, Shape::Optional(_)) => Ok(()),
        None => Err(Invalid::at(key, "is missing".into())),
    }
}

/// Checks `answers/<key>`: the values the changes put there when `writes` holds them (every
/// other value of the entry was put by earlier changes and checked when they came; a value put
/// and then replaced within the changes is checked too, as a device that pulls part of them
/// sees it), otherwise every value the entry holds (concurrent answers are all kept and all
/// shown).
fn check_answer(
    doc: &AutoCommit,
    key: &str,
    writes: Option<&AnswerWrites>,
    template: Option<&Template>,
) -> Result<(), Invalid> {
    if let Some(AnswerWrites::Put(values)) = writes {
        return check_answer_values(values.iter().map(Option::as_deref), key, template);
    }
    let Some(answers) = map_id(doc, ANSWERS)? else {
        return Err(Invalid::at(ANSWERS, "is missing".into()));
    };
    let values = doc
        .get_all(&answers, key)
        .map_err(|e| Invalid::at(&join(ANSWERS, key), e.to_string()))?;
    check_answer_values(values.iter().map(|(v, _)| v.as_str()), key, template)
}

/// Checks values of `answers/<key>` (`None`: a value that is not a string).
fn check_answer_values<'a>(
    values: impl IntoIterator<Item = Option<&'a str>>,
    key: &str,
    template: Option<&Template>,
) -> Result<(), Invalid> {
    let path = join(ANSWERS, key);
    if key.parse::<crate::ids::ItemId>().is_err() {
        return Err(Invalid::at(&path, "key is not an item id".into()));
    }
    for value in values {
        let Some(text) = value else {
            return Err(Invalid::at(
                &path,
                "is not a scalar string holding the answer's JSON".into(),
            ));
        };
        answer::check_json(text, &path)?;
        let parsed: Answer = serde_json::from_str(text)
            .map_err(|e| Invalid::at(&path, format!("is not an answer ({e})")))?;
        if let Some(t) = template {
            fits_template(t, key, &parsed, &path)?;
        }
    }
    Ok(())
}

/// The map object at root key `key`, `None` if the key is absent; an error if it holds
/// something else.
fn map_id(doc: &AutoCommit, key: &str) -> Result<Option<ObjId>, Invalid> {
    match doc.get(ROOT, key) {
        Ok(None) => Ok(None),
        Ok(Some((automerge::Value::Object(automerge::ObjType::Map), id))) => Ok(Some(id)),
        Ok(Some(_)) => Err(Invalid::at(key, "is not a map".into())),
        Err(e) => Err(Invalid::at(key, e.to_string())),
    }
}

/// A snapshot of the value at `obj`/`key` (the winning one), `None` if absent.
fn hydrate_at(
    doc: &AutoCommit,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Result<Option<hydrate::Value>, Invalid> {
    let bad = |e: automerge::AutomergeError| Invalid::at(path, e.to_string());
    match doc.get(obj, key).map_err(bad)? {
        None => Ok(None),
        Some((automerge::Value::Scalar(s), _)) => Ok(Some(hydrate::Value::Scalar(s.into_owned()))),
        Some((automerge::Value::Object(_), id)) => doc.hydrate(id, None).map(Some).map_err(bad),
    }
}
