//! A foreign Automerge document or run of changes, checked, read and merged into a store.
#![no_main]

use libfuzzer_sys::fuzz_target;

// A panic the code catches on purpose is not a crash; one that escapes still is.
fuzz_target!(init: siteproof_core::fuzz_entry::install_panic_hook(), |bytes: &[u8]| {
    let _ = siteproof_core::fuzz_entry::document_import(bytes);
});
