//! Replays the `document_import` fuzz corpus (`fuzz/corpus/document_import`) through the
//! entry function the fuzz target calls, under plain `cargo test`: no input may panic, and
//! the valid seeds (`seed-*`, real saved documents and changes) must import.

use std::path::PathBuf;

use siteproof_core::fuzz_entry;

#[test]
fn document_import_corpus_never_panics_and_valid_seeds_import() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/document_import");
    let mut seeds = 0;
    let mut total = 0;
    for entry in std::fs::read_dir(&dir).expect("the document_import corpus") {
        let path = entry.expect("corpus entry").path();
        let bytes = std::fs::read(&path).expect("corpus file");
        total += bytes.len();
        let result = fuzz_entry::document_import(&bytes);
        let name = path.file_name().expect("file name").to_string_lossy();
        if name.starts_with("seed-") {
            seeds += 1;
            assert!(result.is_ok(), "{name}: {result:?}");
        }
    }
    assert!(seeds > 0, "no seeds");
    assert!(total < 1 << 20, "the corpus outgrew 1 MiB ({total} bytes)");
}

/// Found by the `document_import` fuzz target: crafted column data made Automerge's column
/// decoder (hexane 1.0.0-alpha.5) panic on an `unwrap` (a truncated number; an RLE run past
/// its end) while foreign bytes were loaded. A phone merging such bytes from a peer or a
/// hostile server would have crashed; they are now malformed data, and the store carries on.
#[test]
fn crash_hexane_column_decoder_is_malformed_data_and_the_store_carries_on() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/document_import");
    let dir_store = tempfile::tempdir().expect("tempdir");
    let mut store = siteproof_core::Store::open(dir_store.path().join("s.db")).expect("store");
    for name in ["crash-hexane-truncated-number", "crash-hexane-rle-decoder"] {
        let bytes = std::fs::read(dir.join(name)).expect("corpus file");
        let result = store.merge(None, &bytes, siteproof_core::MergeOrigin::Peer);
        assert!(
            matches!(result, Err(siteproof_core::Error::Malformed(_))),
            "{name}: {result:?}"
        );
    }
    let good = std::fs::read(dir.join("seed-visit-saved")).expect("seed");
    let outcome = store
        .merge(None, &good, siteproof_core::MergeOrigin::Peer)
        .expect("a good document still merges");
    assert!(outcome.created);
}
