//! Which media a record references: what the server checks before it accepts an upload or
//! serves a file, so a device can only send, and a reader only fetch, its records' evidence.

use automerge::{ObjType, ROOT, ReadDoc, Value};

use crate::ids::MediaHash;

/// Whether the record document `doc` references media `hash` (a visit's `media` map holds
/// every file its answers and findings use).
pub fn references_media(doc: &impl ReadDoc, hash: &MediaHash) -> bool {
    match doc.get(ROOT, "media") {
        Ok(Some((Value::Object(ObjType::Map), map))) => {
            matches!(doc.get(&map, hash.as_str()), Ok(Some(_)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;

    #[test]
    fn only_hashes_in_the_media_map_are_referenced() {
        let mut doc = automerge::AutoCommit::new();
        let map = doc.put_object(ROOT, "media", ObjType::Map).expect("map");
        let held: MediaHash = "a".repeat(64).parse().expect("hash");
        doc.put_object(&map, held.as_str(), ObjType::Map)
            .expect("ref");
        assert!(references_media(&doc, &held));
        assert!(!references_media(
            &doc,
            &"b".repeat(64).parse().expect("hash")
        ));
        assert!(!references_media(&automerge::AutoCommit::new(), &held));
    }
}
