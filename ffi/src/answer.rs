//! Answers to checklist items and the conflicts between concurrent ones, as uniffi records.

use siteproof_core as core;

use crate::error::ApiError;
use crate::visit::parse_all;

/// The value of one answer.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum AnswerValue {
    /// The item is met.
    Pass,
    /// The item is not met: a hazard.
    Fail,
    /// The item does not apply to this site.
    NotApplicable,
    /// A measurement.
    Number {
        /// The measured value (finite).
        value: f64,
    },
    /// Free text.
    Text {
        /// The text.
        value: String,
    },
    /// One of the item's choices.
    Choice {
        /// The choice.
        value: String,
    },
}

/// What the inspector enters for one item.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct AnswerInput {
    /// The value.
    pub value: AnswerValue,
    /// A note.
    #[uniffi(default = None)]
    pub note: Option<String>,
    /// Hashes of evidence already attached to the visit.
    #[uniffi(default)]
    pub media: Vec<String>,
}

/// One answer, with who gave it and when.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Answer {
    /// The value.
    pub value: AnswerValue,
    /// The inspector's note.
    pub note: Option<String>,
    /// Hashes of the evidence attached to this answer.
    pub media: Vec<String>,
    /// Inspector's name.
    pub by: String,
    /// Device that recorded it.
    pub device: String,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
}

/// Concurrent answers to one item from different devices, all kept. The next answer to the
/// item resolves the conflict.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct AnswerConflict {
    /// The item id.
    pub item: String,
    /// Every concurrent answer; the first is the one `Visit.answers` shows.
    pub answers: Vec<Answer>,
}

impl From<core::AnswerValue> for AnswerValue {
    fn from(v: core::AnswerValue) -> Self {
        match v {
            core::AnswerValue::Pass => Self::Pass,
            core::AnswerValue::Fail => Self::Fail,
            core::AnswerValue::NotApplicable => Self::NotApplicable,
            core::AnswerValue::Number(value) => Self::Number { value },
            core::AnswerValue::Text(value) => Self::Text { value },
            core::AnswerValue::Choice(value) => Self::Choice { value },
        }
    }
}

impl From<AnswerValue> for core::AnswerValue {
    fn from(v: AnswerValue) -> Self {
        match v {
            AnswerValue::Pass => Self::Pass,
            AnswerValue::Fail => Self::Fail,
            AnswerValue::NotApplicable => Self::NotApplicable,
            AnswerValue::Number { value } => Self::Number(value),
            AnswerValue::Text { value } => Self::Text(value),
            AnswerValue::Choice { value } => Self::Choice(value),
        }
    }
}

impl TryFrom<AnswerInput> for core::AnswerInput {
    type Error = ApiError;
    fn try_from(a: AnswerInput) -> Result<Self, ApiError> {
        Ok(Self {
            value: a.value.into(),
            note: a.note,
            media: parse_all(a.media)?,
        })
    }
}

impl From<core::Answer> for Answer {
    fn from(a: core::Answer) -> Self {
        Self {
            value: a.value.into(),
            note: a.note,
            media: a.media.into_iter().map(Into::into).collect(),
            by: a.by,
            device: a.device.into(),
            at: a.at,
        }
    }
}

impl From<core::AnswerConflict> for AnswerConflict {
    fn from(c: core::AnswerConflict) -> Self {
        Self {
            item: c.item.into(),
            answers: c.answers.into_iter().map(Into::into).collect(),
        }
    }
}
