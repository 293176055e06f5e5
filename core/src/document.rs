//! One Automerge document per record. Every document's root carries a header: `kind`, `id`,
//! `scope` (`region`, `group`) and `schema`. The server authorises a change by the header of
//! the document it touches, so the header is written once at creation and checked after every
//! merge: a change that alters it is refused.

use std::fmt;
use std::str::FromStr;

use automerge::{ActorId, AutoCommit, AutomergeError, LoadOptions, OnPartialLoad, ROOT, ReadDoc};

use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::Scope;

/// Version of the document layout; bumped when the model changes incompatibly.
pub const DOCUMENT_SCHEMA: u64 = 1;

/// The kinds of record, each written by one side only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A site visit: written by the group's inspectors.
    Visit,
    /// A checklist template version: written by the back office.
    Template,
    /// A hazard ledger entry: written by the back office.
    Case,
    /// A push to a group: written by the back office.
    Assignment,
    /// A work update or practice collected from a group: written by the group.
    Report,
    /// A region's enterprise directory: written by the server from the office's registry.
    Directory,
}

impl RecordKind {
    /// Every kind.
    pub const ALL: [RecordKind; 6] = [
        RecordKind::Visit,
        RecordKind::Template,
        RecordKind::Case,
        RecordKind::Assignment,
        RecordKind::Report,
        RecordKind::Directory,
    ];

    /// The code stored in documents and on the wire.
    pub fn code(self) -> &'static str {
        match self {
            RecordKind::Visit => "visit",
            RecordKind::Template => "template",
            RecordKind::Case => "case",
            RecordKind::Assignment => "assignment",
            RecordKind::Report => "report",
            RecordKind::Directory => "directory",
        }
    }

    /// Whether devices of a group may write records of this kind.
    pub fn written_by_devices(self) -> bool {
        matches!(self, RecordKind::Visit | RecordKind::Report)
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for RecordKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == s)
            .ok_or_else(|| Error::Malformed(format!("unknown record kind {:?}", truncate(s))))
    }
}

/// The fixed part of every record document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    /// What kind of record.
    pub kind: RecordKind,
    /// Its id.
    pub id: RecordId,
    /// Who may read it.
    pub scope: Scope,
}

impl RecordHeader {
    /// Reads the header of a document; a document without a valid header is malformed, and
    /// so is one where concurrent histories disagree about it (two documents merged together).
    pub fn read(doc: &AutoCommit) -> Result<Self> {
        for key in ["kind", "id", "scope", "schema"] {
            if doc.get_all(ROOT, key)?.len() != 1 {
                return Err(Error::Malformed(format!(
                    "document header field {key} is missing or conflicted"
                )));
            }
        }
        let kind: String = autosurgeon::hydrate_prop(doc, ROOT, "kind")
            .map_err(|_| Error::Malformed("document has no kind".into()))?;
        let id: RecordId = autosurgeon::hydrate_prop(doc, ROOT, "id")
            .map_err(|_| Error::Malformed("document has no valid id".into()))?;
        let scope: Scope = autosurgeon::hydrate_prop(doc, ROOT, "scope")
            .map_err(|_| Error::Malformed("document has no scope".into()))?;
        Ok(Self {
            kind: kind.parse()?,
            id,
            scope,
        })
    }

    /// Starts a new document with this header, written by `actor`.
    pub fn create(&self, actor: ActorId) -> Result<AutoCommit> {
        let mut doc = AutoCommit::new().with_actor(actor);
        autosurgeon::reconcile_prop(&mut doc, ROOT, "kind", self.kind.code())?;
        autosurgeon::reconcile_prop(&mut doc, ROOT, "id", &self.id)?;
        autosurgeon::reconcile_prop(&mut doc, ROOT, "scope", &self.scope)?;
        autosurgeon::reconcile_prop(&mut doc, ROOT, "schema", DOCUMENT_SCHEMA)?;
        Ok(doc)
    }

    /// Starts a new document with this header and `value` under the root key `key` (how the
    /// back office writes its records: `template`, `case`, `assignment`), committed.
    pub fn create_with<T: autosurgeon::Reconcile>(
        &self,
        actor: ActorId,
        key: &str,
        value: &T,
    ) -> Result<AutoCommit> {
        let mut doc = self.create(actor)?;
        autosurgeon::reconcile_prop(&mut doc, ROOT, key, value)?;
        doc.commit();
        Ok(doc)
    }

    /// Fails unless the document is of `kind`.
    pub fn expect_kind(&self, kind: RecordKind) -> Result<()> {
        if self.kind == kind {
            Ok(())
        } else {
            Err(Error::WrongKind {
                id: self.id.to_string(),
                expected: kind.code().into(),
                found: self.kind.code().into(),
            })
        }
    }
}

/// Loads a saved document or a run of changes from bytes that came from outside.
/// Changes whose dependencies are missing are an error, not silently queued.
pub fn decode(bytes: &[u8], actor: ActorId) -> Result<AutoCommit> {
    if bytes.is_empty() {
        return Err(Error::Malformed("no document data".into()));
    }
    let mut doc = contained("document data", || {
        AutoCommit::load_with_options(bytes, strict()).map_err(|e| match e {
            AutomergeError::MissingDeps => {
                Error::Malformed("changes depend on history that is not included".into())
            }
            other => Error::Malformed(other.to_string()),
        })
    })?;
    if !doc.get_missing_deps(&[]).is_empty() {
        return Err(Error::Malformed(
            "changes depend on history that is not included".into(),
        ));
    }
    doc.set_actor(actor);
    Ok(doc)
}

/// Checks that bytes are whole, well-formed Automerge chunks (a document or changes),
/// without applying them. Automerge's incremental load skips a bad tail silently; data from
/// outside must fail loudly instead.
pub fn check_well_formed(bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Err(Error::Malformed("no document data".into()));
    }
    contained(
        "document data",
        || match automerge::Automerge::load_with_options(bytes, strict()) {
            Ok(_) | Err(AutomergeError::MissingDeps) => Ok(()),
            Err(e) => Err(Error::Malformed(e.to_string())),
        },
    )
}

/// Runs an Automerge call on data from outside. The library has panicked on crafted input
/// (an op naming an actor that no change in its history introduced: `unwrap` on the actor
/// lookup in 0.12.0; found by the `sync_request` fuzz target), and a panic in the server would
/// leave a half-applied document behind; here it becomes [`Error::Malformed`]. The caller must
/// drop whatever `f` was changing when this fails.
pub fn contained<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        tracing::warn!(what, "Automerge panicked on data from outside; refused");
        Err(Error::Malformed(format!(
            "{what}: not valid Automerge history"
        )))
    })
}

fn strict() -> LoadOptions<'static> {
    LoadOptions::new().on_partial_load(OnPartialLoad::Error)
}

/// The document's `schema` header field, if it is one unsigned integer.
pub fn schema_of(doc: &AutoCommit) -> Option<u64> {
    match doc.get_all(ROOT, "schema").ok()?.as_slice() {
        [(automerge::Value::Scalar(s), _)] => match s.as_ref() {
            automerge::ScalarValue::Uint(u) => Some(*u),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a document holds the header fields at all (used before trusting `read`).
pub fn has_header(doc: &AutoCommit) -> bool {
    matches!(doc.get(ROOT, "kind"), Ok(Some(_)))
}

/// Reads a visit document whole, with every item whose answers conflict (all values kept).
/// For readers outside a [`crate::Store`], such as the back office.
pub fn read_visit(
    doc: &AutoCommit,
) -> Result<(crate::model::Visit, Vec<crate::model::AnswerConflict>)> {
    Ok((
        crate::visit_doc::read(doc)?,
        crate::visit_doc::conflicts(doc)?,
    ))
}

/// The re-inspection results a visit document holds, oldest first (none for an ordinary
/// visit).
pub fn read_reinspections(doc: &AutoCommit) -> Result<Vec<crate::model::Reinspection>> {
    crate::visit_doc::reinspections(doc)
}

/// Reads an assignment document (kind `assignment`).
pub fn read_assignment(doc: &AutoCommit) -> Result<crate::model::Assignment> {
    Ok(autosurgeon::hydrate_prop(doc, ROOT, "assignment")?)
}

/// Reads a directory document (kind `directory`).
pub fn read_directory(doc: &AutoCommit) -> Result<crate::model::Directory> {
    Ok(autosurgeon::hydrate_prop(doc, ROOT, "directory")?)
}

/// Reads a collection document (kind `report`: a work update or practice).
pub fn read_collection(doc: &AutoCommit) -> Result<crate::model::Collection> {
    Ok(autosurgeon::hydrate_prop(doc, ROOT, "collection")?)
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_garbage_is_malformed() {
        let header = RecordHeader {
            kind: RecordKind::Visit,
            id: RecordId::random(),
            scope: Scope::group("hebei", "g1"),
        };
        let mut doc = header.create(ActorId::random()).expect("create");
        let bytes = doc.save();
        let loaded = decode(&bytes, ActorId::random()).expect("decode");
        assert_eq!(RecordHeader::read(&loaded).expect("header"), header);
        assert!(matches!(
            decode(b"not automerge", ActorId::random()),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            decode(&[], ActorId::random()),
            Err(Error::Malformed(_))
        ));
    }
}
