//! Replays the fuzz corpora of the server's targets (`fuzz/corpus/sync_request`,
//! `fuzz/corpus/tus_headers`) through the same entry functions the fuzz targets call, under
//! plain `cargo test`: no input may panic, and the valid seeds (`seed-*`) must be accepted.

use std::path::PathBuf;

use siteproof_server::fuzz_entry;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("corpus file"))
        })
        .collect();
    files.sort();
    assert!(
        files.iter().any(|(name, _)| name.starts_with("seed-")),
        "{target}: no seeds"
    );
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    assert!(
        total < 1 << 20,
        "{target}: the corpus outgrew 1 MiB ({total} bytes)"
    );
    files
}

#[test]
fn sync_request_corpus_never_panics_and_valid_seeds_pass() {
    for (name, bytes) in corpus("sync_request") {
        let result = fuzz_entry::sync_request(&bytes);
        if name.starts_with("seed-") {
            assert!(result.is_ok(), "{name}: {result:?}");
        }
    }
}

#[test]
fn tus_headers_corpus_never_panics_and_valid_seeds_parse() {
    for (name, bytes) in corpus("tus_headers") {
        let accepted = fuzz_entry::tus_headers(&bytes);
        if name.starts_with("seed-") {
            // Tus-Resumable, a number and the metadata or the checksum at least.
            assert!(accepted >= 3, "{name}: only {accepted} headers parsed");
        }
    }
}
