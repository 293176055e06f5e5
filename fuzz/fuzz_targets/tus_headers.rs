//! The tus request headers (`Tus-Resumable`, `Upload-Length`, `Upload-Offset`,
//! `Upload-Checksum`, `Upload-Metadata`, `Content-Type`) and upload ids.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let _ = siteproof_server::fuzz_entry::tus_headers(input);
});
