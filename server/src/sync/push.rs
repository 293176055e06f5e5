//! Validating a push: every change parses, applies to the record with all its dependencies,
//! leaves the header alone, and stays within what the device may write. Nothing is stored
//! until every record of the push passed.

use std::collections::{HashMap, HashSet};

use automerge::{AutoCommit, Change, ChangeHash, ExpandedChange};
use serde_bytes::ByteBuf;
use siteproof_core::peer::authors::revoked_author;
use siteproof_core::sync::wire::PushRecord;
use siteproof_core::{DeviceId, RecordHeader, RecordId};

use super::doc_cache::CachedDoc;
use crate::error::{Error, Result};
use crate::identity::visibility::{Visibility, WriteRefusal};
use crate::storage::{DeviceRecord, DocMeta, Hash, RecordWrite};

/// One record's pushed changes, parsed.
#[derive(Clone)]
pub(crate) struct ParsedRecord {
    /// The record.
    pub id: RecordId,
    /// Its changes, deduplicated, in causal order; handed to Automerge (not copied) when
    /// applied, so empty after that.
    pub changes: Vec<Change>,
    /// The hash of each change, same order.
    pub hashes: Vec<ChangeHash>,
    /// The bytes of each change as pushed (maybe compressed), same order.
    pub bytes: Vec<Vec<u8>>,
}

/// Parses a push: groups records pushed twice, parses every change, sorts each record's
/// changes so dependencies come first.
pub(crate) fn parse(push: Vec<PushRecord>) -> Result<Vec<ParsedRecord>> {
    let mut order: Vec<RecordId> = Vec::new();
    let mut by_id: HashMap<RecordId, Vec<ByteBuf>> = HashMap::new();
    for record in push {
        match by_id.get_mut(&record.id) {
            Some(changes) => changes.extend(record.changes),
            None => {
                order.push(record.id.clone());
                by_id.insert(record.id, record.changes);
            }
        }
    }
    let mut out = Vec::with_capacity(order.len());
    for id in order {
        let raw = by_id.remove(&id).unwrap_or_default();
        if raw.is_empty() {
            return Err(Error::Malformed(format!(
                "record {id}: push holds no changes"
            )));
        }
        let mut changes = Vec::with_capacity(raw.len());
        let mut seen = HashSet::new();
        for (i, bytes) in raw.into_iter().enumerate() {
            // Contained like every Automerge call on foreign bytes (see `apply`).
            let change = siteproof_core::document::contained("a pushed change", || {
                Change::try_from(bytes.as_slice())
                    .map_err(|e| siteproof_core::Error::Malformed(e.to_string()))
            })
            .map_err(|e| {
                Error::Malformed(format!(
                    "record {id}: change {i} is not a whole Automerge change ({e})"
                ))
            })?;
            if seen.insert(change.hash()) {
                changes.push((change, bytes.into_vec()));
            }
        }
        let (changes, bytes): (Vec<Change>, _) = causal_order(&id, changes)?.into_iter().unzip();
        out.push(ParsedRecord {
            id,
            hashes: changes.iter().map(Change::hash).collect(),
            changes,
            bytes,
        });
    }
    Ok(out)
}

/// Orders changes so each comes after those of its dependencies that are in the same push
/// (the log's `seq` must respect causality: pulls page by it).
fn causal_order(id: &RecordId, changes: Vec<(Change, Vec<u8>)>) -> Result<Vec<(Change, Vec<u8>)>> {
    let hashes: HashSet<ChangeHash> = changes.iter().map(|(c, _)| c.hash()).collect();
    let mut placed: HashSet<ChangeHash> = HashSet::with_capacity(changes.len());
    let mut pending = changes;
    let mut out = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let before = out.len();
        let mut rest = Vec::new();
        for item in pending {
            let ready = item
                .0
                .deps()
                .iter()
                .all(|d| !hashes.contains(d) || placed.contains(d));
            if ready {
                placed.insert(item.0.hash());
                out.push(item);
            } else {
                rest.push(item);
            }
        }
        if out.len() == before {
            return Err(Error::Malformed(format!(
                "record {id}: changes depend on each other in a cycle"
            )));
        }
        pending = rest;
    }
    Ok(out)
}

/// Checks that the device may write a record with this header.
pub(crate) fn authorize(device: &DeviceRecord, header: &RecordHeader) -> Result<()> {
    match Visibility::device(&device.scope).check_write(header.kind, &header.scope) {
        Ok(()) => Ok(()),
        Err(WriteRefusal::Kind) => Err(Error::ForbiddenKind {
            id: header.id.to_string(),
            kind: header.kind.to_string(),
        }),
        Err(WriteRefusal::Scope) => Err(Error::ForbiddenScope {
            id: header.id.to_string(),
        }),
    }
}

/// Refuses a record whose changes new to `known` (the stored document; `None` for a record
/// the server lacks) include one written by a revoked device: a teammate relaying what it
/// learned from that device in a peer session cannot bring it in either.
pub(crate) fn refuse_revoked_authors(
    known: Option<&mut AutoCommit>,
    record: &ParsedRecord,
    revoked: &[DeviceId],
) -> Result<()> {
    // Nobody to refuse (a group's usual state): finding the new changes costs a lookup each.
    if revoked.is_empty() {
        return Ok(());
    }
    let new: Vec<&Change> = match known {
        Some(doc) => record
            .changes
            .iter()
            .filter(|c| doc.get_change_by_hash(&c.hash()).is_none())
            .collect(),
        None => record.changes.iter().collect(),
    };
    match revoked_author(new, revoked) {
        None => Ok(()),
        Some(author) => {
            tracing::warn!(record = %record.id, %author, "refused changes of a revoked device");
            Err(Error::Forbidden(
                "the push holds changes written by a revoked device",
            ))
        }
    }
}

/// Applies a pushed record's changes to its stored document (already loaded in `entry`),
/// with the changes decoded first when `decode` (for [`Touched::of_decoded`]). On error the
/// entry holds unverified data: the caller must drop it.
///
/// [`Touched::of_decoded`]: siteproof_core::record_check::Touched::of_decoded
pub(crate) fn apply_to_existing(
    device: &DeviceRecord,
    meta: &DocMeta,
    entry: &mut CachedDoc,
    record: &mut ParsedRecord,
    decode: bool,
) -> Result<(RecordWrite, Vec<ExpandedChange>)> {
    authorize(device, &meta.header)?;
    let decoded = apply(&mut entry.doc, record, decode)?;
    let header = RecordHeader::read(&entry.doc).map_err(|_| Error::HeaderChanged {
        id: record.id.to_string(),
    })?;
    if header != meta.header
        || siteproof_core::document::schema_of(&entry.doc)
            != Some(siteproof_core::document::DOCUMENT_SCHEMA)
    {
        return Err(Error::HeaderChanged {
            id: record.id.to_string(),
        });
    }
    entry.tail_len += record.bytes.iter().map(Vec::len).sum::<usize>();
    entry.changes += record.hashes.len();
    entry.tail_changes += record.hashes.len();
    Ok((write_of(header, record), decoded))
}

/// Builds a new record from its pushed changes, which must form a whole document.
pub(crate) fn create_new(
    device: &DeviceRecord,
    record: &mut ParsedRecord,
) -> Result<(CachedDoc, RecordWrite)> {
    let mut doc = AutoCommit::new();
    apply(&mut doc, record, false)?;
    let header = RecordHeader::read(&doc).map_err(|e| {
        // Name the header field that is wrong when the record layout can say which.
        match siteproof_core::record_check::check(&doc, &record.id, None) {
            Err(siteproof_core::Error::InvalidRecord { id, path, reason }) => {
                Error::InvalidRecord { id, path, reason }
            }
            _ => Error::Malformed(format!(
                "record {}: the server does not have it, and its changes do not form a record ({e})",
                record.id
            )),
        }
    })?;
    if header.id != record.id {
        return Err(Error::Malformed(format!(
            "changes pushed as record {} are for record {}",
            record.id, header.id
        )));
    }
    authorize(device, &header)?;
    let tail_len = record.bytes.iter().map(Vec::len).sum();
    let write = write_of(header, record);
    Ok((
        CachedDoc {
            doc,
            seq: 0,
            snapshot_len: 0,
            tail_len,
            changes: record.hashes.len(),
            tail_changes: record.hashes.len(),
            last_save: None,
        },
        write,
    ))
}

/// Hands the record's parsed changes to Automerge (each parsed once, never copied), decoded
/// first when `decode`.
fn apply(
    doc: &mut AutoCommit,
    record: &mut ParsedRecord,
    decode: bool,
) -> Result<Vec<ExpandedChange>> {
    let changes = std::mem::take(&mut record.changes);
    // A panic inside Automerge on crafted changes becomes `malformed`; the callers drop the
    // document on any error, so nothing half-applied stays cached.
    let decoded = siteproof_core::document::contained("pushed changes", || {
        let decoded = if decode {
            changes.iter().map(Change::decode).collect()
        } else {
            Vec::new()
        };
        doc.apply_changes(changes)
            .map_err(|e| siteproof_core::Error::Malformed(format!("changes do not apply ({e})")))?;
        Ok(decoded)
    })
    .map_err(|e| Error::Malformed(format!("record {}: {e}", record.id)))?;
    let missing = doc.get_missing_deps(&[]);
    if !missing.is_empty() {
        return Err(Error::MissingDependencies {
            id: record.id.to_string(),
            missing: missing.len(),
        });
    }
    Ok(decoded)
}

fn write_of(header: RecordHeader, record: &ParsedRecord) -> RecordWrite {
    RecordWrite {
        header,
        changes: record
            .hashes
            .iter()
            .zip(&record.bytes)
            .map(|(h, bytes)| (hash_bytes(*h), bytes.clone()))
            .collect(),
        known_through: 0,
        snapshot: None,
    }
}

/// The 32 bytes of a change hash.
pub(crate) fn hash_bytes(h: ChangeHash) -> Hash {
    h.0
}
