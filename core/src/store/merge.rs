//! Merging what another replica sent: a whole saved document, or changes to one we hold.

use automerge::ChangeHash;

use super::docs::{self, LoadedDoc};
use super::{Store, write_change};
use crate::document::{self, RecordHeader};
use crate::error::{Error, Result};
use crate::ids::RecordId;

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
        let known = match expected {
            Some(id) => docs::exists(&self.conn, id)?.then(|| id.clone()),
            None => None,
        };
        match known {
            Some(id) => self.merge_into(&id, bytes, origin),
            None => self.merge_new(expected, bytes, origin),
        }
    }

    fn merge_new(
        &mut self,
        expected: Option<&RecordId>,
        bytes: &[u8],
        origin: MergeOrigin,
    ) -> Result<MergeOutcome> {
        let mut doc = document::decode(bytes, self.actor.clone())?;
        let header = RecordHeader::read(&doc)?;
        if let Some(id) = expected
            && id != &header.id
        {
            return Err(Error::Malformed(format!(
                "data is for record {}, not {id}",
                header.id
            )));
        }
        if docs::exists(&self.conn, &header.id)? {
            return self.merge_into(&header.id.clone(), bytes, origin);
        }
        let all: Vec<ChangeHash> = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let outbox: &[ChangeHash] = if origin == MergeOrigin::Peer {
            &all
        } else {
            &[]
        };
        let id = header.id.clone();
        let mut entry = LoadedDoc::new(doc, header);
        let tx = self.conn.transaction()?;
        write_change(&tx, &id, &mut entry, outbox)?;
        tx.commit()?;
        self.docs.insert(id.clone(), entry);
        Ok(MergeOutcome {
            id,
            new_changes: all.len(),
            created: true,
        })
    }

    fn merge_into(
        &mut self,
        id: &RecordId,
        bytes: &[u8],
        origin: MergeOrigin,
    ) -> Result<MergeOutcome> {
        let result = self.try_merge_into(id, bytes, origin);
        if result.is_err() {
            // The in-memory document may hold part of the bad data: reload from disk next time.
            self.docs.evict(id);
        }
        result
    }

    fn try_merge_into(
        &mut self,
        id: &RecordId,
        bytes: &[u8],
        origin: MergeOrigin,
    ) -> Result<MergeOutcome> {
        document::check_well_formed(bytes)?;
        let entry = self.docs.get_or_load(&self.conn, id, &self.actor)?;
        let before = entry.doc.get_heads();
        entry
            .doc
            .load_incremental(bytes)
            .map_err(|e| Error::Malformed(e.to_string()))?;
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
        let new: Vec<ChangeHash> = entry
            .doc
            .get_changes(&before)
            .iter()
            .map(|c| c.hash())
            .collect();
        if new.is_empty() {
            return Ok(MergeOutcome {
                id: id.clone(),
                new_changes: 0,
                created: false,
            });
        }
        let outbox: &[ChangeHash] = if origin == MergeOrigin::Peer {
            &new
        } else {
            &[]
        };
        let tx = self.conn.transaction()?;
        write_change(&tx, id, entry, outbox)?;
        tx.commit()?;
        Ok(MergeOutcome {
            id: id.clone(),
            new_changes: new.len(),
            created: false,
        })
    }
}
