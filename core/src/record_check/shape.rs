//! The layout of the device-written record kinds as data, and a walker that checks a
//! document snapshot against it. `docs/records.md` describes the same layout in prose; the
//! two are kept equal by the test vectors beside that file.

use automerge::{ScalarValue as S, hydrate::Value};

use super::{Invalid, answer};
use crate::ids::{DeviceId, FindingId, ItemId, MediaHash, RecordId, TemplateId};

/// Which id syntax a string field holds.
#[derive(Clone, Copy, Debug)]
pub(super) enum IdKind {
    Record,
    Template,
    Item,
    Finding,
    Device,
    Media,
}

impl IdKind {
    fn accepts(self, s: &str) -> bool {
        match self {
            IdKind::Record => s.parse::<RecordId>().is_ok(),
            IdKind::Template => s.parse::<TemplateId>().is_ok(),
            IdKind::Item => s.parse::<ItemId>().is_ok(),
            IdKind::Finding => s.parse::<FindingId>().is_ok(),
            IdKind::Device => s.parse::<DeviceId>().is_ok(),
            IdKind::Media => s.parse::<MediaHash>().is_ok(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            IdKind::Record => "a record id",
            IdKind::Template => "a template id",
            IdKind::Item => "an item id",
            IdKind::Finding => "a finding id",
            IdKind::Device => "a device id",
            IdKind::Media => "a media hash (64 lowercase hex digits)",
        }
    }
}

/// What one value must be.
#[derive(Debug)]
pub(super) enum Shape {
    /// A scalar string (not Text).
    Str,
    /// A scalar string holding an id.
    Id(IdKind),
    /// A scalar string, one of these codes.
    OneOf(&'static [&'static str]),
    /// A signed 64-bit integer (milliseconds since the epoch for times).
    Int,
    /// An unsigned integer that fits in 32 bits.
    Uint32,
    /// An unsigned 64-bit integer.
    Uint64,
    /// A 64-bit float, finite.
    F64,
    /// A boolean.
    Bool,
    /// The shape, or null; the key must be present.
    Nullable(&'static Shape),
    /// The shape or null, or the key absent (fields added after schema 1 was first written).
    Optional(&'static Shape),
    /// A map with these keys (others are allowed and ignored: newer apps' fields).
    Map(&'static [(&'static str, Shape)]),
    /// A map from ids to values; `keyed_by` names the field of each value that must equal its key.
    MapOf {
        key: IdKind,
        value: &'static Shape,
        keyed_by: Option<&'static str>,
    },
    /// A list of values.
    List(&'static Shape),
    /// An answer: a scalar string holding the answer's JSON (see `answer`).
    AnswerJson,
}

const SECTORS: &[&str] = &[
    "hazardous_chemicals",
    "coal_mine",
    "non_coal_mine",
    "industry_trade",
    "fire_safety",
    "road_transport",
    "building_construction",
    "gas",
    "tourism",
    "special_equipment",
];

const GEO_POINT: Shape = Shape::Map(&[
    ("lat", Shape::F64),
    ("lon", Shape::F64),
    ("accuracy_m", Shape::Nullable(&Shape::F64)),
]);

const SCOPE: Shape = Shape::Map(&[("region", Shape::Str), ("group", Shape::Str)]);

const MEDIA_LIST: Shape = Shape::List(&Shape::Id(IdKind::Media));

const SIGNATURE: Shape = Shape::Map(&[
    ("signer", Shape::Id(IdKind::Device)),
    ("signature", Shape::Str),
]);

const FINDING: Shape = Shape::Map(&[
    ("id", Shape::Id(IdKind::Finding)),
    ("description", Shape::Str),
    ("severity", Shape::OneOf(&["major", "general"])),
    ("item", Shape::Nullable(&Shape::Id(IdKind::Item))),
    ("location", Shape::Nullable(&GEO_POINT)),
    ("media", MEDIA_LIST),
    ("fixed_on_spot", Shape::Bool),
    ("interim_measures", Shape::Nullable(&Shape::Str)),
    ("by", Shape::Str),
    ("device", Shape::Id(IdKind::Device)),
    ("at", Shape::Int),
]);

const MEDIA_REF: Shape = Shape::Map(&[
    ("hash", Shape::Id(IdKind::Media)),
    ("size", Shape::Uint64),
    ("kind", Shape::OneOf(&["photo", "video", "audio"])),
    ("mime", Shape::Str),
    ("captured_at", Shape::Int),
    ("location", Shape::Nullable(&GEO_POINT)),
    ("device", Shape::Id(IdKind::Device)),
    ("signature", Shape::Optional(&SIGNATURE)),
]);

const REINSPECTION: Shape = Shape::Map(&[
    ("id", Shape::Id(IdKind::Record)),
    ("case", Shape::Id(IdKind::Record)),
    ("outcome", Shape::OneOf(&["rectified", "not_rectified"])),
    ("note", Shape::Nullable(&Shape::Str)),
    ("media", MEDIA_LIST),
    ("by", Shape::Str),
    ("device", Shape::Id(IdKind::Device)),
    ("at", Shape::Int),
]);

/// The root of a visit document (besides the header's `kind` and `schema`).
pub(super) const VISIT: Shape = Shape::Map(&[
    ("id", Shape::Id(IdKind::Record)),
    ("scope", SCOPE),
    (
        "site",
        Shape::Map(&[
            ("name", Shape::Str),
            ("credit_code", Shape::Nullable(&Shape::Str)),
            ("address", Shape::Str),
            ("sector", Shape::OneOf(SECTORS)),
        ]),
    ),
    ("mode", Shape::OneOf(&["covert", "announced"])),
    ("team", Shape::List(&Shape::Str)),
    (
        "template",
        Shape::Map(&[
            ("id", Shape::Id(IdKind::Template)),
            ("version", Shape::Uint32),
        ]),
    ),
    ("assignment", Shape::Nullable(&Shape::Id(IdKind::Record))),
    ("started_at", Shape::Int),
    ("ended_at", Shape::Nullable(&Shape::Int)),
    ("location", Shape::Nullable(&GEO_POINT)),
    (
        "answers",
        Shape::MapOf {
            key: IdKind::Item,
            value: &Shape::AnswerJson,
            keyed_by: None,
        },
    ),
    (
        "findings",
        Shape::MapOf {
            key: IdKind::Finding,
            value: &FINDING,
            keyed_by: Some("id"),
        },
    ),
    (
        "media",
        Shape::MapOf {
            key: IdKind::Media,
            value: &MEDIA_REF,
            keyed_by: Some("hash"),
        },
    ),
    (
        "reinspections",
        Shape::Optional(&Shape::MapOf {
            key: IdKind::Record,
            value: &REINSPECTION,
            keyed_by: Some("id"),
        }),
    ),
]);

/// The root of a report document (a work update or practice).
pub(super) const REPORT: Shape = Shape::Map(&[(
    "collection",
    Shape::Map(&[
        ("id", Shape::Id(IdKind::Record)),
        ("kind", Shape::OneOf(&["work_update", "practice"])),
        ("title", Shape::Str),
        ("body", Shape::Str),
        ("author", Shape::Str),
        ("written_at", Shape::Int),
        ("media", MEDIA_LIST),
    ]),
)]);

/// The header every record carries at its root.
pub(super) const HEADER: Shape = Shape::Map(&[
    (
        "kind",
        Shape::OneOf(&[
            "visit",
            "template",
            "case",
            "assignment",
            "report",
            "directory",
        ]),
    ),
    ("id", Shape::Id(IdKind::Record)),
    ("scope", SCOPE),
    ("schema", Shape::Uint64),
]);

/// Checks `value` at `path` against `shape`.
pub(super) fn walk(value: &Value, shape: &Shape, path: &str) -> Result<(), Invalid> {
    let bad = |reason: String| Err(Invalid::at(path, reason));
    match (shape, value) {
        (Shape::Nullable(inner) | Shape::Optional(inner), v) => match v {
            Value::Scalar(S::Null) => Ok(()),
            v => walk(v, inner, path),
        },
        (Shape::Str, Value::Scalar(S::Str(_))) => Ok(()),
        (Shape::Id(kind), Value::Scalar(S::Str(s))) => {
            if kind.accepts(s) {
                Ok(())
            } else {
                bad(format!("is not {}", kind.name()))
            }
        }
        (Shape::OneOf(codes), Value::Scalar(S::Str(s))) => {
            if codes.contains(&s.as_str()) {
                Ok(())
            } else {
                bad(format!("is not one of {}", codes.join(", ")))
            }
        }
        (Shape::Int, Value::Scalar(S::Int(_))) => Ok(()),
        (Shape::Uint32, Value::Scalar(S::Uint(u))) if u32::try_from(*u).is_ok() => Ok(()),
        (Shape::Uint64, Value::Scalar(S::Uint(_))) => Ok(()),
        (Shape::F64, Value::Scalar(S::F64(f))) if f.is_finite() => Ok(()),
        (Shape::Bool, Value::Scalar(S::Boolean(_))) => Ok(()),
        (Shape::AnswerJson, Value::Scalar(S::Str(s))) => answer::check_json(s, path),
        (Shape::Map(fields), Value::Map(map)) => {
            for (key, field) in fields.iter() {
                let at = join(path, key);
                match map.get(key) {
                    Some(v) => walk(v, field, &at)?,
                    None if matches!(field, Shape::Optional(_)) => {}
                    None => return Err(Invalid::at(&at, "is missing".into())),
                }
            }
            Ok(())
        }
        (
            Shape::MapOf {
                key,
                value: inner,
                keyed_by,
            },
            Value::Map(map),
        ) => {
            for (k, v) in map.iter() {
                walk_entry(*key, inner, *keyed_by, k, &v.value, &join(path, k))?;
            }
            Ok(())
        }
        (Shape::List(inner), Value::List(list)) => {
            for (i, v) in list.iter().enumerate() {
                walk(&v.value, inner, &join(path, &i.to_string()))?;
            }
            Ok(())
        }
        (shape, value) => bad(format!(
            "is {}, expected {}",
            describe(value),
            expected(shape)
        )),
    }
}

/// Checks one entry `k` of a map keyed by ids (`Shape::MapOf`), found at `at`.
pub(super) fn walk_entry(
    key: IdKind,
    inner: &Shape,
    keyed_by: Option<&str>,
    k: &str,
    value: &Value,
    at: &str,
) -> Result<(), Invalid> {
    if !key.accepts(k) {
        return Err(Invalid::at(at, format!("key is not {}", key.name())));
    }
    walk(value, inner, at)?;
    if let (Some(field), Value::Map(m)) = (keyed_by, value)
        && !matches!(m.get(field), Some(Value::Scalar(S::Str(s))) if s.as_str() == k)
    {
        return Err(Invalid::at(
            &join(at, field),
            "differs from the key it is stored under".into(),
        ));
    }
    Ok(())
}

/// The shape of field `key` of a map shape, if the map names it.
pub(super) fn field<'a>(shape: &'a Shape, key: &str) -> Option<&'a Shape> {
    match shape {
        Shape::Map(fields) => fields.iter().find(|(k, _)| *k == key).map(|(_, s)| s),
        _ => None,
    }
}

/// `a/b`: the path notation of error messages and of `docs/records.md`.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}/{key}")
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Map(_) => "a map",
        Value::List(_) => "a list",
        Value::Text(_) => "a text object",
        Value::Scalar(s) => match s {
            S::Str(_) => "a string",
            S::Int(_) => "a signed int",
            S::Uint(_) => "an unsigned int",
            S::F64(f) if !f.is_finite() => "a non-finite float",
            S::F64(_) => "a float",
            S::Counter(_) => "a counter",
            S::Timestamp(_) => "a timestamp",
            S::Boolean(_) => "a boolean",
            S::Bytes(_) => "bytes",
            S::Null => "null",
            S::Unknown { .. } => "an unknown scalar type",
        },
    }
}

fn expected(shape: &Shape) -> &'static str {
    match shape {
        Shape::Str | Shape::Id(_) | Shape::OneOf(_) => "a scalar string",
        Shape::Int => "a signed int",
        Shape::Uint32 => "an unsigned int below 2^32",
        Shape::Uint64 => "an unsigned int",
        Shape::F64 => "a finite float (f64)",
        Shape::Bool => "a boolean",
        Shape::Nullable(_) | Shape::Optional(_) => "a value or null",
        Shape::Map(_) | Shape::MapOf { .. } => "a map",
        Shape::List(_) => "a list",
        Shape::AnswerJson => "a scalar string holding the answer's JSON",
    }
}
