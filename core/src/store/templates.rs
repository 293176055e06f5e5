//! Template versions in the store. A version is written once (by the back office, or arriving
//! through sync) and never edited, so it is cached after the first read.

use std::sync::Arc;

use automerge::ROOT;

use super::{Store, index};
use crate::document::{RecordHeader, RecordKind};
use crate::error::Result;
use crate::ids::{RecordId, TemplateId};
use crate::model::{Scope, Template};

impl Store {
    /// Adds a template version (validated). Publishing the same id and version twice is an
    /// error: versions are immutable, a change is a new version.
    pub fn put_template(&mut self, template: &Template) -> Result<RecordId> {
        template.validate()?;
        let id = template.record_id();
        let header = RecordHeader {
            kind: RecordKind::Template,
            id: id.clone(),
            scope: Scope::global(),
        };
        self.create_record(header, |doc| {
            Ok(autosurgeon::reconcile_prop(
                doc, ROOT, "template", template,
            )?)
        })?;
        Ok(id)
    }

    /// One template version.
    pub fn template(&mut self, id: &TemplateId, version: u32) -> Result<Arc<Template>> {
        let record = RecordId::for_template(id, version);
        if let Some(t) = self.templates.get(&record) {
            return Ok(Arc::clone(t));
        }
        let entry = self.loaded_record(&record, RecordKind::Template, "template")?;
        let template: Arc<Template> =
            Arc::new(autosurgeon::hydrate_prop(&entry.doc, ROOT, "template")?);
        self.templates.insert(record, Arc::clone(&template));
        Ok(template)
    }

    /// Every template version the store holds.
    pub fn list_templates(&self) -> Result<Vec<index::TemplateSummary>> {
        index::list_templates(&self.conn)
    }
}
