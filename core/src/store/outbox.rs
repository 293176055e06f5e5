//! The outbox: hashes of changes the server has not acknowledged. The change bytes are read
//! from the document when a sync needs them, so a capture writes its bytes once.

use std::collections::HashSet;

use automerge::{ActorId, ChangeHash};
use rusqlite::{Transaction, params};

use super::Store;
use super::docs::{self, DocCache};
use crate::document::RecordKind;
use crate::error::{Error, Result};
use crate::ids::RecordId;

/// The unacknowledged changes of one record.
#[derive(Clone, Debug)]
pub struct PendingChanges {
    /// The record.
    pub id: RecordId,
    /// Raw Automerge changes, in causal order.
    pub changes: Vec<Vec<u8>>,
    /// Their hashes, in the same order.
    pub hashes: Vec<ChangeHash>,
}

/// One record's unacknowledged changes as [`Store::read_pending`] read them.
pub(crate) struct PendingRead {
    id: RecordId,
    wanted: Vec<ChangeHash>,
    source: Source,
}

enum Source {
    /// Taken from the loaded document.
    Taken(Vec<automerge::Change>),
    /// The record's stored chunks (a saved document).
    Stored(Vec<u8>),
}

impl PendingRead {
    /// The record's pending changes in causal order: for a record read from its chunks, the
    /// Automerge work of loading it and taking them out (milliseconds a record on a phone),
    /// done without the store.
    pub fn changes(self) -> Result<PendingChanges> {
        let changes = match self.source {
            Source::Taken(changes) => changes,
            Source::Stored(bytes) => {
                let mut doc = docs::load_chunks(&self.id, &bytes)?;
                take_changes(&mut doc, &self.id, &self.wanted)?
            }
        };
        let mut pending = PendingChanges {
            id: self.id,
            changes: Vec::with_capacity(changes.len()),
            hashes: Vec::with_capacity(changes.len()),
        };
        for mut change in causal_order(changes) {
            pending.hashes.push(change.hash());
            pending.changes.push(change.bytes().into_owned());
        }
        Ok(pending)
    }
}

/// The changes `wanted` of record `id`'s document.
fn take_changes(
    doc: &mut automerge::AutoCommit,
    id: &RecordId,
    wanted: &[ChangeHash],
) -> Result<Vec<automerge::Change>> {
    wanted
        .iter()
        .map(|hash| {
            doc.get_change_by_hash(hash).ok_or_else(|| {
                Error::Malformed(format!("outbox names a change record {id} does not hold"))
            })
        })
        .collect()
}

/// The pending changes of records `ids`, in order, read [`READ_BATCH`] records at a time
/// through `read` (a step of the store: [`Store::read_pending`]) and made ready on up to
/// `workers` threads meanwhile, until their bytes pass `max_bytes` (the first record comes
/// whatever its size; the one that passes the limit is included, for the caller to leave
/// out): the records after the batch that passes it are not read.
pub(crate) fn collect_pending(
    ids: Vec<RecordId>,
    max_bytes: usize,
    workers: usize,
    mut read: impl FnMut(&[RecordId]) -> Result<Vec<PendingRead>>,
) -> Result<Vec<PendingChanges>> {
    let mut out = Vec::with_capacity(ids.len());
    let mut bytes = 0_usize;
    for batch in ids.chunks(READ_BATCH * workers.max(1)) {
        if bytes > max_bytes {
            break;
        }
        let ready = crate::parallel::map_in_order(read(batch)?, workers, PendingRead::changes);
        for pending in ready {
            let pending = pending?;
            bytes += pending.changes.iter().map(Vec::len).sum::<usize>();
            out.push(pending);
            if bytes > max_bytes {
                break;
            }
        }
    }
    Ok(out)
}

/// Records read per worker in one step of [`collect_pending`].
const READ_BATCH: usize = 4;

/// Orders changes so that each comes after those of its dependencies that are in the set
/// (a stable topological sort; the sets are small, one sync's worth).
fn causal_order(mut rest: Vec<automerge::Change>) -> Vec<automerge::Change> {
    let mut out: Vec<automerge::Change> = Vec::with_capacity(rest.len());
    let mut placed: HashSet<ChangeHash> = HashSet::new();
    let in_set: HashSet<ChangeHash> = rest.iter().map(|c| c.hash()).collect();
    while !rest.is_empty() {
        let before = rest.len();
        let mut i = 0;
        while i < rest.len() {
            let ready = rest[i]
                .deps()
                .iter()
                .all(|d| !in_set.contains(d) || placed.contains(d));
            if ready {
                let change = rest.remove(i);
                placed.insert(change.hash());
                out.push(change);
            } else {
                i += 1;
            }
        }
        if rest.len() == before {
            // A cycle cannot happen with hashes; keep what is left rather than loop.
            out.append(&mut rest);
        }
    }
    out
}

pub(crate) fn add(tx: &Transaction<'_>, id: &RecordId, hashes: &[ChangeHash]) -> Result<()> {
    let mut stmt =
        tx.prepare_cached("INSERT OR IGNORE INTO outbox (doc_id, hash) VALUES (?1, ?2)")?;
    for h in hashes {
        stmt.execute(params![id.as_str(), h.as_ref()])?;
    }
    Ok(())
}

impl Store {
    /// How many changes wait for the server.
    pub fn outbox_len(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// The unacknowledged changes, record by record, at most `max_records` records.
    pub fn pending_changes(&mut self, max_records: usize) -> Result<Vec<PendingChanges>> {
        let ids = self.pending_records(max_records)?;
        collect_pending(ids, usize::MAX, 1, |batch| self.read_pending(batch))
    }

    /// Up to `max_records` records with changes in the outbox, in the order a push takes them.
    pub(crate) fn pending_records(&self, max_records: usize) -> Result<Vec<RecordId>> {
        let mut stmt = self
            .conn
            // An unreadable record (received from a peer) would be refused by the server
            // and stop the whole push: its changes wait until it reads again.
            .prepare_cached(
                "SELECT DISTINCT doc_id FROM outbox
                 WHERE doc_id NOT IN (SELECT id FROM unreadable) LIMIT ?1",
            )?;
        let ids: Vec<String> = stmt
            .query_map([max_records as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.iter().map(|id| id.parse()).collect()
    }

    /// What the outbox holds of records `ids`, read in one short step: a record loaded in the
    /// store's cache gives its changes at once; of any other the stored chunks are read, for
    /// [`PendingRead::changes`] to load and take the changes from without the store. A record
    /// with nothing left in the outbox (acknowledged since it was listed) is left out.
    pub(crate) fn read_pending(&mut self, ids: &[RecordId]) -> Result<Vec<PendingRead>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let wanted: Vec<ChangeHash> = {
                let mut stmt = self
                    .conn
                    .prepare_cached("SELECT hash FROM outbox WHERE doc_id = ?1")?;
                let rows = stmt.query_map([id.as_str()], |r| r.get::<_, Vec<u8>>(0))?;
                let mut hashes = Vec::new();
                for raw in rows {
                    let raw = raw?;
                    hashes.push(
                        ChangeHash::try_from(raw.as_slice())
                            .map_err(|_| Error::Malformed("stored change hash".into()))?,
                    );
                }
                hashes
            };
            if wanted.is_empty() {
                // Acknowledged since it was listed (another sync's round on this store).
                continue;
            }
            let source = match self.docs.cached(id) {
                Some(entry) => Source::Taken(take_changes(&mut entry.doc, id, &wanted)?),
                None => Source::Stored(
                    docs::read_chunks(&self.conn, id)?
                        .ok_or_else(|| Error::NotFound {
                            kind: "record",
                            id: id.to_string(),
                        })?
                        .bytes,
                ),
            };
            out.push(PendingRead {
                id: id.clone(),
                wanted,
                source,
            });
        }
        Ok(out)
    }

    /// Drops acknowledged changes from the outbox.
    pub fn acknowledge(&mut self, acked: &[(RecordId, ChangeHash)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt =
                tx.prepare_cached("DELETE FROM outbox WHERE doc_id = ?1 AND hash = ?2")?;
            for (id, h) in acked {
                stmt.execute(params![id.as_str(), h.as_ref()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Puts every change of every record devices write back in the outbox: after the server lost
/// history (restored from a backup), re-sending all is harmless and repairs it.
pub(crate) fn requeue_all(
    tx: &Transaction<'_>,
    docs: &mut DocCache,
    actor: &ActorId,
) -> Result<u64> {
    let ids: Vec<String> = {
        let kinds: Vec<&str> = RecordKind::ALL
            .iter()
            .filter(|k| k.written_by_devices())
            .map(|k| k.code())
            .collect();
        let mut stmt = tx.prepare(&format!(
            "SELECT id FROM records WHERE kind IN ({})",
            kinds
                .iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(",")
        ))?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    let mut queued = 0;
    for id in ids {
        let id: RecordId = id.parse()?;
        let entry = docs.get_or_load(tx, &id, actor)?;
        let hashes: Vec<ChangeHash> = entry
            .doc
            .get_changes(&[])
            .iter()
            .map(|c| c.hash())
            .collect();
        add(tx, &id, &hashes)?;
        queued += hashes.len() as u64;
    }
    Ok(queued)
}
