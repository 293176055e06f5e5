//! Collections (三收集) from the groups: work updates and practices, each a `report` record
//! written by a group's devices in the group's scope. The third collection, the hazard ledger,
//! is the `case` records.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::ids::{MediaHash, RecordId};
use crate::model::Timestamp;

/// What a group reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum CollectionKind {
    /// 工作动态: what the group did.
    #[autosurgeon(rename = "work_update")]
    WorkUpdate,
    /// 经验做法: a practice worth sharing.
    #[autosurgeon(rename = "practice")]
    Practice,
}

impl CollectionKind {
    /// Every kind.
    pub const ALL: [CollectionKind; 2] = [CollectionKind::WorkUpdate, CollectionKind::Practice];

    /// The snake_case code used in forms and index tables.
    pub fn code(self) -> &'static str {
        match self {
            CollectionKind::WorkUpdate => "work_update",
            CollectionKind::Practice => "practice",
        }
    }

    /// Parses a code made by [`CollectionKind::code`].
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// A work update or practice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Collection {
    /// Record id.
    pub id: RecordId,
    /// Work update or practice.
    pub kind: CollectionKind,
    /// Title.
    pub title: String,
    /// The text.
    pub body: String,
    /// Who wrote it (the inspector of the writing device).
    pub author: String,
    /// When.
    pub written_at: Timestamp,
    /// Photos or documents attached to the store's media first.
    pub media: Vec<MediaHash>,
}
