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
