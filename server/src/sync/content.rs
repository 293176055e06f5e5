//! The content check of a push: every pushed record, with its changes applied, must read as
//! the model (`docs/records.md`), and a visit's answers must fit the items of the template
//! version it names when the server holds that version. One device's unreadable record would
//! otherwise be pulled by every device of its group and stop their syncs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use automerge::{AutoCommit, ROOT};
use siteproof_core::model::Template;
use siteproof_core::record_check::Touched;
use siteproof_core::{RecordId, record_check};

use super::doc_cache::CachedDoc;
use crate::error::{Error, Result};
use crate::storage::SyncStorage;

/// Template versions kept loaded at most (a server holds tens).
const TEMPLATES_KEPT: usize = 256;

/// Checks pushed records; keeps the template versions it has read (they never change once
/// published).
pub(crate) struct ContentCheck {
    storage: Arc<dyn SyncStorage>,
    templates: Mutex<HashMap<RecordId, Arc<Template>>>,
}

impl ContentCheck {
    /// A check reading template versions from `storage`.
    pub fn new(storage: Arc<dyn SyncStorage>) -> Self {
        Self {
            storage,
            templates: Mutex::new(HashMap::new()),
        }
    }

    /// Fails with [`Error::InvalidRecord`] unless record `id`'s document reads as the model in
    /// the parts `touched` names (a stored record passed before; see [`Touched`]).
    pub async fn check(&self, doc: &AutoCommit, id: &RecordId, touched: &Touched) -> Result<()> {
        let template = match record_check::visit_template(doc) {
            Some(template_id) if touched.reaches_answers() => self.template(&template_id).await?,
            _ => None,
        };
        record_check::check_update(doc, id, template.as_deref(), touched).map_err(|e| match e {
            siteproof_core::Error::InvalidRecord { id, path, reason } => {
                Error::InvalidRecord { id, path, reason }
            }
            other => Error::Malformed(format!("record {id}: {other}")),
        })
    }

    /// The template version with record id `id`, if the server holds a readable one.
    async fn template(&self, id: &RecordId) -> Result<Option<Arc<Template>>> {
        if let Some(t) = self.cached(id) {
            return Ok(Some(t));
        }
        let Some(full) = self
            .storage
            .full_documents(std::slice::from_ref(id))
            .await?
            .pop()
        else {
            return Ok(None);
        };
        let loaded = CachedDoc::load(&full)?;
        let Ok(template) =
            autosurgeon::hydrate_prop::<_, Template, _, _>(&loaded.doc, ROOT, "template")
        else {
            // Published templates are read by every phone; one that is not readable here is
            // a back-office fault, and visits made with it are checked without it.
            tracing::warn!(record = %id, "stored template is not readable");
            return Ok(None);
        };
        let template = Arc::new(template);
        if let Ok(mut cache) = self.templates.lock() {
            // The id comes from a pushed record: a bound, in case stored records that read
            // as templates are many. Versions never change, so a cleared one is read again.
            if cache.len() >= TEMPLATES_KEPT {
                cache.clear();
            }
            cache.insert(id.clone(), Arc::clone(&template));
        }
        Ok(Some(template))
    }

    fn cached(&self, id: &RecordId) -> Option<Arc<Template>> {
        self.templates.lock().ok()?.get(id).cloned()
    }
}
