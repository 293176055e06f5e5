//! Merging what another replica sent: a whole saved document, or changes to one we hold.

use automerge::{ActorId, AutoCommit, ChangeHash};
use rusqlite::Transaction;

use super::docs::{self, DocCache, LoadedDoc};
use super::unreadable::{self, Checked};
use super::{Store, Written, write_change};
use crate::document::{self, RecordHeader};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::record_check::Touched;
use crate::sync::wire::PulledRecord;

/// Where merged data came from; it decides whether the changes still need pushing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeOrigin {
    /// From the server: it already has them.
    Server,
    /// From another device directly: the server may not have them, so they join the outbox.
    Peer,
}

/// What a merge did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeOutcome {
    /// The record merged into.
    pub id: RecordId,
    /// How many changes were new to this store.
    pub new_changes: usize,
    /// Whether the record was new to this store.
    pub created: bool,
}

impl Store {
    /// Merges a saved document or a run of changes of one record. `expected` names the record
    /// the bytes are for, when the caller knows it (sync does); it must match the header.
    /// Garbage, a header that differs from the stored one, or changes whose history is missing
    /// are errors, and the store is left as it was.
    pub fn merge(
        &mut self,
        expected: Option<&RecordId>,
        bytes: &[u8],
        origin: MergeOrigin,
    ) -> Result<MergeOutcome> {
        let tx = self.conn.transaction()?;
        let outcome = merge_in(&tx, &mut self.docs, &self.actor, expected, bytes, origin);
        let committed = outcome.and_then(|o| Ok(tx.commit().map(|()| o)?));
        if committed.is_err() {
            // Documents in memory may hold what was rolled back: reload from disk.
            self.clear_cache();
        }
        committed
    }
}

/// Merges within the caller's transaction. On error the caller must roll back and clear the
/// cache (an in-memory document may hold part of the bad data).
pub(crate) fn merge_in(
    tx: &Transaction<'_>,
    docs: &mut DocCache,
    actor: &ActorId,
    expected: Option<&RecordId>,
    bytes: &[u8],
    origin: MergeOrigin,
) -> Result<MergeOutcome> {
    if let Some(id) = expected
        && docs::exists(tx, id)?
    {
        return merge_into(tx, docs, actor, id, bytes, origin);
    }
    docs.received_loads += 1;
    let doc = document::decode(bytes, actor.clone())?;
    let header = RecordHeader::read(&doc)?;
    if let Some(id) = expected
        && id != &header.id
    {
        return Err(Error::Malformed(format!(
            "data is for record {}, not {id}",
            header.id
        )));
    }
    if docs::exists(tx, &header.id)? {
        return merge_into(tx, docs, actor, &header.id.clone(), bytes, origin);
    }
    let mut doc = doc;
    // From the server only the count is needed: the changes' metadata gives it without making
    // the changes again, which cost a pass over the whole history (the most of taking in a new
    // record after loading it). From a peer they go to the outbox, in the changes' order.
    let all: Vec<ChangeHash> = if origin == MergeOrigin::Peer {
        doc.get_changes(&[]).iter().map(|c| c.hash()).collect()
    } else {
        doc.get_changes_meta(&[]).iter().map(|c| c.hash).collect()
    };
    let outbox: &[ChangeHash] = if origin == MergeOrigin::Peer {
        &all
    } else {
        &[]
    };
    let id = header.id.clone();
    let mut entry = LoadedDoc::received(doc, header, bytes.to_vec());
    write_change(tx, &id, &mut entry, outbox, Written::Received(None))?;
    docs.insert(id.clone(), entry);
    Ok(MergeOutcome {
        id,
        new_changes: all.len(),
        created: true,
    })
}

/// A pulled record made ready for the store away from it, on any thread: a record sent whole
/// is loaded, checked against the model and its index row read, so that merging it
/// ([`Store::merge_prepared_part`]) only writes. Whatever fails here (bytes that do not load,
/// another record's header) is left to the merge, which meets the same failure and handles it
/// as it handles every pulled record; so is a record the store turns out to hold already.
pub struct PreparedRecord {
    pub(crate) record: PulledRecord,
    pub(crate) whole: Option<PreparedWhole>,
}

/// A record received whole, loaded and checked.
pub(crate) struct PreparedWhole {
    doc: AutoCommit,
    header: RecordHeader,
    changes: usize,
    checked: Checked,
}

impl PreparedRecord {
    /// Prepares `record` for the store whose actor is `actor` ([`Store::actor_id`]).
    pub fn new(record: PulledRecord, actor: &ActorId) -> Self {
        let whole = record
            .full
            .then(|| prepare_whole(&record, actor).ok())
            .flatten();
        Self { record, whole }
    }
}

fn prepare_whole(record: &PulledRecord, actor: &ActorId) -> Result<PreparedWhole> {
    let mut doc = document::decode(&record.data, actor.clone())?;
    let header = RecordHeader::read(&doc)?;
    if header.id != record.id {
        return Err(Error::Malformed("another record's data".into()));
    }
    let changes = doc.get_changes_meta(&[]).len();
    let checked = unreadable::check_whole(&header, &doc)?;
    Ok(PreparedWhole {
        doc,
        header,
        changes,
        checked,
    })
}

/// Writes record `record`, received whole and prepared by [`PreparedRecord::new`], within
/// the caller's transaction; the store must not hold it yet. On error the caller must roll
/// back and clear the cache.
pub(crate) fn write_prepared(
    tx: &Transaction<'_>,
    docs: &mut DocCache,
    record: &PulledRecord,
    whole: PreparedWhole,
) -> Result<MergeOutcome> {
    let PreparedWhole {
        doc,
        header,
        changes,
        checked,
    } = whole;
    let id = record.id.clone();
    let mut entry = LoadedDoc::received(doc, header, record.data.to_vec());
    write_change(tx, &id, &mut entry, &[], Written::Checked(&checked))?;
    docs.insert(id.clone(), entry);
    Ok(MergeOutcome {
        id,
        new_changes: changes,
        created: true,
    })
}

/// Replaces record `id` with the whole document in `bytes` (the server's copy of a record the
/// server owns), within the caller's transaction.
pub(crate) fn replace_in(
    tx: &Transaction<'_>,
    docs: &mut DocCache,
    actor: &ActorId,
    id: &RecordId,
    bytes: &[u8],
) -> Result<()> {
    docs.received_loads += 1;
    let doc = document::decode(bytes, actor.clone())?;
    let header = RecordHeader::read(&doc)?;
    if &header.id != id {
        return Err(Error::Malformed(format!(
            "data is for record {}, not {id}",
            header.id
        )));
    }
    tracing::warn!(record = %id, "replacing a local copy with the server's");
    docs.evict(id);
    tx.execute("DELETE FROM doc_chunks WHERE doc_id = ?1", [id.as_str()])?;
    let mut entry = LoadedDoc::received(doc, header, bytes.to_vec());
    write_change(tx, id, &mut entry, &[], Written::Received(None))?;
    docs.insert(id.clone(), entry);
    Ok(())
}

fn merge_into(
    tx: &Transaction<'_>,
    docs: &mut DocCache,
    actor: &ActorId,
    id: &RecordId,
    bytes: &[u8],
    origin: MergeOrigin,
) -> Result<MergeOutcome> {
    document::check_well_formed(bytes)?;
    let entry = docs.get_or_load(tx, id, actor)?;
    let before = entry.doc.get_heads();
    let result = (|| {
        document::contained("merged data", || {
            entry
                .doc
                .load_incremental(bytes)
                .map_err(|e| Error::Malformed(e.to_string()))
        })?;
        let missing = entry.doc.get_missing_deps(&[]);
        if !missing.is_empty() {
            return Err(Error::MissingDependencies {
                id: id.to_string(),
                missing: missing.len(),
            });
        }
        let header = RecordHeader::read(&entry.doc)?;
        if header != entry.header {
            return Err(Error::WrongKind {
                id: id.to_string(),
                expected: format!("{} in {:?}", entry.header.kind, entry.header.scope),
                found: format!("{} {} in {:?}", header.kind, header.id, header.scope),
            });
        }
        let changes = entry.doc.get_changes(&before);
        let new: Vec<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
        if !new.is_empty() {
            let outbox: &[ChangeHash] = if origin == MergeOrigin::Peer {
                &new
            } else {
                &[]
            };
            let touched = Touched::of(&entry.doc, &changes);
            write_change(tx, id, entry, outbox, Written::Received(Some(&touched)))?;
        }
        Ok(MergeOutcome {
            id: id.clone(),
            new_changes: new.len(),
            created: false,
        })
    })();
    if result.is_err() {
        docs.evict(id);
    }
    result
}
