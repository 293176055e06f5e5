//! Documents on disk and in memory. On disk a document is its chunks in `doc_chunks`; in memory
//! a bounded cache keeps recently used documents loaded, so a capture costs one small chunk
//! write instead of a reload. The store has one writer, so the cache cannot go stale; after any
//! failed write the entry is evicted and the next use reloads what is on disk.

use std::collections::HashMap;

use automerge::{ActorId, AutoCommit, LoadOptions, OnPartialLoad};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::document::RecordHeader;
use crate::error::{Error, Result};
use crate::ids::RecordId;

/// A document is compacted into one snapshot when its incremental chunks outweigh its last
/// snapshot (at least this many bytes), so the cost of saving the whole document is spread
/// over as many bytes of captures: amortised, compaction costs a constant factor.
const COMPACT_MIN_BYTES: usize = 64 << 10;
/// ...or when this many chunks have piled up, to bound the work of loading.
const COMPACT_MAX_CHUNKS: u32 = 1024;
/// How many documents stay loaded.
const CACHE_CAPACITY: usize = 64;

/// A loaded document and what we know of its chunks.
pub(crate) struct LoadedDoc {
    pub doc: AutoCommit,
    pub header: RecordHeader,
    /// Heads as of the last chunk written: the next chunk holds what came after them.
    saved_heads: Vec<automerge::ChangeHash>,
    next_seq: i64,
    incremental: u32,
    incremental_bytes: usize,
    snapshot_bytes: usize,
    last_used: u64,
    /// The whole saved document `doc` was loaded from, while nothing is on disk and `doc` is
    /// as loaded: written as its first snapshot instead of a save of `doc`, which would cost
    /// a pass over the whole history to make the same document again.
    received: Option<(Vec<automerge::ChangeHash>, Vec<u8>)>,
}

impl LoadedDoc {
    /// A document that has no chunks on disk yet.
    pub fn new(doc: AutoCommit, header: RecordHeader) -> Self {
        Self {
            doc,
            header,
            saved_heads: Vec::new(),
            next_seq: 0,
            incremental: 0,
            incremental_bytes: 0,
            snapshot_bytes: 0,
            last_used: 0,
            received: None,
        }
    }

    /// A document that has no chunks on disk yet, loaded from the whole document `bytes`
    /// (which its first snapshot then is).
    pub fn received(mut doc: AutoCommit, header: RecordHeader, bytes: Vec<u8>) -> Self {
        let heads = doc.get_heads();
        Self {
            received: Some((heads, bytes)),
            ..Self::new(doc, header)
        }
    }
}

/// The bounded cache of loaded documents.
#[derive(Default)]
pub(crate) struct DocCache {
    entries: HashMap<RecordId, LoadedDoc>,
    clock: u64,
    /// Documents loaded from disk so far (each load reads and replays a whole history).
    loads: u64,
    /// Records received whole and loaded while the store was held.
    pub received_loads: u64,
}

impl DocCache {
    /// The document `id`, loaded from disk if needed.
    pub fn get_or_load(
        &mut self,
        conn: &Connection,
        id: &RecordId,
        actor: &ActorId,
    ) -> Result<&mut LoadedDoc> {
        self.clock += 1;
        if !self.entries.contains_key(id) {
            let loaded = load(conn, id, actor)?.ok_or_else(|| Error::NotFound {
                kind: "record",
                id: id.to_string(),
            })?;
            self.loads += 1;
            self.insert(id.clone(), loaded);
        }
        let entry = self.entries.get_mut(id).expect("present: inserted above");
        entry.last_used = self.clock;
        Ok(entry)
    }

    /// Puts a document in the cache, evicting the least recently used beyond capacity.
    pub fn insert(&mut self, id: RecordId, mut doc: LoadedDoc) {
        self.clock += 1;
        doc.last_used = self.clock;
        if self.entries.len() >= CACHE_CAPACITY
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
        {
            self.entries.remove(&oldest);
        }
        self.entries.insert(id, doc);
    }

    /// How many documents were loaded from disk since the cache was made.
    pub fn loads(&self) -> u64 {
        self.loads
    }

    /// The document `id` if it is loaded.
    pub fn cached(&mut self, id: &RecordId) -> Option<&mut LoadedDoc> {
        self.clock += 1;
        let entry = self.entries.get_mut(id)?;
        entry.last_used = self.clock;
        Some(entry)
    }

    /// Forgets a document, so that the next use reloads it from disk.
    pub fn evict(&mut self, id: &RecordId) {
        self.entries.remove(id);
    }
}

/// A document's chunks as stored, concatenated: a saved document Automerge loads in one go.
pub(crate) struct StoredChunks {
    pub bytes: Vec<u8>,
    next_seq: i64,
    incremental: u32,
    incremental_bytes: usize,
    snapshot_bytes: usize,
}

/// Reads a document's chunks, or `None` if the store has no such record.
pub(crate) fn read_chunks(conn: &Connection, id: &RecordId) -> Result<Option<StoredChunks>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, snapshot, data FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([id.as_str()])?;
    // One buffer, one load: applying the chunks one by one costs a pass over the document each.
    let mut chunks = StoredChunks {
        bytes: Vec::new(),
        next_seq: 0,
        incremental: 0,
        incremental_bytes: 0,
        snapshot_bytes: 0,
    };
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let snapshot: bool = row.get(1)?;
        let data = row.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?;
        chunks.bytes.extend_from_slice(data);
        chunks.next_seq = seq + 1;
        if snapshot {
            (
                chunks.incremental,
                chunks.incremental_bytes,
                chunks.snapshot_bytes,
            ) = (0, 0, data.len());
        } else {
            chunks.incremental += 1;
            chunks.incremental_bytes += data.len();
        }
    }
    Ok((!chunks.bytes.is_empty()).then_some(chunks))
}

/// Loads stored document `id` from its chunks' bytes.
pub(crate) fn load_chunks(id: &RecordId, bytes: &[u8]) -> Result<AutoCommit> {
    let options = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
    AutoCommit::load_with_options(bytes, options)
        .map_err(|e| Error::Malformed(format!("stored document {id}: {e}")))
}

/// Loads a document from its chunks, or `None` if the store has no such record.
fn load(conn: &Connection, id: &RecordId, actor: &ActorId) -> Result<Option<LoadedDoc>> {
    let Some(chunks) = read_chunks(conn, id)? else {
        return Ok(None);
    };
    let mut doc = load_chunks(id, &chunks.bytes)?;
    doc.set_actor(actor.clone());
    let header = RecordHeader::read(&doc)?;
    let saved_heads = doc.get_heads();
    Ok(Some(LoadedDoc {
        doc,
        header,
        saved_heads,
        next_seq: chunks.next_seq,
        incremental: chunks.incremental,
        incremental_bytes: chunks.incremental_bytes,
        snapshot_bytes: chunks.snapshot_bytes,
        last_used: 0,
        received: None,
    }))
}

/// Whether the store holds a record.
pub(crate) fn exists(conn: &Connection, id: &RecordId) -> Result<bool> {
    let found = conn
        .prepare_cached("SELECT 1 FROM records WHERE id = ?1")?
        .query_row([id.as_str()], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

/// Writes what changed in `entry.doc` since its last save as one chunk, compacting into a
/// snapshot when enough chunks have piled up (a new document starts as a snapshot). The old
/// chunks go in the same transaction as the snapshot is written, so a crash leaves either the
/// chunks or the snapshot, never neither.
pub(crate) fn persist_chunk(
    tx: &Transaction<'_>,
    id: &RecordId,
    entry: &mut LoadedDoc,
) -> Result<()> {
    let heads = entry.doc.get_heads();
    if heads == entry.saved_heads {
        return Ok(());
    }
    let chunk = (entry.next_seq > 0).then(|| entry.doc.save_after(&entry.saved_heads));
    let pending = entry.incremental_bytes + chunk.as_ref().map_or(0, Vec::len);
    let compact = entry.incremental + 1 >= COMPACT_MAX_CHUNKS
        || pending > entry.snapshot_bytes.max(COMPACT_MIN_BYTES);
    match chunk {
        Some(chunk) if !compact => {
            tx.prepare_cached(
                "INSERT INTO doc_chunks (doc_id, seq, snapshot, data) VALUES (?1, ?2, 0, ?3)",
            )?
            .execute(params![id.as_str(), entry.next_seq, chunk])?;
            entry.incremental += 1;
            entry.incremental_bytes += chunk.len();
        }
        _ => {
            let snapshot = match entry.received.take() {
                Some((at, bytes)) if entry.next_seq == 0 && at == heads => bytes,
                _ => entry.doc.save(),
            };
            tx.prepare_cached(
                "INSERT INTO doc_chunks (doc_id, seq, snapshot, data) VALUES (?1, ?2, 1, ?3)",
            )?
            .execute(params![id.as_str(), entry.next_seq, snapshot])?;
            // A first chunk has nothing before it to replace.
            if entry.next_seq > 0 {
                tx.prepare_cached("DELETE FROM doc_chunks WHERE doc_id = ?1 AND seq < ?2")?
                    .execute(params![id.as_str(), entry.next_seq])?;
            }
            (
                entry.incremental,
                entry.incremental_bytes,
                entry.snapshot_bytes,
            ) = (0, 0, snapshot.len());
        }
    }
    entry.next_seq += 1;
    entry.saved_heads = heads;
    Ok(())
}

/// Inserts or touches the record row.
pub(crate) fn upsert_record(tx: &Transaction<'_>, header: &RecordHeader, now: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO records (id, kind, region, grp, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at",
    )?
    .execute(params![
        header.id.as_str(),
        header.kind.code(),
        header.scope.region,
        header.scope.group,
        now
    ])?;
    Ok(())
}

/// How many chunks a document has on disk (for tests and diagnostics).
pub(crate) fn chunk_count(conn: &Connection, id: &RecordId) -> Result<(u32, u32)> {
    Ok(conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(snapshot), 0) FROM doc_chunks WHERE doc_id = ?1",
        [id.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}
