//! Entry points for the fuzz targets in `fuzz/` and for the corpus regression test that
//! replays their seeds under `cargo test`. Not an API for apps: hidden from the docs.
//!
//! Every function here takes bytes from outside and must return, never panic, whatever
//! the bytes are.

use automerge::ActorId;

use crate::document::{self, RecordHeader, RecordKind};
use crate::error::Result;
use crate::store::{MergeOrigin, MergeOutcome, Store};

/// Imports a foreign document (a saved Automerge document or a run of changes) the way a
/// store does: checks it is well formed, reads its header (and the visit, for visits), then
/// merges it into a fresh in-memory store, twice (the second merge takes the path of a record
/// the store already holds).
pub fn document_import(bytes: &[u8]) -> Result<MergeOutcome> {
    document::check_well_formed(bytes)?;
    let doc = document::decode(bytes, ActorId::random())?;
    let header = RecordHeader::read(&doc)?;
    if header.kind == RecordKind::Visit {
        // A visit that does not read is refused by readers, not a crash.
        let _ = document::read_visit(&doc);
    }
    let mut store = Store::open(":memory:")?;
    let first = store.merge(Some(&header.id), bytes, MergeOrigin::Peer)?;
    store.merge(None, bytes, MergeOrigin::Server)?;
    Ok(first)
}

/// The panic hook the fuzz targets install over libfuzzer-sys's, which aborts on every panic,
/// even one [`document::contained`] catches on purpose. This one prints each panic location
/// once and returns: a panic that escapes the entry function still ends the run (libfuzzer-sys
/// catches it and aborts, and the input is saved as a crash).
pub fn install_panic_hook() {
    let seen = std::sync::Mutex::new(std::collections::HashSet::new());
    std::panic::set_hook(Box::new(move |info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if seen.lock().is_ok_and(|mut s| s.insert(place)) {
            eprintln!("panic (first at this place): {info}");
        }
    }));
}
