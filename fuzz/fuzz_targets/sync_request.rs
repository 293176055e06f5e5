//! A `POST /v1/sync` body, decoded and validated as the server does before storage.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = siteproof_server::fuzz_entry::sync_request(body);
});
