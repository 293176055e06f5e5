//! The sync service: one `POST /v1/sync` round trip, push then pull, for an authenticated
//! device. HTTP-free, so it is tested on its own; `docs/sync-protocol.md` is its contract.

mod accept;
mod compactor;
mod content;
mod doc_cache;
mod pull;
pub(crate) mod push;
mod renewal;

use std::collections::HashMap;
use std::sync::Arc;

use serde_bytes::ByteBuf;
use siteproof_core::RecordId;
use siteproof_core::sync::wire::{Cursor, SyncRequest, SyncResponse};

use crate::error::{Error, Result};
use crate::identity::visibility::{Reads, Visibility};
use crate::storage::{
    DeviceRecord, DeviceSession, FullDocument, SMALL_SCAN_ROWS, ScanQuery, ScanRow, SyncStorage,
};
use compactor::Compactor;
use content::ContentCheck;
use doc_cache::{CachedDoc, DocCache, load_current};
use pull::{Page, Step};

/// Tunables of the sync service.
#[derive(Clone, Debug)]
pub struct SyncLimits {
    /// The most record data one response carries, whatever the device asks.
    pub max_page_bytes: usize,
    /// The most records `need_full` may name.
    pub max_need_full: usize,
    /// How many records stay loaded for validating pushes.
    pub cached_docs: usize,
    /// The most records one push may hold (more: `413 payload_too_large`, push fewer per request).
    pub max_push_records: usize,
    /// A push of more records than this keeps none of them loaded: each is validated and
    /// dropped before the next is loaded, so a bulk upload holds one document at a time.
    pub keep_loaded_up_to: usize,
    /// Records (or snapshots) waiting for background compaction at most; a request that
    /// would queue more waits for room.
    pub compaction_queue: usize,
    /// Log rows read per storage round trip while building a page.
    pub scan_batch: u32,
    /// Check every pushed record whole after its changes are applied, rather than the parts
    /// of it they write. Both refuse every change that makes a readable record unreadable;
    /// whole also refuses changes to a record stored unreadable before checks existed, and
    /// costs a read of the whole record per push (kept to compare the two).
    pub check_whole_records: bool,
}

impl Default for SyncLimits {
    fn default() -> Self {
        Self {
            max_page_bytes: 8 << 20,
            max_need_full: 1000,
            cached_docs: 128,
            max_push_records: MAX_PUSH_RECORDS,
            keep_loaded_up_to: 16,
            compaction_queue: 256,
            scan_batch: 2048,
            check_whole_records: false,
        }
    }
}

impl SyncLimits {
    /// Checks what can be checked of a request before touching storage.
    pub fn check(&self, req: &SyncRequest) -> Result<()> {
        if req.push.len() > self.max_push_records {
            return Err(Error::TooManyRecords {
                records: req.push.len(),
                limit: self.max_push_records,
            });
        }
        if req.need_full.len() > self.max_need_full {
            return Err(Error::Malformed(format!(
                "need_full names {} records; at most {} per request",
                req.need_full.len(),
                self.max_need_full
            )));
        }
        Ok(())
    }
}

/// The most records one push may hold by default (the protocol's documented limit).
pub const MAX_PUSH_RECORDS: usize = 500;

/// Full documents fetched at once while building a page.
const FETCH_AHEAD: usize = 16;

/// Push and pull for devices.
pub struct SyncService {
    storage: Arc<dyn SyncStorage>,
    cache: Arc<DocCache>,
    compactor: Compactor,
    content: ContentCheck,
    limits: SyncLimits,
}

impl SyncService {
    /// A service over `storage`.
    pub fn new(storage: Arc<dyn SyncStorage>, limits: SyncLimits) -> Self {
        let cache = Arc::new(DocCache::new(limits.cached_docs));
        Self {
            cache: Arc::clone(&cache),
            compactor: Compactor::new(Arc::clone(&storage), cache, limits.compaction_queue),
            content: ContentCheck::new(Arc::clone(&storage)),
            storage,
            limits,
        }
    }

    /// Waits until the background compaction queued so far is done (for tests and tools that
    /// need settled snapshots).
    pub async fn settle(&self) {
        self.compactor.flush().await;
    }

    /// Finishes the background compaction queued so far and stops taking more.
    pub async fn close(&self) {
        self.compactor.close().await;
    }

    /// One round trip: stores the push (all of it or, on any error, none of it), then returns
    /// one page of what changed in the device's scope since its cursor. `session` is the
    /// device with its group's revoked devices, read with its token.
    pub async fn sync(&self, session: &DeviceSession, req: SyncRequest) -> Result<SyncResponse> {
        let DeviceSession { device, revoked } = session;
        // Refused before the push is stored: a refused sync stores nothing.
        self.limits.check(&req)?;
        // The push refuses their changes, and the response lists them.
        let acked = self.push(device, req.push, revoked).await?;
        let epoch = self.storage.epoch().await?;
        // The log is read from the cursor before any record is read whole: a record sent
        // whole then holds every change of it the page's rows cover.
        let (query, reset, first_rows) =
            self.start_pull(device, &epoch, req.cursor.as_ref()).await?;
        // A device without a valid cursor is treated as knowing nothing, its own changes included.
        let knows_nothing = req.cursor.is_none() || reset;
        let reads = Reads::announced(&req.reads);
        // What the device's copy covers: the kinds announced when it got its cursor. Kinds it
        // announces for the first time send their records whole (it has none of them).
        let covered = match &req.cursor {
            Some(c) if !knows_nothing => Reads::announced(&c.reads),
            _ => reads.clone(),
        };
        let need_full = self.check_need_full(device, &req.need_full, &reads).await?;
        let first_announced: Vec<RecordId> = reads
            .first_announced_records(&covered, &device.scope)
            .into_iter()
            .filter(|id| !need_full.contains(id))
            .collect();
        let budget = usize::try_from(req.max_bytes)
            .unwrap_or(usize::MAX)
            .clamp(1, self.limits.max_page_bytes);
        let mut page = Page::new(budget, reads.clone());
        for full in self.fetch_full(&need_full).await? {
            page.add_whole(&full);
        }
        let mut all_first_sent = true;
        for full in self.fetch_full(&first_announced).await? {
            all_first_sent &= page.add_whole(&full);
        }
        // The next cursor covers the newly announced kinds once their records went out.
        let cursor_reads = if all_first_sent { reads } else { covered };
        let more = self.fill(&mut page, query, first_rows).await?;
        let mut cursor = match (page.last, req.cursor) {
            (Some((seq, hash)), _) => Cursor {
                epoch,
                seq,
                check: ByteBuf::from(hash.to_vec()),
                reads: Vec::new(),
            },
            (None, Some(c)) if !reset => c,
            (None, _) => Cursor {
                epoch,
                seq: 0,
                check: ByteBuf::new(),
                reads: Vec::new(),
            },
        };
        cursor.reads = cursor_reads.codes();
        Ok(SyncResponse {
            acked,
            records: page.into_records(),
            cursor,
            more,
            reset,
            // Devices keep the list to refuse revoked teammates as peers.
            revoked: Some(revoked.clone()),
            certificate: renewal::renewed_certificate(self.storage.as_ref(), device).await?,
        })
    }

    /// Where the pull starts (the scan's query), whether the cursor had to be dropped, and
    /// the first rows of the log from there. A cursor's change is checked with those rows,
    /// in one storage call; a cursor that does not hold is dropped and the log read again
    /// from its start. After a cursor the first rows are at most [`SMALL_SCAN_ROWS`] (a
    /// device's news since its last sync, usually all of it), which SQLite reads without a
    /// hop to another thread.
    async fn start_pull(
        &self,
        device: &DeviceRecord,
        epoch: &str,
        cursor: Option<&Cursor>,
    ) -> Result<(ScanQuery, bool, Batch)> {
        let query = |after, knows_nothing: bool| ScanQuery {
            scope: device.scope.clone(),
            after,
            reader: (!knows_nothing).then(|| device.id.clone()),
        };
        let limit = self.limits.scan_batch;
        let reset = match cursor {
            None => {
                let query = query(0, true);
                let rows = self.storage.scan(&query, limit).await?;
                return Ok((query, false, Batch { rows, limit }));
            }
            Some(c) if c.epoch != epoch => true,
            Some(c) if c.seq == 0 => !c.check.is_empty(),
            Some(c) => {
                let query = query(c.seq, false);
                let small = SMALL_SCAN_ROWS.min(limit);
                let (at_cursor, rows) = self.storage.scan_from(&query, small).await?;
                if at_cursor.is_some_and(|hash| hash[..] == c.check[..]) {
                    return Ok((query, false, Batch { rows, limit: small }));
                }
                true
            }
        };
        let query = query(0, reset);
        let rows = self.storage.scan(&query, limit).await?;
        Ok((query, reset, Batch { rows, limit }))
    }

    async fn check_need_full(
        &self,
        device: &DeviceRecord,
        ids: &[RecordId],
        reads: &Reads,
    ) -> Result<Vec<RecordId>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let metas = self.storage.documents(ids).await?;
        let policy = Visibility::device(&device.scope);
        let visible: HashMap<&RecordId, bool> = metas
            .iter()
            .map(|m| {
                let readable =
                    policy.may_read_scope(&m.header.scope) && reads.receives(m.header.kind);
                (&m.header.id, readable)
            })
            .collect();
        let mut out: Vec<RecordId> = Vec::with_capacity(ids.len());
        for id in ids {
            if !visible.get(id).copied().unwrap_or(false) {
                return Err(Error::UnknownRecord { id: id.to_string() });
            }
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
        Ok(out)
    }

    /// Records' full documents (missing ones are skipped), each refreshed first when the
    /// changes after its snapshot would make the download noticeably larger than a fresh save.
    async fn fetch_full(&self, ids: &[RecordId]) -> Result<Vec<FullDocument>> {
        // Most syncs name none: no storage call then.
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut docs = self.storage.full_documents(ids).await?;
        for full in &mut docs {
            let tail: usize = full.trailing.iter().map(|c| c.data.len()).sum();
            let snapshot_len = full.snapshot.as_ref().map_or(0, Vec::len);
            if tail * 10 <= snapshot_len {
                continue;
            }
            let id = full.header.id.clone();
            let mut entry = self.cache.lock(&id).await?;
            if entry.is_none() {
                *entry = Some(CachedDoc::load(full)?);
            } else {
                load_current(self.storage.as_ref(), &id, &mut entry).await?;
            }
            let mut to_store = None;
            if let Some(cached) = entry.as_mut() {
                // Send a fresh save (made once per state of the record, however many
                // devices pull it); storing it as the snapshot happens off the request path.
                let fresh = matches!(&cached.last_save, Some((heads, _)) if *heads == cached.doc.get_heads());
                let bytes = cached.save();
                if !fresh {
                    to_store = Some((cached.seq, bytes.to_vec()));
                }
                cached.saved_as_snapshot(bytes.len());
                full.snapshot = Some(bytes.to_vec());
                full.snapshot_seq = cached.seq;
                full.trailing.clear();
            }
            // The slot is let go before queueing: the compactor locks slots to do its work.
            drop(entry);
            if let Some((seq, bytes)) = to_store {
                self.compactor.store(id, seq, bytes).await;
            }
        }
        Ok(docs)
    }

    /// Fills the page from the log, starting with `first` (the first batch `query` read);
    /// `true` if more is waiting.
    async fn fill(&self, page: &mut Page, mut query: ScanQuery, first: Batch) -> Result<bool> {
        let mut fetched: HashMap<RecordId, FullDocument> = HashMap::new();
        let mut next = Some(first);
        loop {
            let Batch { rows, limit } = match next.take() {
                Some(batch) => batch,
                None => Batch {
                    rows: self.storage.scan(&query, self.limits.scan_batch).await?,
                    limit: self.limits.scan_batch,
                },
            };
            let exhausted = rows.len() < limit as usize;
            let mut i = 0;
            while i < rows.len() {
                match page.offer(&rows[i], &fetched) {
                    Step::Covered => i += 1,
                    Step::Full => return Ok(true),
                    Step::NeedsFull => {
                        // Fetch this record and the next few new ones of the batch together.
                        let wanted: Vec<RecordId> = rows[i..]
                            .iter()
                            .filter(|r| {
                                r.new_to_reader
                                    && page.receives(r.kind)
                                    && !page.has_whole(&r.doc_id)
                            })
                            .map(|r| r.doc_id.clone())
                            .fold(Vec::new(), |mut acc, id| {
                                if acc.len() < FETCH_AHEAD && !acc.contains(&id) {
                                    acc.push(id);
                                }
                                acc
                            });
                        fetched = self
                            .fetch_full(&wanted)
                            .await?
                            .into_iter()
                            .map(|f| (f.header.id.clone(), f))
                            .collect();
                        if let Some(row) = rows.get(i)
                            && !fetched.contains_key(&row.doc_id)
                        {
                            return Err(Error::Internal(format!(
                                "record {} has no document",
                                row.doc_id
                            )));
                        }
                    }
                }
            }
            match rows.last() {
                Some(last) if !exhausted => query.after = last.seq,
                _ => return Ok(false),
            }
        }
    }
}

/// A batch of log rows read for a pull, and the most it could have held: fewer rows than that
/// means the log is read to its end.
struct Batch {
    rows: Vec<ScanRow>,
    limit: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SqliteStorage;
    use siteproof_core::model::Template;
    use siteproof_core::sync::wire::PushRecord;
    use siteproof_core::{DeviceId, Profile, Scope, Store};

    fn template() -> Template {
        serde_json::from_value(serde_json::json!({
            "id": "hops", "version": 1, "sector": "fire_safety",
            "title": {"zh": "消防检查", "en": "Fire check"},
            "source": {"document": "GB 35181", "reference": "test"},
            "items": (0..10).map(|i| serde_json::json!({
                "id": format!("i{i}"), "text": {"zh": "检查项", "en": "Item"},
                "criterion": {"document": "GB 35181", "clause": "6.1"}, "severity": "general",
                "answer": {"kind": "pass_fail"}, "evidence_required": false
            })).collect::<Vec<_>>()
        }))
        .expect("a valid template")
    }

    /// Stores the phone's template record as the office does when it publishes one.
    async fn publish(storage: &SqliteStorage, phone: &mut Store, template: &Template) {
        let id = template.record_id();
        let saved = phone.export_document(&id).expect("the template's document");
        let mut doc = automerge::AutoCommit::load(&saved).expect("loads");
        let changes = doc
            .get_changes(&[])
            .into_iter()
            .map(|c| (c.hash().0, c.raw_bytes().to_vec()))
            .collect();
        let write = crate::storage::PushWrite {
            pushed_by: None,
            records: vec![crate::storage::RecordWrite {
                header: siteproof_core::RecordHeader {
                    kind: siteproof_core::RecordKind::Template,
                    id,
                    scope: Scope::global(),
                },
                changes,
                known_through: 0,
                snapshot: None,
            }],
        };
        storage.store_push(&write).await.expect("template stored");
    }

    /// The record's pending changes as a push; acknowledged locally at once.
    fn push_of(phone: &mut Store, visit: &RecordId) -> Vec<PushRecord> {
        let pending: Vec<_> = phone
            .pending_changes(100)
            .expect("pending")
            .into_iter()
            .filter(|p| &p.id == visit)
            .collect();
        let acked: Vec<_> = pending
            .iter()
            .flat_map(|p| p.hashes.iter().map(|h| (p.id.clone(), *h)))
            .collect();
        phone.acknowledge(&acked).expect("acknowledge");
        pending
            .into_iter()
            .map(|p| PushRecord {
                id: p.id,
                changes: p.changes.into_iter().map(ByteBuf::from).collect(),
            })
            .collect()
    }

    /// A service over a fresh SQLite storage, a phone of group g1 holding the template, and
    /// its visit, stored by a first sync.
    struct Held {
        _dir: tempfile::TempDir,
        sqlite: SqliteStorage,
        service: SyncService,
        session: DeviceSession,
        phone: Store,
        visit: RecordId,
        cursor: Cursor,
    }

    impl Held {
        async fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let sqlite = SqliteStorage::open(dir.path().join("s.db")).expect("storage");
            let service = SyncService::new(Arc::new(sqlite.clone()), SyncLimits::default());
            let scope = Scope::group("hebei", "g1");
            let device = DeviceRecord {
                id: DeviceId::random(),
                name: "甲".into(),
                scope: scope.clone(),
                enrolled_at: siteproof_core::model::now(),
                revoked_at: None,
            };
            let mut phone = Store::open(dir.path().join("phone.db")).expect("store");
            phone
                .set_profile(&Profile {
                    inspector: "张三".into(),
                    scope,
                })
                .expect("profile");
            let template = template();
            phone.put_template(&template).expect("template");
            publish(&sqlite, &mut phone, &template).await;
            let visit = phone
                .create_visit(siteproof_core::NewVisit {
                    site: siteproof_core::model::Site {
                        name: "现场".into(),
                        credit_code: None,
                        address: "河北省石家庄市".into(),
                        sector: template.sector,
                    },
                    mode: siteproof_core::model::VisitMode::Covert,
                    team: vec!["检查员".into()],
                    template: siteproof_core::model::TemplateRef {
                        id: template.id.clone(),
                        version: template.version,
                    },
                    assignment: None,
                    location: None,
                })
                .expect("visit");
            let push = push_of(&mut phone, &visit);
            let session = DeviceSession {
                device,
                revoked: Vec::new(),
            };
            let first = service
                .sync(&session, request(push, None))
                .await
                .expect("first sync");
            service.settle().await;
            Self {
                _dir: dir,
                sqlite,
                service,
                session,
                phone,
                visit,
                cursor: first.cursor,
            }
        }

        /// Answers the template's ten items (notes tagged `round`), syncs them, and waits for
        /// the background compaction the sync queued.
        async fn sync_ten_answers(&mut self, round: usize) -> SyncResponse {
            for i in 0..10 {
                self.phone
                    .answer_item(
                        &self.visit,
                        &format!("i{i}").parse().expect("item"),
                        siteproof_core::AnswerInput {
                            value: siteproof_core::AnswerValue::Pass,
                            note: Some(format!("round {round} note {i}")),
                            media: vec![],
                        },
                    )
                    .expect("answer");
            }
            let push = push_of(&mut self.phone, &self.visit);
            let response = self
                .service
                .sync(&self.session, request(push, Some(self.cursor.clone())))
                .await
                .expect("sync");
            self.service.settle().await;
            assert_eq!(
                response.acked[0].hashes.len(),
                10,
                "ten changes acknowledged"
            );
            self.cursor = response.cursor.clone();
            response
        }

        /// The `seq` the record's stored snapshot covers.
        async fn snapshot_seq(&self) -> u64 {
            let full = self
                .sqlite
                .full_document(&self.visit)
                .await
                .expect("read")
                .expect("stored");
            full.snapshot_seq
        }
    }

    fn request(push: Vec<PushRecord>, cursor: Option<Cursor>) -> SyncRequest {
        SyncRequest {
            cursor,
            push,
            need_full: vec![],
            max_bytes: 1 << 20,
            reads: Vec::new(),
        }
    }

    /// Each read or write sent to another thread costs two thread wake-ups, more CPU than
    /// the lookups themselves. A sync that pushes ten answers to a record the server holds
    /// and pulls its group's news sends two: the commit and the write of the record's new
    /// snapshot (in the background). The record's row, with its changes since it was cached,
    /// and the pull's first rows (at most `SMALL_SCAN_ROWS`, the cursor's change read with
    /// them) are read where the request runs; the revoked devices come with the token's
    /// lookup in front of the service (before: eleven, two of them reads of an empty list;
    /// then three, the pull's scan the third).
    #[tokio::test]
    async fn a_sync_of_ten_answers_to_a_held_record_sends_two_storage_calls_to_other_threads() {
        let mut held = Held::new().await;
        let before = held.sqlite.thread_hops();
        held.sync_ten_answers(0).await;
        assert_eq!(
            held.sqlite.thread_hops() - before,
            2,
            "storage calls sent to other threads by the sync and its snapshot"
        );
    }

    /// The pull after a cursor first reads at most `SMALL_SCAN_ROWS` rows; a device whose
    /// cursor is further behind still gets the rest of the log in the same page.
    #[tokio::test]
    async fn a_cursor_far_behind_is_brought_to_the_end_of_the_log_in_one_page() {
        let mut held = Held::new().await;
        let behind = held.cursor.clone();
        for round in 0..20 {
            held.sync_ten_answers(round).await;
        }
        let latest = held.cursor.clone();
        let response = held
            .service
            .sync(&held.session, request(Vec::new(), Some(behind.clone())))
            .await
            .expect("sync");
        assert!(latest.seq > behind.seq + u64::from(SMALL_SCAN_ROWS));
        assert!(!response.more, "one page holds 200 changes");
        assert_eq!(
            response.cursor.seq, latest.seq,
            "the page covers the log to its end"
        );
    }

    /// What a sync of ten answers to a held visit writes to the WAL, counted in pages (each
    /// one written by the writer thread, checksummed, and copied by a checkpoint): the
    /// change rows and their three index entries, the log's counter, and the visit's
    /// snapshot when it is saved again. Twenty syncs, one commit each, wrote 254 pages
    /// (under load the syncs committed together share the pages of the log's end).
    #[tokio::test]
    async fn syncs_of_ten_answers_write_few_wal_pages_per_change() {
        let mut held = Held::new().await;
        for round in 0..10 {
            held.sync_ten_answers(round).await;
        }
        let before = held.sqlite.wal_frames_written();
        for round in 10..30 {
            held.sync_ten_answers(round).await;
        }
        let frames = held.sqlite.wal_frames_written() - before;
        assert!(
            frames <= 280,
            "{frames} WAL pages written for 200 pushed changes"
        );
    }

    /// What a pushed change costs the server must not grow with the record's history. On a
    /// visit of 300 answers, 20 more syncs of ten: the record is never loaded again (it stays
    /// cached), each sync sends its commit to another thread and nothing else,
    /// and the record is saved again (the whole record, history included) about once per
    /// quarter of its changes, not after every push as the byte rule alone did (20 saves
    /// here, one per sync, each costing more as the record grows).
    #[tokio::test]
    async fn pushes_to_a_record_with_a_long_history_do_not_save_it_whole_each_time() {
        let mut held = Held::new().await;
        for round in 0..30 {
            held.sync_ten_answers(round).await;
        }
        let mut covered = held.snapshot_seq().await;
        let before = held.sqlite.thread_hops();
        let mut saves = 0;
        for round in 30..50 {
            held.sync_ten_answers(round).await;
            let now = held.snapshot_seq().await;
            if now != covered {
                saves += 1;
                covered = now;
            }
        }
        // Each snapshot_seq() read above is one more read sent to a blocking thread.
        let hops = held.sqlite.thread_hops() - before - 20;
        assert!(
            saves <= 3,
            "the record of 300+ changes was saved {saves} times in 20 syncs of ten changes"
        );
        assert_eq!(
            hops,
            20 + saves,
            "storage calls sent to other threads: a commit per sync, one write per save"
        );
    }
}
