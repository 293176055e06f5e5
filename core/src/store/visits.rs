//! Capturing visits: create, answer, find, attach, finish, read.

use std::collections::BTreeMap;

use super::{Store, index};
use crate::document::{RecordHeader, RecordKind};
use crate::error::{Error, Result};
use crate::ids::{FindingId, ItemId, MediaHash, RecordId};
use crate::model::{
    Answer, AnswerConflict, AnswerValue, Finding, MediaRef, NewFinding, NewVisit, TemplateItem,
    Visit, VisitSummary, now,
};
use crate::record_check::check_value;
use crate::visit_doc;

/// What the inspector enters for one item.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerInput {
    /// The value.
    pub value: AnswerValue,
    /// A note.
    pub note: Option<String>,
    /// Evidence already attached to the visit.
    pub media: Vec<MediaHash>,
}

impl Store {
    /// Starts a visit in this device's scope, with a template version the store holds.
    pub fn create_visit(&mut self, new: NewVisit) -> Result<RecordId> {
        self.create_visit_of(new, false)
    }

    /// Starts a visit; a re-inspection visit gets its `reinspections` map at creation.
    pub(super) fn create_visit_of(
        &mut self,
        new: NewVisit,
        reinspection: bool,
    ) -> Result<RecordId> {
        self.template(&new.template.id, new.template.version)?;
        let profile = self.profile()?;
        let id = RecordId::random();
        let visit = Visit {
            id: id.clone(),
            scope: profile.scope.clone(),
            site: new.site,
            mode: new.mode,
            team: new.team,
            template: new.template,
            assignment: new.assignment,
            started_at: now(),
            ended_at: None,
            location: new.location,
            answers: BTreeMap::new(),
            findings: BTreeMap::new(),
            media: BTreeMap::new(),
        };
        let header = RecordHeader {
            kind: RecordKind::Visit,
            id: id.clone(),
            scope: profile.scope,
        };
        self.create_record(header, |doc| {
            autosurgeon::reconcile(doc, &visit)?;
            if reinspection {
                visit_doc::start_reinspections(doc)?;
            }
            Ok(())
        })?;
        Ok(id)
    }

    /// Answers (or re-answers) one checklist item.
    pub fn answer_item(
        &mut self,
        visit: &RecordId,
        item: &ItemId,
        input: AnswerInput,
    ) -> Result<()> {
        let template_item = self.template_item(visit, item)?;
        check_value(&template_item, &input.value)?;
        let profile = self.profile()?;
        let answer = Answer {
            value: input.value,
            note: input.note,
            media: input.media,
            by: profile.inspector,
            device: self.device.clone(),
            at: now(),
        };
        self.edit_record(visit, RecordKind::Visit, |doc| {
            require_media(doc, visit, &answer.media)?;
            visit_doc::put_answer(doc, item, &answer)
        })
    }

    /// Records a finding (a hazard) and returns its id.
    pub fn add_finding(&mut self, visit: &RecordId, new: NewFinding) -> Result<FindingId> {
        if let Some(item) = &new.item {
            self.template_item(visit, item)?;
        }
        let profile = self.profile()?;
        let finding = Finding {
            id: FindingId::random(),
            description: new.description,
            severity: new.severity,
            item: new.item,
            location: new.location,
            media: new.media,
            fixed_on_spot: new.fixed_on_spot,
            interim_measures: new.interim_measures,
            by: profile.inspector,
            device: self.device.clone(),
            at: now(),
        };
        self.edit_record(visit, RecordKind::Visit, |doc| {
            require_media(doc, visit, &finding.media)?;
            visit_doc::put_finding(doc, &finding)
        })?;
        Ok(finding.id)
    }

    /// Attaches a media reference (the file itself lives in the media store).
    /// A reference this device captured is signed here if the device has its evidence key.
    pub fn attach_media(&mut self, visit: &RecordId, media: &MediaRef) -> Result<()> {
        let media = self.signed_for(visit, media)?;
        self.edit_record(visit, RecordKind::Visit, |doc| {
            visit_doc::put_media(doc, &media)
        })
    }

    /// Marks the visit finished now.
    pub fn finish_visit(&mut self, visit: &RecordId) -> Result<()> {
        self.edit_record(visit, RecordKind::Visit, |doc| {
            visit_doc::put_ended(doc, now())
        })
    }

    /// Every visit, newest first, from the index (no document is loaded).
    pub fn list_visits(&self) -> Result<Vec<VisitSummary>> {
        index::list_visits(&self.conn)
    }

    /// One whole visit.
    pub fn visit(&mut self, id: &RecordId) -> Result<Visit> {
        super::unreadable::refuse(&self.conn, id)?;
        let entry = self.docs.get_or_load(&self.conn, id, &self.actor)?;
        entry.header.expect_kind(RecordKind::Visit)?;
        visit_doc::read(&entry.doc)
    }

    /// Items of a visit answered differently by concurrent captures, with every answer kept.
    pub fn conflicts(&mut self, id: &RecordId) -> Result<Vec<AnswerConflict>> {
        super::unreadable::refuse(&self.conn, id)?;
        let entry = self.docs.get_or_load(&self.conn, id, &self.actor)?;
        entry.header.expect_kind(RecordKind::Visit)?;
        visit_doc::conflicts(&entry.doc)
    }

    /// The template item `item` of the template that `visit` uses.
    fn template_item(&mut self, visit: &RecordId, item: &ItemId) -> Result<TemplateItem> {
        let entry = self.docs.get_or_load(&self.conn, visit, &self.actor)?;
        entry.header.expect_kind(RecordKind::Visit)?;
        let tref = visit_doc::template_ref(&entry.doc)?;
        let template = self.template(&tref.id, tref.version)?;
        template
            .item(item)
            .cloned()
            .ok_or_else(|| Error::UnknownItem {
                item: item.to_string(),
                template: template.record_id().to_string(),
            })
    }
}

pub(super) fn require_media(
    doc: &automerge::AutoCommit,
    visit: &RecordId,
    media: &[MediaHash],
) -> Result<()> {
    for hash in media {
        if !visit_doc::has_media(doc, hash)? {
            return Err(Error::UnknownMedia {
                hash: hash.to_string(),
                visit: visit.to_string(),
            });
        }
    }
    Ok(())
}
