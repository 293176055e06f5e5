//! The tus request headers (`Tus-Resumable`, `Upload-Length`, `Upload-Offset`,
//! `Upload-Checksum`, `Upload-Metadata`, `Content-Type`) and upload ids.
#![no_main]

use libfuzzer_sys::fuzz_target;

// A panic the code catches on purpose is not a crash; one that escapes still is.
fuzz_target!(init: siteproof_core::fuzz_entry::install_panic_hook(), |input: &[u8]| {
    let _ = siteproof_server::fuzz_entry::tus_headers(input);
});
