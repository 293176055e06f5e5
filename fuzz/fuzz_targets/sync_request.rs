//! A `POST /v1/sync` body, decoded and validated as the server does before storage.
#![no_main]

use libfuzzer_sys::fuzz_target;

// A panic the code catches on purpose is not a crash; one that escapes still is.
fuzz_target!(init: siteproof_core::fuzz_entry::install_panic_hook(), |body: &[u8]| {
    let _ = siteproof_server::fuzz_entry::sync_request(body);
});
