//! The device side of a sync round, without I/O: build the request from the outbox and the
//! cursor, then apply the response, in one transaction or (for a store shared with captures)
//! a part at a time ([`PulledPage`]). The HTTP client (feature `http-client`) only moves the
//! bytes.

use automerge::ChangeHash;
use serde_bytes::ByteBuf;

use super::docs::DocCache;
use super::merge::{MergeOrigin, PreparedRecord, merge_in, replace_in, write_prepared};
use super::outbox::PendingChanges;
use super::{Store, collect_pending, get_meta, outbox, set_meta};
use crate::document::RecordKind;
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::sync::wire::{
    ANNOUNCED_KINDS, Cursor, PulledRecord, PushRecord, SyncRequest, SyncResponse,
};

/// The templates a store keeps read.
type Templates = std::collections::HashMap<RecordId, std::sync::Arc<crate::model::Template>>;

/// How many records one request pushes at most; more wait for the next round.
pub(crate) const MAX_PUSH_RECORDS: usize = 100;
/// How many change bytes one request pushes at most (one record always goes, whatever its
/// size): small requests keep the server's memory and a retry's cost small on a bad link.
pub(crate) const MAX_PUSH_BYTES: usize = 512 << 10;
/// Page size asked of the server.
const PAGE_BYTES: u64 = 8 << 20;

/// What one response did to the store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundOutcome {
    /// Changes the server acknowledged (now out of the outbox).
    pub pushed: u64,
    /// Records received.
    pub pulled: u64,
    /// Records that changed here because of what was received.
    pub updated: u64,
    /// Whether the caller should run another round (more pages, outbox not drained, or
    /// records to fetch whole).
    pub again: bool,
    /// Whether that is for more to pull (more pages, records to fetch whole, a reset), not
    /// only for changes still in the outbox.
    pub more_to_pull: bool,
}

impl Store {
    /// The request for the next sync round.
    pub fn prepare_sync(&mut self) -> Result<SyncRequest> {
        let records = self.pending_records(MAX_PUSH_RECORDS)?;
        let pending =
            collect_pending(records, MAX_PUSH_BYTES, 1, |batch| self.read_pending(batch))?;
        self.request_pushing(pending)
    }

    /// The request for the next sync round pushing `pending` (read by [`collect_pending`]
    /// with [`MAX_PUSH_BYTES`]: the record that passes the limit is left for the next round,
    /// unless it is the only one).
    pub(crate) fn request_pushing(&self, pending: Vec<PendingChanges>) -> Result<SyncRequest> {
        let mut push = Vec::new();
        let mut bytes = 0;
        for p in pending {
            let size: usize = p.changes.iter().map(Vec::len).sum();
            if !push.is_empty() && bytes + size > MAX_PUSH_BYTES {
                break;
            }
            bytes += size;
            push.push(PushRecord {
                id: p.id,
                changes: p.changes.into_iter().map(ByteBuf::from).collect(),
            });
        }
        Ok(SyncRequest {
            cursor: self.sync_cursor()?,
            push,
            need_full: self.need_full()?,
            max_bytes: PAGE_BYTES,
            reads: ANNOUNCED_KINDS.iter().map(|k| (*k).to_owned()).collect(),
        })
    }

    /// Applies the server's answer to a request made by [`Store::prepare_sync`]: merges what
    /// was pulled, clears acknowledged changes from the outbox and stores the new cursor, all
    /// in one transaction. If anything fails, nothing of the response is kept and the next
    /// round starts from the same place. Acknowledgements are by hash, so applying a response
    /// late or twice is harmless.
    pub fn apply_sync_response(&mut self, response: SyncResponse) -> Result<RoundOutcome> {
        let mut applying = PulledPage::new(response);
        let records = std::mem::take(&mut applying.response.records);
        // Read before the transaction: a renewed certificate is checked against them.
        let credentials = match applying.response.certificate {
            Some(_) => Some(self.peer_credentials()?),
            None => None,
        };
        self.write_in_transaction(|tx, docs, templates, actor| {
            merge_pulled(tx, docs, templates, actor, &records, &mut applying)?;
            finish_round(tx, docs, actor, applying, credentials.as_ref())
        })
    }

    /// Merges the next `at_most` records of a pulled page (see [`PulledPage`]) in a
    /// transaction of their own; returns whether records are left. What is merged stays even
    /// if the round ends there: merging the same changes again is harmless, and the cursor
    /// moves only with [`Store::finish_pulled_page`].
    pub fn merge_pulled_part(&mut self, page: &mut PulledPage, at_most: usize) -> Result<bool> {
        let end = (page.next + at_most).min(page.response.records.len());
        let records = std::mem::take(&mut page.response.records);
        let result = self.write_in_transaction(|tx, docs, templates, actor| {
            merge_pulled(tx, docs, templates, actor, &records[page.next..end], page)
        });
        page.response.records = records;
        result?;
        page.next = end;
        Ok(page.next < page.response.records.len())
    }

    /// Merges the next records of a page whose records were taken out
    /// ([`PulledPage::take_records`]) and prepared ([`PreparedRecord::new`]), in their order,
    /// in a transaction of their own (as [`Store::merge_pulled_part`]): only the writes are
    /// left for the store, so captures wait for little more than them.
    pub fn merge_prepared_part(
        &mut self,
        page: &mut PulledPage,
        part: Vec<PreparedRecord>,
    ) -> Result<()> {
        if part.len() > page.unmerged() {
            return Err(Error::Malformed(
                "more prepared records than the page took out".into(),
            ));
        }
        let n = part.len();
        self.write_in_transaction(|tx, docs, templates, actor| {
            merge_prepared(tx, docs, templates, actor, part, page)
        })?;
        page.next += n;
        Ok(())
    }

    /// Ends a round whose records [`Store::merge_pulled_part`] merged: clears acknowledged
    /// changes from the outbox and stores the new cursor, in one transaction.
    pub fn finish_pulled_page(&mut self, mut page: PulledPage) -> Result<RoundOutcome> {
        if page.unmerged() > 0 {
            return Err(Error::Malformed(
                "a pulled page finished before all its records were merged".into(),
            ));
        }
        page.response.records.clear();
        let credentials = match page.response.certificate {
            Some(_) => Some(self.peer_credentials()?),
            None => None,
        };
        self.write_in_transaction(|tx, docs, _, actor| {
            finish_round(tx, docs, actor, page, credentials.as_ref())
        })
    }

    /// Runs `write` in a transaction of its own, committed when it succeeds; when it fails the
    /// document cache is cleared (an in-memory document may hold what was rolled back).
    fn write_in_transaction<T>(
        &mut self,
        write: impl FnOnce(
            &rusqlite::Transaction<'_>,
            &mut DocCache,
            &mut Templates,
            &automerge::ActorId,
        ) -> Result<T>,
    ) -> Result<T> {
        let result = (|| {
            let tx = self.conn.transaction()?;
            let out = write(&tx, &mut self.docs, &mut self.templates, &self.actor)?;
            tx.commit()?;
            Ok(out)
        })();
        if result.is_err() {
            self.clear_cache();
        }
        result
    }

    /// The cursor the next sync sends, if this device has synced before.
    pub fn sync_cursor(&self) -> Result<Option<Cursor>> {
        match get_meta(&self.conn, "sync_cursor")? {
            Some(json) => Ok(Some(serde_json::from_str::<CursorJson>(&json)?.try_into()?)),
            None => Ok(None),
        }
    }

    /// Puts every change of every record this device may push back in the outbox: the repair
    /// when the server lacks history our changes build on (it was restored from a backup).
    /// Re-sending is harmless: the server stores changes by hash.
    pub fn requeue_everything(&mut self) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let queued = outbox::requeue_all(&tx, &mut self.docs, &self.actor)?;
        tx.commit()?;
        Ok(queued)
    }

    /// Forgets the sync cursor, so the next sync pulls everything in scope again.
    pub fn reset_sync_cursor(&mut self) -> Result<()> {
        self.conn
            .execute("DELETE FROM meta WHERE key = 'sync_cursor'", [])?;
        Ok(())
    }

    /// Keeps the server's address and this device's token (given at enrollment).
    pub fn set_server(&mut self, url: &str, token: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        set_meta(&tx, "server_url", url)?;
        set_meta(&tx, "server_token", token)?;
        tx.commit()?;
        Ok(())
    }

    /// The server this store syncs with, if enrolled.
    pub fn server_url(&self) -> Result<Option<String>> {
        get_meta(&self.conn, "server_url")
    }

    /// The device token, if enrolled. A secret: never log it.
    pub fn server_token(&self) -> Result<Option<String>> {
        get_meta(&self.conn, "server_token")
    }

    fn need_full(&self) -> Result<Vec<RecordId>> {
        listed_need_full(&self.conn)
    }
}

/// The records listed to fetch whole.
fn listed_need_full(conn: &rusqlite::Connection) -> Result<Vec<RecordId>> {
    get_meta(conn, "sync_need_full")?
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

/// The request for the page after `response`'s, when the server said more waits: made before
/// the page is merged, so that its round trip overlaps the merge. It carries the cursor the
/// page ends on, pushes nothing and asks for nothing whole: what is listed to fetch whole
/// stays listed until it comes ([`finish_round`]), and waiting changes go up once the pull is
/// done.
#[cfg(feature = "http-client")]
pub(crate) fn next_page_request(response: &SyncResponse) -> Option<SyncRequest> {
    (response.more && !response.reset).then(|| SyncRequest {
        cursor: Some(response.cursor.clone()),
        push: Vec::new(),
        need_full: Vec::new(),
        max_bytes: PAGE_BYTES,
        reads: ANNOUNCED_KINDS.iter().map(|k| (*k).to_owned()).collect(),
    })
}

/// The cursor as stored in the meta table.
#[derive(serde::Serialize, serde::Deserialize)]
struct CursorJson {
    epoch: String,
    seq: u64,
    check: String,
    /// Absent from cursors stored before the store announced the kinds it reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    reads: Vec<String>,
}

impl From<&Cursor> for CursorJson {
    fn from(c: &Cursor) -> Self {
        Self {
            epoch: c.epoch.clone(),
            seq: c.seq,
            check: hex::encode(&c.check),
            reads: c.reads.clone(),
        }
    }
}

impl TryFrom<CursorJson> for Cursor {
    type Error = Error;
    fn try_from(c: CursorJson) -> Result<Self> {
        let check =
            hex::decode(&c.check).map_err(|_| Error::Malformed("stored sync cursor".into()))?;
        Ok(Cursor {
            epoch: c.epoch,
            seq: c.seq,
            check: ByteBuf::from(check),
            reads: c.reads,
        })
    }
}

/// A server's answer being applied a part at a time ([`Store::merge_pulled_part`], then
/// [`Store::finish_pulled_page`]), so that a shared store is held for one part at a time, not
/// for a whole page of thousands of records.
pub struct PulledPage {
    response: SyncResponse,
    /// The first record not merged yet.
    next: usize,
    /// How many records [`PulledPage::take_records`] took out, to be merged as prepared.
    taken: usize,
    out: RoundOutcome,
    need_full: Vec<RecordId>,
    /// Records the page brought whole and the store took.
    came_whole: std::collections::HashSet<RecordId>,
}

impl PulledPage {
    /// The answer to apply.
    pub fn new(response: SyncResponse) -> Self {
        Self {
            response,
            next: 0,
            taken: 0,
            out: RoundOutcome::default(),
            need_full: Vec::new(),
            came_whole: Default::default(),
        }
    }

    /// Takes the page's records out, to be made ready off the store
    /// ([`PreparedRecord::new`], on any thread) and merged in their order, a part at a time,
    /// by [`Store::merge_prepared_part`]; the round then ends with
    /// [`Store::finish_pulled_page`] as usual.
    pub fn take_records(&mut self) -> Vec<PulledRecord> {
        let records = std::mem::take(&mut self.response.records);
        self.taken += records.len();
        records
    }

    /// Records of the page not merged yet.
    fn unmerged(&self) -> usize {
        self.response.records.len().max(self.taken) - self.next
    }
}

/// Merges `records` (the pulled records or a part of them) into the store in `tx`, counting
/// them in `page`.
fn merge_pulled(
    tx: &rusqlite::Transaction<'_>,
    docs: &mut DocCache,
    templates: &mut Templates,
    actor: &automerge::ActorId,
    records: &[PulledRecord],
    page: &mut PulledPage,
) -> Result<()> {
    for record in records {
        let merged = merge_from_bytes(tx, docs, actor, record);
        take_merged(tx, docs, templates, actor, record, merged, page)?;
    }
    Ok(())
}

/// Merges a pulled record from its bytes.
fn merge_from_bytes(
    tx: &rusqlite::Transaction<'_>,
    docs: &mut DocCache,
    actor: &automerge::ActorId,
    record: &PulledRecord,
) -> Result<super::MergeOutcome> {
    merge_in(
        tx,
        docs,
        actor,
        Some(&record.id),
        &record.data,
        MergeOrigin::Server,
    )
}

/// Merges records prepared off the store ([`PreparedRecord::new`]) into the store in `tx`,
/// counting them in `page`: a record new to the store is written as prepared, any other is
/// merged from its bytes.
fn merge_prepared(
    tx: &rusqlite::Transaction<'_>,
    docs: &mut DocCache,
    templates: &mut Templates,
    actor: &automerge::ActorId,
    records: Vec<PreparedRecord>,
    page: &mut PulledPage,
) -> Result<()> {
    for PreparedRecord { record, whole } in records {
        let merged = match whole {
            Some(whole) if !super::docs::exists(tx, &record.id)? => {
                write_prepared(tx, docs, &record, whole)
            }
            _ => merge_from_bytes(tx, docs, actor, &record),
        };
        take_merged(tx, docs, templates, actor, &record, merged, page)?;
    }
    Ok(())
}

/// Counts one merged record in `page`, or takes its failure: a record whose history we lack
/// is asked for whole next round; a back-office record we hold as a copy of our own making is
/// replaced by the server's.
fn take_merged(
    tx: &rusqlite::Transaction<'_>,
    docs: &mut DocCache,
    templates: &mut Templates,
    actor: &automerge::ActorId,
    record: &PulledRecord,
    merged: Result<super::MergeOutcome>,
    page: &mut PulledPage,
) -> Result<()> {
    page.out.pulled += 1;
    match merged {
        Ok(merged) => {
            page.out.updated += u64::from(merged.new_changes > 0);
            if record.full {
                page.came_whole.insert(record.id.clone());
            }
        }
        // Our copy lacks history the changes build on: ask for the whole document.
        Err(Error::MissingDependencies { .. }) => {
            docs.evict(&record.id);
            page.need_full.push(record.id.clone());
        }
        // A back-office record (template, case, assignment) that we hold as a copy of
        // our own making, e.g. a template installed by hand before enrolling: the
        // server owns these, so its copy replaces ours (whole, or fetched whole).
        Err(Error::Malformed(_) | Error::WrongKind { .. })
            if record
                .kind
                .parse::<RecordKind>()
                .is_ok_and(|k| !k.written_by_devices()) =>
        {
            docs.evict(&record.id);
            templates.remove(&record.id);
            if record.full {
                replace_in(tx, docs, actor, &record.id, &record.data)?;
                page.out.updated += 1;
                page.came_whole.insert(record.id.clone());
            } else {
                page.need_full.push(record.id.clone());
            }
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The rest of a round, in `tx`: acknowledged changes out of the outbox, the cursor, the
/// revoked devices, a renewed certificate and the records to fetch whole.
fn finish_round(
    tx: &rusqlite::Transaction<'_>,
    docs: &mut DocCache,
    actor: &automerge::ActorId,
    page: PulledPage,
    credentials: Option<&super::PeerCredentials>,
) -> Result<RoundOutcome> {
    let PulledPage {
        response,
        mut out,
        mut need_full,
        came_whole,
        ..
    } = page;
    // What was listed before and has not come whole stays listed (a page asked for ahead,
    // `next_page_request`, asked for none of it).
    for id in listed_need_full(tx)? {
        if !came_whole.contains(&id) && !need_full.contains(&id) {
            need_full.push(id);
        }
    }
    {
        let mut stmt = tx.prepare_cached("DELETE FROM outbox WHERE doc_id = ?1 AND hash = ?2")?;
        for ack in &response.acked {
            for hash in &ack.hashes {
                let hash = ChangeHash::try_from(hash.as_slice())
                    .map_err(|_| Error::Malformed("acknowledged hash is not 32 bytes".into()))?;
                out.pushed +=
                    stmt.execute(rusqlite::params![ack.id.as_str(), hash.as_ref()])? as u64;
            }
        }
    }
    if response.reset {
        // The server lost history (or is another server): offer it everything we hold.
        tracing::warn!("server did not recognise our sync cursor; re-queueing every record");
        outbox::requeue_all(tx, docs, actor)?;
    }
    set_meta(
        tx,
        "sync_cursor",
        &serde_json::to_string(&CursorJson::from(&response.cursor))?,
    )?;
    if let Some(revoked) = &response.revoked {
        let list: Vec<&str> = revoked.iter().map(|d| d.as_str()).collect();
        set_meta(tx, "peer_revoked", &list.join(","))?;
    }
    if let (Some(certificate), Some(current)) = (&response.certificate, credentials) {
        super::peer::store_renewed_certificate(tx, current, certificate)?;
    }
    let still_needed: Vec<String> = need_full.iter().map(|id| id.to_string()).collect();
    set_meta(tx, "sync_need_full", &still_needed.join(","))?;
    let outbox_left: i64 = tx.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?;
    out.more_to_pull = response.more || !need_full.is_empty() || response.reset;
    out.again = out.more_to_pull
        // More to push, and this round made progress (a server that acknowledges nothing
        // must not keep us looping).
        || (out.pushed > 0 && outbox_left > 0);
    Ok(out)
}
