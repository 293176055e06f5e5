//! Building one page of a pull: walk the log in `seq` order from the cursor, sending each
//! record the device has never seen whole (once per page) and the changes of the others,
//! until the byte budget is spent. The cursor ends on the last change the page covers, so
//! paging by `seq` never skips a dependency.

use std::collections::{HashMap, HashSet};

use serde_bytes::ByteBuf;
use siteproof_core::sync::wire::PulledRecord;
use siteproof_core::{RecordId, RecordKind};

use crate::identity::visibility::Reads;
use crate::storage::{FullDocument, Hash, ScanRow};

/// What the page does with a row.
pub(crate) enum Step {
    /// Included, or nothing to send for it: the page covers it.
    Covered,
    /// The record must go whole, and its full document is not fetched yet.
    NeedsFull,
    /// The budget is spent: the page ends before this row.
    Full,
}

/// One page being built.
pub(crate) struct Page {
    budget: usize,
    bytes: usize,
    records: Vec<PulledRecord>,
    index: HashMap<RecordId, usize>,
    whole: HashSet<RecordId>,
    /// The kinds the device reads; rows of the others are passed over.
    reads: Reads,
    /// The last row the page covers: the next cursor.
    pub last: Option<(u64, Hash)>,
}

impl Page {
    /// An empty page of at most `budget` bytes of record data (a first record always fits),
    /// for a device reading `reads`.
    pub fn new(budget: usize, reads: Reads) -> Self {
        Self {
            budget,
            bytes: 0,
            records: Vec::new(),
            index: HashMap::new(),
            whole: HashSet::new(),
            reads,
            last: None,
        }
    }

    /// Adds a record whole (from `need_full`, or a record new to the device). `false` if it does
    /// not fit; it is then not added.
    pub fn add_whole(&mut self, full: &FullDocument) -> bool {
        let len = full.byte_len();
        if !self.fits(len) {
            return false;
        }
        let id = full.header.id.clone();
        let record = PulledRecord {
            id: id.clone(),
            kind: full.header.kind.code().to_string(),
            full: true,
            data: ByteBuf::from(full.to_bytes()),
        };
        // Changes of it gathered earlier in this page are inside the whole document.
        match self.index.get(&id) {
            Some(&i) => {
                self.bytes -= self.records[i].data.len();
                self.records[i] = record;
            }
            None => {
                self.index.insert(id.clone(), self.records.len());
                self.records.push(record);
            }
        }
        self.bytes += len;
        self.whole.insert(id);
        true
    }

    /// Whether the page already has the record whole.
    pub fn has_whole(&self, id: &RecordId) -> bool {
        self.whole.contains(id)
    }

    /// Whether the device reads records of `kind`.
    pub fn receives(&self, kind: RecordKind) -> bool {
        self.reads.receives(kind)
    }

    /// Takes one row of the scan. `fetched` holds full documents fetched for this page.
    pub fn offer(&mut self, row: &ScanRow, fetched: &HashMap<RecordId, FullDocument>) -> Step {
        if self.has_whole(&row.doc_id) || !self.receives(row.kind) {
            self.last = Some((row.seq, row.hash));
            return Step::Covered;
        }
        if row.new_to_reader {
            let Some(full) = fetched.get(&row.doc_id) else {
                return Step::NeedsFull;
            };
            if !self.add_whole(full) {
                return Step::Full;
            }
        } else if let Some(data) = &row.data
            && !row.pushed_by_reader
        {
            if !self.fits(data.len()) {
                return Step::Full;
            }
            self.append_change(&row.doc_id, row.kind, data);
        }
        self.last = Some((row.seq, row.hash));
        Step::Covered
    }

    fn append_change(&mut self, id: &RecordId, kind: RecordKind, data: &[u8]) {
        self.bytes += data.len();
        match self.index.get(id) {
            Some(&i) => self.records[i].data.extend_from_slice(data),
            None => {
                self.index.insert(id.clone(), self.records.len());
                self.records.push(PulledRecord {
                    id: id.clone(),
                    kind: kind.code().to_string(),
                    full: false,
                    data: ByteBuf::from(data.to_vec()),
                });
            }
        }
    }

    fn fits(&self, len: usize) -> bool {
        self.records.is_empty() || self.bytes + len <= self.budget
    }

    /// The records of the page.
    pub fn into_records(self) -> Vec<PulledRecord> {
        self.records
    }
}
