//! Reading and writing the parts of a visit document. Writes touch only the keys they change,
//! so concurrent captures on several phones merge key by key.

use std::collections::BTreeMap;

use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, hydrate, transaction::Transactable};
use autosurgeon::Hydrate;

use crate::error::{Error, Result};
use crate::ids::{ItemId, MediaHash};
use crate::model::{
    Answer, AnswerConflict, Finding, MediaRef, Reinspection, Severity, TemplateRef, Visit,
};

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

/// The whole visit. Reading the document in one pass and mapping it with serde is several
/// times faster than a lookup per field (see the `store` benchmark); the serde forms of the
/// model types are the forms autosurgeon writes, and a test holds the two paths equal.
pub(crate) fn read(doc: &AutoCommit) -> Result<Visit> {
    from_snapshot(&doc.hydrate(ROOT, None)?)
}

/// The visit from a snapshot of its document already taken (the content check takes one and
/// reads it with this, rather than reading the document a second time).
pub(crate) fn from_snapshot(snapshot: &hydrate::Value) -> Result<Visit> {
    let hydrate::Value::Map(root) = snapshot else {
        return Err(Error::Malformed(
            "visit does not match the model: not a map".into(),
        ));
    };
    // Answers are stored as JSON text (see `Answer`): each is parsed straight into an
    // `Answer`, the rest of the visit goes through JSON values.
    let mut answers = BTreeMap::new();
    let mut json = serde_json::Map::new();
    for (key, value) in root.iter() {
        match (key.as_str(), &value.value) {
            ("answers", hydrate::Value::Map(stored)) => {
                for (item, answer) in stored.iter() {
                    answers.insert(item.clone(), answer_of(item, &answer.value)?);
                }
                json.insert(key.clone(), serde_json::Value::Object(Default::default()));
            }
            _ => {
                json.insert(key.clone(), to_json(&value.value));
            }
        }
    }
    let mut visit: Visit = serde_json::from_value(serde_json::Value::Object(json))
        .map_err(|e| Error::Malformed(format!("visit does not match the model: {e}")))?;
    visit.answers = answers;
    Ok(visit)
}

/// One stored answer: its JSON text, parsed once.
fn answer_of(item: &str, value: &hydrate::Value) -> Result<Answer> {
    let parsed = match value {
        hydrate::Value::Scalar(automerge::ScalarValue::Str(text)) => serde_json::from_str(text)
            .map_err(|e| {
                if e.is_syntax() || e.is_eof() {
                    Error::Malformed(format!("answer is not valid JSON: {e}"))
                } else {
                    Error::Malformed(format!(
                        "visit does not match the model: answer {item}: {e}"
                    ))
                }
            })?,
        other => serde_json::from_value(to_json(other)).map_err(|e| {
            Error::Malformed(format!(
                "visit does not match the model: answer {item}: {e}"
            ))
        })?,
    };
    Ok(parsed)
}

fn to_json(value: &hydrate::Value) -> serde_json::Value {
    use automerge::ScalarValue as S;
    use serde_json::Value as J;
    match value {
        hydrate::Value::Map(map) => J::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_json(&v.value)))
                .collect(),
        ),
        hydrate::Value::List(list) => J::Array(list.iter().map(|v| to_json(&v.value)).collect()),
        hydrate::Value::Text(text) => J::String(text.to_string()),
        hydrate::Value::Scalar(scalar) => match scalar {
            S::Str(s) => J::String(s.to_string()),
            S::Int(i) | S::Timestamp(i) => J::from(*i),
            S::Uint(u) => J::from(*u),
            S::F64(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            S::Counter(c) => J::from(i64::from(c)),
            S::Boolean(b) => J::Bool(*b),
            S::Bytes(_) | S::Unknown { .. } | S::Null => J::Null,
        },
    }
}

/// The template version the visit uses.
pub(crate) fn template_ref(doc: &AutoCommit) -> Result<TemplateRef> {
    Ok(autosurgeon::hydrate_prop(doc, ROOT, "template")?)
}

/// Puts an answer at `answers/<item>` as one value, so two offline answers to one item are a
/// visible conflict of two whole answers, never a field-wise blend.
pub(crate) fn put_answer(doc: &mut AutoCommit, item: &ItemId, answer: &Answer) -> Result<()> {
    let answers = map_at(doc, "answers")?;
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

/// Makes the `reinspections` map of a re-inspection visit. Done when the visit is created,
/// by its one creator, so results recorded on several phones merge key by key (a map made
/// later on two phones at once would be two maps, one of them lost).
pub(crate) fn start_reinspections(doc: &mut AutoCommit) -> Result<()> {
    doc.put_object(ROOT, "reinspections", ObjType::Map)?;
    Ok(())
}

/// Adds a re-inspection result under its own id; the visit must be a re-inspection visit.
pub(crate) fn put_reinspection(doc: &mut AutoCommit, result: &Reinspection) -> Result<()> {
    let map = map_at(doc, "reinspections")?;
    autosurgeon::reconcile_prop(doc, &map, result.id.as_str(), result)?;
    Ok(())
}

/// The re-inspection results a visit holds, oldest first (none for an ordinary visit).
pub(crate) fn reinspections(doc: &AutoCommit) -> Result<Vec<Reinspection>> {
    if !is_reinspection(doc)? {
        return Ok(Vec::new());
    }
    let map: std::collections::BTreeMap<String, Reinspection> =
        autosurgeon::hydrate_prop(doc, ROOT, "reinspections")?;
    let mut list: Vec<Reinspection> = map.into_values().collect();
    list.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    Ok(list)
}

/// Whether the visit is a re-inspection visit (it has the `reinspections` map).
pub(crate) fn is_reinspection(doc: &AutoCommit) -> Result<bool> {
    Ok(matches!(
        doc.get(ROOT, "reinspections")?,
        Some((automerge::Value::Object(ObjType::Map), _))
    ))
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
    // One pass over the answers flags the items with conflicting values; only those are
    // looked up (a lookup for every item took 25 times as long on a visit of 200 answers:
    // the store bench's "conflicts of a visit").
    let conflicting: Vec<String> = doc
        .map_range(&answers, ..)
        .filter(|item| item.conflict)
        .map(|item| item.key.into_owned())
        .collect();
    let mut out = Vec::new();
    for key in conflicting {
        let values = doc.get_all(&answers, key.as_str())?;
        if values.len() < 2 {
            continue;
        }
        let mut all = Vec::with_capacity(values.len());
        for (value, _) in values.iter().rev() {
            let json = value
                .as_str()
                .ok_or_else(|| Error::Malformed("answer is not text".into()))?;
            all.push(Answer::hydrate_string(json)?);
        }
        out.push(AnswerConflict {
            item: key.parse()?,
            answers: all,
        });
    }
    Ok(out)
}

/// Counts for the visit list, read in one pass over the answers (whose iterator flags
/// conflicts) and one lookup per finding.
pub(crate) fn counts(doc: &AutoCommit) -> Result<VisitCounts> {
    let answers = map_at(doc, "answers")?;
    let findings = map_at(doc, "findings")?;
    let mut counts = VisitCounts::default();
    for item in doc.map_range(&answers, ..) {
        counts.answered += 1;
        counts.conflicts += u32::from(item.conflict);
    }
    let finding_ids: Vec<ObjId> = doc.map_range(&findings, ..).map(|f| f.id()).collect();
    for finding in finding_ids {
        match autosurgeon::hydrate_prop::<_, Severity, _, _>(doc, &finding, "severity")? {
            Severity::Major => counts.major_findings += 1,
            Severity::General => counts.general_findings += 1,
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::document::{RecordHeader, RecordKind};
    use crate::ids::{FindingId, RecordId};
    use crate::model::{
        AnswerValue, GeoPoint, MediaKind, Scope, Sector, Site, TemplateRef, VisitMode,
    };

    #[test]
    fn the_one_pass_reader_agrees_with_autosurgeon_on_every_field_form() {
        let id = RecordId::random();
        let header = RecordHeader {
            kind: RecordKind::Visit,
            id: id.clone(),
            scope: Scope::group("r", "g"),
        };
        let mut doc = header.create(automerge::ActorId::random()).expect("create");
        let device: crate::ids::DeviceId = "dev-1".parse().expect("id");
        let at = GeoPoint {
            lat: 38.1,
            lon: 114.2,
            accuracy_m: None,
        };
        let visit = Visit {
            id,
            scope: Scope::group("r", "g"),
            site: Site {
                name: "厂".into(),
                credit_code: None,
                address: "地址".into(),
                sector: Sector::Tourism,
            },
            mode: VisitMode::Announced,
            team: vec!["甲".into(), "乙".into()],
            template: TemplateRef {
                id: "t".parse().expect("id"),
                version: 3,
            },
            assignment: Some("assignment-1".parse().expect("id")),
            started_at: 1_700_000_000_000,
            ended_at: Some(1_700_000_360_000),
            location: Some(GeoPoint {
                lat: 1.5,
                lon: -2.25,
                accuracy_m: Some(3.0),
            }),
            answers: BTreeMap::new(),
            findings: BTreeMap::new(),
            media: BTreeMap::new(),
        };
        autosurgeon::reconcile(&mut doc, &visit).expect("reconcile");
        let hash: MediaHash = "c".repeat(64).parse().expect("hash");
        let hash_key = hash.to_string();
        put_media(
            &mut doc,
            &MediaRef {
                hash: hash.clone(),
                size: u64::MAX / 3,
                kind: MediaKind::Video,
                mime: "video/mp4".into(),
                captured_at: 5,
                location: Some(at),
                device: device.clone(),
                signature: Some(crate::evidence::EvidenceSignature {
                    signer: device.clone(),
                    signature: "ab".repeat(64),
                }),
            },
        )
        .expect("media");
        let values = [
            AnswerValue::Pass,
            AnswerValue::Fail,
            AnswerValue::NotApplicable,
            AnswerValue::Number(-0.5),
            AnswerValue::Text("文字".into()),
            AnswerValue::Choice("正常".into()),
        ];
        for (i, value) in values.into_iter().enumerate() {
            let answer = Answer {
                value,
                note: (i % 2 == 0).then(|| format!("note {i}")),
                media: if i == 1 { vec![hash.clone()] } else { vec![] },
                by: "甲".into(),
                device: device.clone(),
                at: i as i64,
            };
            put_answer(
                &mut doc,
                &format!("item-{i}").parse().expect("item"),
                &answer,
            )
            .expect("answer");
        }
        put_finding(
            &mut doc,
            &Finding {
                id: FindingId::random(),
                description: "隐患".into(),
                severity: Severity::Major,
                item: Some("item-1".parse().expect("item")),
                location: Some(at),
                media: vec![hash],
                fixed_on_spot: true,
                interim_measures: Some("警戒".into()),
                by: "乙".into(),
                device,
                at: 9,
            },
        )
        .expect("finding");
        // A reference as written before signatures existed: no `signature` key at all.
        let old: MediaHash = "d".repeat(64).parse().expect("hash");
        put_media(
            &mut doc,
            &MediaRef {
                hash: old.clone(),
                size: 7,
                kind: MediaKind::Photo,
                mime: "image/jpeg".into(),
                captured_at: 6,
                location: None,
                device: "dev-1".parse().expect("id"),
                signature: None,
            },
        )
        .expect("old media");
        let media = map_at(&doc, "media").expect("media map");
        let old_ref = match doc.get(&media, old.as_str()).expect("get") {
            Some((_, obj)) => obj,
            None => panic!("the reference was just written"),
        };
        doc.delete(&old_ref, "signature").expect("drop the key");
        doc.commit();

        let slow: Visit = autosurgeon::hydrate(&doc).expect("autosurgeon");
        let fast = read(&doc).expect("one pass");
        assert_eq!(fast, slow);
        assert_eq!(fast.media[old.as_str()].signature, None);
        assert!(fast.media[hash_key.as_str()].signature.is_some());
        assert_eq!(fast.answers.len(), 6);
        let c = counts(&doc).expect("counts");
        assert_eq!(
            c,
            VisitCounts {
                answered: 6,
                major_findings: 1,
                general_findings: 0,
                conflicts: 0
            }
        );
    }
}
