//! Visits as the office reads them: an index brought up to date from the sync log before each
//! read (only records changed since the last look are loaded), and a visit read whole from its
//! document with `siteproof_core`, conflicting answers included.

pub(super) mod pages;
pub(super) mod routes;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use automerge::ActorId;
use siteproof_core::document::{decode, read_collection, read_reinspections, read_visit};
use siteproof_core::{
    AnswerConflict, Collection, RecordHeader, RecordId, RecordKind, Reinspection, Severity,
    Template, Visit,
};

use super::rows::{
    CollectionRow, FindingRow, IndexRows, ReinspectionRow, VisitCounts, VisitFilter, VisitRow,
};
use super::{BackOffice, WebUser};
use crate::error::{Error, Result};
use crate::identity::visibility::{Unsectored, Visibility};
use crate::storage::FullDocument;

/// How many records the index loads per storage round trip.
const INDEX_BATCH: usize = 200;

/// A visit page's content.
#[derive(Clone, Debug)]
pub struct VisitDetail {
    /// The index row.
    pub row: VisitRow,
    /// The visit read from its document.
    pub visit: Visit,
    /// Items answered differently by inspectors offline (every value kept).
    pub conflicts: Vec<AnswerConflict>,
    /// The ledger entry of each finding: finding id -> (entry id, status code).
    pub cases: BTreeMap<String, (String, String)>,
    /// Media the record names whose file is not (yet) on the server.
    pub pending: BTreeSet<String>,
    /// The template version the visit was made with, if the server holds it.
    pub template: Option<Arc<Template>>,
    /// The evidence check of each file that was checked: hash -> status code
    /// (`verified`, `unverified`, `rejected`).
    pub evidence: BTreeMap<String, String>,
}

/// The code of a severity in index tables.
pub fn severity_code(s: Severity) -> &'static str {
    match s {
        Severity::Major => "major",
        Severity::General => "general",
    }
}

/// The index rows of one visit, with the re-inspection results it holds.
pub fn index_rows(visit: &Visit, conflicts: usize, results: &[Reinspection]) -> IndexRows {
    let count = |s: Severity| {
        i64::try_from(visit.findings.values().filter(|f| f.severity == s).count()).unwrap_or(0)
    };
    let row = VisitRow {
        id: visit.id.to_string(),
        region: visit.scope.region.clone(),
        group: visit.scope.group.clone(),
        site: visit.site.name.clone(),
        sector: visit.site.sector.code().into(),
        mode: visit.mode.code().into(),
        started_at: visit.started_at,
        ended_at: visit.ended_at,
        major: count(Severity::Major),
        general: count(Severity::General),
        conflicts: i64::try_from(conflicts).unwrap_or(0),
        assignment: visit.assignment.as_ref().map(ToString::to_string),
        credit_code: visit
            .site
            .credit_code
            .as_deref()
            .and_then(siteproof_core::normalize_credit_code),
    };
    let findings = visit
        .findings
        .values()
        .map(|f| FindingRow {
            id: f.id.to_string(),
            case_id: RecordId::for_finding_case(&visit.id, &f.id).to_string(),
            severity: severity_code(f.severity).into(),
            at: f.at,
            description: f.description.clone(),
            fixed_on_spot: f.fixed_on_spot,
            item: f.item.as_ref().map(ToString::to_string),
        })
        .collect();
    let results = results
        .iter()
        .map(|r| ReinspectionRow {
            id: r.id.to_string(),
            case_id: r.case.to_string(),
            visit_id: visit.id.to_string(),
            outcome: r.outcome.code().into(),
            note: r.note.clone(),
            media: r.media.iter().map(ToString::to_string).collect(),
            by: r.by.clone(),
            at: r.at,
        })
        .collect();
    IndexRows::Visit(row, findings, results)
}

/// The index row of one collection.
fn collection_row(c: &Collection, header: &RecordHeader) -> CollectionRow {
    CollectionRow {
        id: c.id.to_string(),
        region: header.scope.region.clone(),
        group: header.scope.group.clone(),
        kind: c.kind.code().into(),
        title: c.title.clone(),
        body: c.body.clone(),
        author: c.author.clone(),
        written_at: c.written_at,
    }
}

/// The index rows of a record read from the log, if it is of a kind the index keeps.
fn rows_of(full: &FullDocument) -> Option<IndexRows> {
    let doc = decode(&full.to_bytes(), ActorId::random()).ok()?;
    let read = match full.header.kind {
        RecordKind::Visit => read_visit(&doc)
            .and_then(|(visit, conflicts)| {
                let results = read_reinspections(&doc)?;
                Ok(index_rows(&visit, conflicts.len(), &results))
            })
            .map_err(|e| e.to_string()),
        RecordKind::Report => read_collection(&doc)
            .map(|c| IndexRows::Collection(collection_row(&c, &full.header)))
            .map_err(|e| e.to_string()),
        RecordKind::Case => autosurgeon::hydrate_prop(&doc, automerge::ROOT, "case")
            .map(|c| IndexRows::Case(crate::backoffice::ledger::row_of(&c, &full.header)))
            .map_err(|e| e.to_string()),
        _ => return None,
    };
    read.map_err(|e| tracing::warn!(record = %full.header.id, error = %e, "record not indexed"))
        .ok()
}

impl BackOffice {
    /// Reads every visit changed since the index last looked into the index. Another
    /// process may refresh at the same time: a store it made first moves the position, ours
    /// is then refused (our records may have been read before its), and the refresh starts
    /// again from the new position.
    pub async fn refresh_index(&self) -> Result<()> {
        let _guard = self.index_lock.lock().await;
        let index = self.storage.office_index_store();
        loop {
            let position = index.index_position().await?;
            let (last, max) = (position.indexed, position.head);
            if max <= last {
                return Ok(());
            }
            match self.index_through(last, max).await? {
                Some(true) => {
                    self.risks.changed();
                    return Ok(());
                }
                Some(false) => return Ok(()),
                None => {}
            }
        }
    }

    /// Stores the index rows of the records changed in `(last, max]` and moves the position
    /// to `max`: whether any record was indexed, or `None` when another process moved the
    /// position first.
    async fn index_through(&self, last: u64, max: u64) -> Result<Option<bool>> {
        let index = self.storage.office_index_store();
        let ids = index.changed_records(last, max).await?;
        let mut ids: Vec<RecordId> = ids.iter().filter_map(|s| s.parse().ok()).collect();
        if ids.is_empty() {
            let stored = index.store_index(&[], last, max).await?;
            return Ok(stored.then_some(false));
        }
        while !ids.is_empty() {
            let batch: Vec<RecordId> = ids.drain(..ids.len().min(INDEX_BATCH)).collect();
            let docs = self.storage.full_documents(&batch).await?;
            crate::metrics::office_index_records(docs.len());
            let rows = tokio::task::spawn_blocking(move || {
                docs.iter().filter_map(rows_of).collect::<Vec<_>>()
            })
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
            let through = if ids.is_empty() { max } else { last };
            if !index.store_index(&rows, last, through).await? {
                return Ok(None);
            }
        }
        Ok(Some(true))
    }

    /// The work updates and practices of the user's region, newest first.
    pub async fn collections(&self, user: &WebUser) -> Result<Vec<CollectionRow>> {
        self.refresh_index().await?;
        let rows = Visibility::user(user).region_rows();
        Ok(self.storage.office_index_store().collections(&rows).await?)
    }

    /// A page of the user's visits matching `filter`, and the counts over all matches.
    pub async fn visits(
        &self,
        user: &WebUser,
        filter: VisitFilter,
        page: i64,
    ) -> Result<(Vec<VisitRow>, VisitCounts)> {
        self.refresh_index().await?;
        let rows = Visibility::user(user).rows(Unsectored::Hidden);
        let offset = page.max(0) * PAGE_SIZE;
        Ok(self
            .storage
            .office_index_store()
            .visits(&rows, &filter, PAGE_SIZE, offset)
            .await?)
    }

    /// Whether the policy lets its reader see a record: a visit or a case in the index.
    pub async fn may_read_record(&self, vis: &Visibility, id: &str) -> Result<bool> {
        self.refresh_index().await?;
        let rows = vis.rows(Unsectored::Hidden);
        if self
            .storage
            .office_index_store()
            .visit(&rows, id)
            .await?
            .is_some()
        {
            return Ok(true);
        }
        let case = self.storage.case_store().case_row(&rows, id).await?;
        Ok(case.is_some())
    }

    /// One visit, or `UnknownRecord` when it does not exist or the user may not see it (the
    /// two look the same).
    pub async fn visit(&self, user: &WebUser, id: &str) -> Result<VisitDetail> {
        self.refresh_index().await?;
        let unknown = || Error::UnknownRecord { id: id.to_string() };
        let rows = Visibility::user(user).rows(Unsectored::Hidden);
        let index = self.storage.office_index_store();
        let row = index.visit(&rows, id).await?.ok_or_else(unknown)?;
        let (visit, conflicts) = self.stored_visit(id).await?;
        let cases = index
            .entries_of_visit(id)
            .await?
            .into_iter()
            .map(|e| (e.finding_id, (e.case_id, e.status)))
            .collect();
        let mut pending = BTreeSet::new();
        for hash in visit.media.values().map(|m| &m.hash) {
            let present = match &self.blobs {
                Some(blobs) => blobs
                    .blob_meta(hash)
                    .await
                    .map_err(|e| Error::Internal(format!("blob store: {e}")))?
                    .is_some(),
                None => false,
            };
            if !present {
                pending.insert(hash.to_string());
            }
        }
        let template = self.template(&visit).await;
        let evidence = self.storage.custody_store().statuses(id).await?;
        Ok(VisitDetail {
            row,
            visit,
            conflicts,
            cases,
            pending,
            template,
            evidence,
        })
    }

    /// A stored visit read whole, with its conflicting answers (the caller has checked the
    /// user may see it).
    pub(super) async fn stored_visit(&self, id: &str) -> Result<(Visit, Vec<AnswerConflict>)> {
        let full = self.full_document(id).await?;
        tokio::task::spawn_blocking(move || {
            let doc = decode(&full.to_bytes(), ActorId::random()).map_err(|e| e.to_string())?;
            read_visit(&doc).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(format!("stored visit does not read: {e}")))
    }

    /// The template version a visit names (versions never change, so they are kept once
    /// loaded). `None` when the server does not hold it or it does not read: the page then
    /// shows item ids.
    async fn template(&self, visit: &Visit) -> Option<Arc<Template>> {
        let id = RecordId::for_template(&visit.template.id, visit.template.version);
        self.template_version(id).await
    }

    /// A published template version by its record id, if the server holds it.
    pub(super) async fn template_version(&self, id: RecordId) -> Option<Arc<Template>> {
        if let Some(t) = self.templates.lock().ok()?.get(&id) {
            return Some(Arc::clone(t));
        }
        let full = self.storage.full_document(&id).await.ok()??;
        let doc = decode(&full.to_bytes(), ActorId::random()).ok()?;
        let template: Template =
            autosurgeon::hydrate_prop(&doc, automerge::ROOT, "template").ok()?;
        let template = Arc::new(template);
        self.templates
            .lock()
            .ok()?
            .insert(id, Arc::clone(&template));
        Some(template)
    }
}

/// Rows per page of the visit list.
pub const PAGE_SIZE: i64 = 50;
