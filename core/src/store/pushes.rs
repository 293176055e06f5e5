//! Pushes from the office (assignments) and collections for it (work updates, practices).

use automerge::ROOT;
use rusqlite::params;

use super::Store;
use crate::document::{RecordHeader, RecordKind};
use crate::error::{Error, Result};
use crate::ids::{MediaHash, RecordId};
use crate::model::{
    Assignment, Case, Collection, CollectionKind, GeoPoint, NewVisit, TemplateRef, VisitMode, now,
};

/// What an inspector enters to start a visit from an assignment.
#[derive(Clone, Debug, PartialEq)]
pub struct VisitFromAssignment {
    /// Covert or announced.
    pub mode: VisitMode,
    /// Names of the inspectors.
    pub team: Vec<String>,
    /// The template version to use when the assignment names none (it wins otherwise).
    pub template: Option<TemplateRef>,
    /// Where the visit starts.
    pub location: Option<GeoPoint>,
}

impl Store {
    /// Every assignment the store holds (pushed to this device's group), newest first.
    pub fn assignments(&mut self) -> Result<Vec<Assignment>> {
        let mut list: Vec<Assignment> = self
            .record_ids(RecordKind::Assignment)?
            .iter()
            .map(|id| self.assignment(id))
            .collect::<Result<_>>()?;
        list.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then(a.id.cmp(&b.id)));
        Ok(list)
    }

    /// A readable record of `kind`, loaded; `NotFound` names the kind (`what`).
    pub(super) fn loaded_record(
        &mut self,
        id: &RecordId,
        kind: RecordKind,
        what: &'static str,
    ) -> Result<&mut super::docs::LoadedDoc> {
        super::unreadable::refuse(&self.conn, id)?;
        let entry = self
            .docs
            .get_or_load(&self.conn, id, &self.actor)
            .map_err(|e| match e {
                Error::NotFound { .. } => Error::NotFound {
                    kind: what,
                    id: id.to_string(),
                },
                other => other,
            })?;
        entry.header.expect_kind(kind)?;
        Ok(entry)
    }

    /// One assignment.
    pub fn assignment(&mut self, id: &RecordId) -> Result<Assignment> {
        let entry = self.loaded_record(id, RecordKind::Assignment, "assignment")?;
        crate::document::read_assignment(&entry.doc)
    }

    /// One hazard ledger entry (`case` record) the office synced to this device's group.
    pub fn case(&mut self, id: &RecordId) -> Result<Case> {
        let entry = self.loaded_record(id, RecordKind::Case, "case")?;
        autosurgeon::hydrate_prop(&entry.doc, ROOT, "case")
            .map_err(|e| Error::Malformed(format!("case {id}: {e}")))
    }

    /// Starts a visit from an assignment: the visit takes the assignment's site and template
    /// and links back to it. An assignment that names no site cannot start a visit. A visit
    /// started from a re-inspection assignment is a re-inspection visit, which holds the
    /// results ([`Store::record_reinspection`]).
    pub fn start_visit_from_assignment(
        &mut self,
        assignment: &RecordId,
        input: VisitFromAssignment,
    ) -> Result<RecordId> {
        let pushed = self.assignment(assignment)?;
        let site = pushed.site.ok_or_else(|| {
            Error::InvalidInput(format!(
                "assignment {assignment} names no site; start the visit with its site instead"
            ))
        })?;
        let template = pushed.template.or(input.template).ok_or_else(|| {
            Error::InvalidInput(format!(
                "assignment {assignment} names no checklist; choose a template version"
            ))
        })?;
        let reinspection = pushed.kind == crate::model::AssignmentKind::Reinspection;
        let new = NewVisit {
            site,
            mode: input.mode,
            team: input.team,
            template,
            assignment: Some(assignment.clone()),
            location: input.location,
        };
        self.create_visit_of(new, reinspection)
    }

    /// Writes a work update or practice for the office, in this device's group.
    pub fn write_collection(
        &mut self,
        kind: CollectionKind,
        title: &str,
        body: &str,
        media: Vec<MediaHash>,
    ) -> Result<RecordId> {
        if title.trim().is_empty() {
            return Err(Error::InvalidInput("a collection needs a title".into()));
        }
        for hash in &media {
            if self.media_info(hash)?.is_none() {
                return Err(Error::NotFound {
                    kind: "media",
                    id: hash.to_string(),
                });
            }
        }
        let profile = self.profile()?;
        let id = RecordId::random();
        let collection = Collection {
            id: id.clone(),
            kind,
            title: title.trim().to_owned(),
            body: body.to_owned(),
            author: profile.inspector,
            written_at: now(),
            media,
        };
        let header = RecordHeader {
            kind: RecordKind::Report,
            id: id.clone(),
            scope: profile.scope,
        };
        self.create_record(header, |doc| {
            Ok(autosurgeon::reconcile_prop(
                doc,
                ROOT,
                "collection",
                &collection,
            )?)
        })?;
        Ok(id)
    }

    /// Every work update and practice the store holds (this group's), newest first.
    pub fn collections(&mut self) -> Result<Vec<Collection>> {
        let mut list = Vec::new();
        for id in self.record_ids(RecordKind::Report)? {
            let entry = self.docs.get_or_load(&self.conn, &id, &self.actor)?;
            entry.header.expect_kind(RecordKind::Report)?;
            list.push(crate::document::read_collection(&entry.doc)?);
        }
        list.sort_by(|a, b| b.written_at.cmp(&a.written_at).then(a.id.cmp(&b.id)));
        Ok(list)
    }

    pub(super) fn record_ids(&self, kind: RecordKind) -> Result<Vec<RecordId>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM records WHERE kind = ?1 AND id NOT IN (SELECT id FROM unreadable)",
        )?;
        let ids = stmt
            .query_map(params![kind.code()], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        ids.iter()
            .map(|s| {
                s.parse()
                    .map_err(|_| Error::Malformed(format!("stored record id {s:?} is not valid")))
            })
            .collect()
    }
}
