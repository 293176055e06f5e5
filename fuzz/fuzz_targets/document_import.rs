//! A foreign Automerge document or run of changes, checked, read and merged into a store.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = siteproof_core::fuzz_entry::document_import(bytes);
});
