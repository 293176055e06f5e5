//! An answer as stored: one scalar string holding JSON. Checked field by field (so the error
//! names the field) and against the template item when the template version is known.

use serde_json::Value as J;

use super::Invalid;
use super::shape::join;
use crate::error::{Error, Result};
use crate::ids::{DeviceId, MediaHash};
use crate::model::{AnswerKind, AnswerValue, TemplateItem};

/// Checks the JSON of one answer stored at `path`.
pub(super) fn check_json(text: &str, path: &str) -> Result<(), Invalid> {
    let json: J = serde_json::from_str(text)
        .map_err(|e| Invalid::at(path, format!("is not valid JSON ({e})")))?;
    let J::Object(fields) = &json else {
        return Err(Invalid::at(path, "is not a JSON object".into()));
    };
    let field = |key: &str| {
        fields
            .get(key)
            .ok_or_else(|| Invalid::at(&join(path, key), "is missing".into()))
    };
    check_value_json(field("value")?, &join(path, "value"))?;
    let note = field("note")?;
    if !(note.is_null() || note.is_string()) {
        return Err(Invalid::at(
            &join(path, "note"),
            "is not a string or null".into(),
        ));
    }
    let media_path = join(path, "media");
    let J::Array(media) = field("media")? else {
        return Err(Invalid::at(&media_path, "is not an array".into()));
    };
    for (i, hash) in media.iter().enumerate() {
        if !is_id::<MediaHash>(hash) {
            return Err(Invalid::at(
                &join(&media_path, &i.to_string()),
                "is not a media hash".into(),
            ));
        }
    }
    if !field("by")?.is_string() {
        return Err(Invalid::at(&join(path, "by"), "is not a string".into()));
    }
    if !is_id::<DeviceId>(field("device")?) {
        return Err(Invalid::at(
            &join(path, "device"),
            "is not a device id".into(),
        ));
    }
    if !field("at")?.is_i64() {
        return Err(Invalid::at(
            &join(path, "at"),
            "is not an integer (ms since the epoch)".into(),
        ));
    }
    Ok(())
}

/// Whether `value` is a JSON string that parses as a `T`.
fn is_id<T: std::str::FromStr>(value: &J) -> bool {
    value.as_str().is_some_and(|s| s.parse::<T>().is_ok())
}

/// `"pass"`, `"fail"`, `"not_applicable"`, `{"number": n}`, `{"text": s}` or `{"choice": s}`.
fn check_value_json(value: &J, path: &str) -> Result<(), Invalid> {
    let ok = match value {
        J::String(s) => matches!(s.as_str(), "pass" | "fail" | "not_applicable"),
        J::Object(o) if o.len() == 1 => match o.iter().next() {
            Some((k, J::Number(n))) if k == "number" => n.as_f64().is_some_and(f64::is_finite),
            Some((k, J::String(_))) => k == "text" || k == "choice",
            _ => false,
        },
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Invalid::at(
            path,
            r#"is not "pass", "fail", "not_applicable", {"number": n}, {"text": s} or {"choice": s}"#
                .into(),
        ))
    }
}

/// Checks that a value fits the item's answer kind. `not_applicable` fits every kind.
pub(crate) fn check_value(item: &TemplateItem, value: &AnswerValue) -> Result<()> {
    let fits = match (&item.answer, value) {
        (_, AnswerValue::NotApplicable) => true,
        (AnswerKind::PassFail, AnswerValue::Pass | AnswerValue::Fail) => true,
        (AnswerKind::Number { .. }, AnswerValue::Number(n)) => n.is_finite(),
        (AnswerKind::Text, AnswerValue::Text(_)) => true,
        (AnswerKind::Choice { choices }, AnswerValue::Choice(c)) => choices.contains(c),
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(Error::InvalidAnswer {
            item: item.id.to_string(),
            reason: format!(
                "{:?} answer given to a {} item",
                value_kind(value),
                kind_name(&item.answer)
            ),
        })
    }
}

fn value_kind(value: &AnswerValue) -> &'static str {
    match value {
        AnswerValue::Pass | AnswerValue::Fail | AnswerValue::NotApplicable => "pass/fail",
        AnswerValue::Number(_) => "number",
        AnswerValue::Text(_) => "text",
        AnswerValue::Choice(_) => "choice",
    }
}

fn kind_name(kind: &AnswerKind) -> &'static str {
    match kind {
        AnswerKind::PassFail => "pass/fail",
        AnswerKind::Number { .. } => "number",
        AnswerKind::Text => "text",
        AnswerKind::Choice { .. } => "choice",
    }
}
