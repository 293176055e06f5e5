//! Entry points for the fuzz targets in `fuzz/` and for the corpus regression test that
//! replays their seeds under `cargo test`. Not an API: hidden from the docs.
//!
//! Every function here takes bytes from outside and must return, never panic, whatever
//! the bytes are.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use siteproof_core::sync::wire::{self, SyncRequest, SyncResponse};
use siteproof_core::{DeviceId, Scope};

use crate::error::Result;
use crate::storage::{DeviceRecord, DocMeta};
use crate::sync::SyncLimits;
use crate::sync::push;
use crate::tus::headers;

/// The scope of the device the fuzzed sync requests come from (the seeds' scope).
pub const FUZZ_REGION: &str = "fuzz-region";
/// See [`FUZZ_REGION`].
pub const FUZZ_GROUP: &str = "fuzz-group";

/// What the server does with a `POST /v1/sync` body before storage: decodes it, checks its
/// limits, parses every pushed change and validates each record as a new record of the device
/// (whole history, header, kind, scope), then once more as a record the server already holds
/// (the same changes re-applied to it: the idempotent re-send). Returns how many records passed.
pub fn sync_request(body: &[u8]) -> Result<usize> {
    // The device decodes the server's answer with the same decoder.
    let _ = wire::decode::<SyncResponse>(body);
    let req: SyncRequest =
        wire::decode(body).map_err(|e| crate::error::Error::Malformed(e.to_string()))?;
    SyncLimits::default().check(&req)?;
    let device = DeviceRecord {
        id: DeviceId::random(),
        name: "fuzz".into(),
        scope: Scope {
            region: FUZZ_REGION.into(),
            group: FUZZ_GROUP.into(),
        },
        enrolled_at: 0,
        revoked_at: None,
    };
    let mut passed = 0;
    let mut first_error = None;
    for mut record in push::parse(req.push)? {
        // Applied twice: as a new record, then again to it (Automerge skips what it has).
        let mut again = record.clone();
        let step = push::create_new(&device, &mut record).and_then(|(mut cached, write)| {
            let meta = DocMeta {
                header: write.header,
                created_seq: 1,
                created_by: Some(device.id.clone()),
            };
            push::apply_to_existing(&device, &meta, &mut cached, &mut again, true)
        });
        match step {
            Ok(_) => passed += 1,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(passed),
    }
}

/// The headers the tus parsers read, by the index the fuzz input picks them with.
const TUS_HEADERS: [&str; 6] = [
    "tus-resumable",
    "upload-length",
    "upload-offset",
    "upload-checksum",
    "upload-metadata",
    "content-type",
];

/// Builds a header map from `input` (lines; each line's first byte picks a header of
/// [`TUS_HEADERS`], the rest is its value; values a client could not send are skipped) and
/// runs every tus header parser on it. The last line is also parsed as an upload id.
/// Returns how many parsers accepted their header.
pub fn tus_headers(input: &[u8]) -> usize {
    let mut map = HeaderMap::new();
    let mut last: &[u8] = &[];
    for line in input.split(|b| *b == b'\n') {
        last = line;
        let Some((&pick, value)) = line.split_first() else {
            continue;
        };
        let name = HeaderName::from_static(TUS_HEADERS[usize::from(pick) % TUS_HEADERS.len()]);
        if let Ok(value) = HeaderValue::from_bytes(value) {
            map.append(name, value);
        }
    }
    let results = [
        headers::check_version(&map).is_ok(),
        headers::number(&map, "upload-length", "Upload-Length").is_ok(),
        headers::number(&map, "upload-offset", "Upload-Offset").is_ok(),
        headers::checksum(&map).is_ok(),
        headers::parse_metadata(&map).is_ok(),
        headers::content_type_is(&map, "application/offset+octet-stream"),
        std::str::from_utf8(last).is_ok_and(|id| headers::upload_id(id).is_ok()),
    ];
    results.into_iter().filter(|ok| *ok).count()
}
