//! Checklist templates: versioned lists of items derived from the official major-hazard
//! criteria (重大隐患判定标准) and key check items (重点检查事项).
//!
//! A template version is immutable once published: its record id is
//! `template:<id>@<version>`, and a visit names the exact version it was made with.

use std::collections::HashSet;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::{ItemId, RecordId, TemplateId};
use crate::model::{LocalizedText, Sector, Severity};

/// Where an item's requirement comes from: a document and a clause in it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// The source document, e.g. 《煤矿重大事故隐患判定标准》.
    pub document: String,
    /// The clause within it, e.g. 第三条.
    pub clause: String,
}

/// The source a whole template is drawn from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(deny_unknown_fields)]
pub struct TemplateSource {
    /// Document title.
    pub document: String,
    /// Issuing reference (文号) or standard number.
    pub reference: String,
}

/// What kind of answer an item takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerKind {
    /// Pass, fail or not applicable.
    #[autosurgeon(rename = "pass_fail")]
    PassFail,
    /// A measured number, with an optional unit.
    #[autosurgeon(rename = "number")]
    Number {
        /// Unit of the measurement, e.g. `%LEL`.
        #[serde(default)]
        unit: Option<String>,
    },
    /// Free text.
    #[autosurgeon(rename = "text")]
    Text,
    /// One of a fixed set of choices.
    #[autosurgeon(rename = "choice")]
    Choice {
        /// The allowed choices.
        choices: Vec<String>,
    },
}

/// One checklist item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(deny_unknown_fields)]
pub struct TemplateItem {
    /// Unique within the template.
    pub id: ItemId,
    /// What the inspector checks.
    pub text: LocalizedText,
    /// The criterion the item comes from.
    pub criterion: Criterion,
    /// Severity of the hazard when the item fails.
    pub severity: Severity,
    /// The kind of answer.
    pub answer: AnswerKind,
    /// Whether a failed item must carry photo or video evidence.
    pub evidence_required: bool,
}

/// A versioned checklist template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Stable id across versions.
    pub id: TemplateId,
    /// Version number, from 1.
    pub version: u32,
    /// Title.
    pub title: LocalizedText,
    /// The sector the template is for.
    pub sector: Sector,
    /// Source document.
    pub source: TemplateSource,
    /// The items, in display order.
    pub items: Vec<TemplateItem>,
}

impl Template {
    /// The record id of this version.
    pub fn record_id(&self) -> RecordId {
        RecordId::for_template(&self.id, self.version)
    }

    /// Looks an item up by id.
    pub fn item(&self, id: &ItemId) -> Option<&TemplateItem> {
        self.items.iter().find(|i| &i.id == id)
    }

    /// Checks what serde cannot: a version from 1, at least one item, unique item ids,
    /// texts and criteria filled in, choices non-empty.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |reason: String| {
            Err(Error::InvalidTemplate {
                id: self.id.to_string(),
                reason,
            })
        };
        if self.version == 0 {
            return bad("version must be at least 1".into());
        }
        if self.items.is_empty() {
            return bad("a template needs at least one item".into());
        }
        let mut seen = HashSet::new();
        for item in &self.items {
            if !seen.insert(&item.id) {
                return bad(format!("item id {} appears twice", item.id));
            }
            if item.text.zh.trim().is_empty() || item.text.en.trim().is_empty() {
                return bad(format!("item {} lacks zh or en text", item.id));
            }
            if item.criterion.document.trim().is_empty() || item.criterion.clause.trim().is_empty()
            {
                return bad(format!(
                    "item {} lacks its criterion document or clause",
                    item.id
                ));
            }
            if let AnswerKind::Choice { choices } = &item.answer
                && choices.is_empty()
            {
                return bad(format!("item {} is a choice with no choices", item.id));
            }
        }
        Ok(())
    }
}
