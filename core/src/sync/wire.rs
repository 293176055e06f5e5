//! The sync wire format: the bodies of `POST /v1/sync`, encoded as CBOR (RFC 8949) with
//! byte strings for Automerge data, so documents travel at their saved size.
//! `docs/sync-protocol.md` is the contract; these types are its Rust form.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::{Error, Result};
use crate::ids::{DeviceId, RecordId};

/// The MIME type of sync bodies.
pub const CONTENT_TYPE: &str = "application/cbor";

/// Where a device is in the server's change log. Opaque to the device: it stores the cursor
/// it was given and sends it back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The server installation the cursor belongs to.
    pub epoch: String,
    /// Position in that server's change log.
    pub seq: u64,
    /// Hash of the change at `seq` (empty when `seq` is 0): a server restored from an older
    /// backup no longer has that change there, so a stale cursor is detected, not trusted.
    pub check: ByteBuf,
    /// The record kinds the request that got this cursor announced it reads
    /// ([`SyncRequest::reads`]): what the device's copy covers up to `seq`, so that a device
    /// announcing a kind for the first time (an app update) gets the records of that kind it
    /// never received. Empty, and then absent on the wire, when nothing was announced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<String>,
}

/// Changes of one record the device pushes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRecord {
    /// The record.
    pub id: RecordId,
    /// Raw Automerge changes, in causal order.
    pub changes: Vec<ByteBuf>,
}

/// The body of `POST /v1/sync`: push and pull in one round trip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The cursor from the last response, or `None` on a device that never synced.
    pub cursor: Option<Cursor>,
    /// Outbox changes to store.
    pub push: Vec<PushRecord>,
    /// Records the device wants sent whole (it found history missing).
    #[serde(default)]
    pub need_full: Vec<RecordId>,
    /// Soft limit on the response's record data, in bytes (the server may cap it lower).
    pub max_bytes: u64,
    /// The record kinds this client reads among those the server sends only to clients that
    /// announce them ([`ANNOUNCED_KINDS`]); older clients send none, and get none of those
    /// records. Absent on the wire when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<String>,
}

/// The record kinds a server sends only to clients whose requests announce them in
/// [`SyncRequest::reads`]: kinds added after clients were in the field that fail on a kind
/// they do not know. This client reads all of them.
pub const ANNOUNCED_KINDS: &[&str] = &["directory"];

/// Change hashes the server has stored for one record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The record.
    pub id: RecordId,
    /// 32-byte change hashes, now durable on the server.
    pub hashes: Vec<ByteBuf>,
}

/// One record's new data in a pull.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PulledRecord {
    /// The record.
    pub id: RecordId,
    /// Its kind (`visit`, `template`, `case`, ...).
    pub kind: String,
    /// `true`: `data` is a whole saved document; `false`: concatenated changes.
    pub full: bool,
    /// Automerge bytes.
    pub data: ByteBuf,
}

/// The body of a successful `POST /v1/sync` response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// What the server stored from the push.
    pub acked: Vec<Ack>,
    /// What changed in the device's scope since its cursor (one page).
    pub records: Vec<PulledRecord>,
    /// The cursor to send next time.
    pub cursor: Cursor,
    /// More pages wait: sync again with the new cursor.
    pub more: bool,
    /// The device's cursor was not valid here (another server, or one restored from an older
    /// backup). This page starts from scratch; the device should re-queue everything it holds,
    /// so the server gets back whatever it lost.
    pub reset: bool,
    /// The devices of the reader's group the server has revoked, the whole list (added in
    /// protocol 1.1; absent from older servers, and then the device keeps its list). Devices
    /// refuse these as peers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Vec<DeviceId>>,
    /// A renewed device certificate (a `SignedCertificate`'s CBOR), sent when the device's
    /// certificate is near its end (`docs/peer-sync.md`, section 1). Optional like `revoked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<ByteBuf>,
}

/// Encodes a body as CBOR.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("writing CBOR into a Vec cannot fail");
    out
}

/// Decodes a CBOR body; anything malformed is [`Error::Malformed`].
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    ciborium::from_reader(bytes).map_err(|e| Error::Malformed(format!("sync message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `docs/sync-protocol.md` (7.1) says is accepted in place of a byte string.
    #[test]
    fn byte_fields_accept_exactly_the_documented_forms() {
        use ciborium::Value as V;
        let cursor = |check: V| {
            let value = V::Map(vec![
                (V::Text("epoch".into()), V::Text("e".into())),
                (V::Text("seq".into()), V::Integer(1.into())),
                (V::Text("check".into()), check),
            ]);
            let mut bytes = Vec::new();
            ciborium::into_writer(&value, &mut bytes).expect("encode");
            decode::<Cursor>(&bytes).map(|c| c.check.into_vec())
        };
        assert_eq!(cursor(V::Bytes(vec![1, 2])).expect("bytes"), vec![1, 2]);
        let array = cursor(V::Array(vec![V::Integer(1.into()), V::Integer(2.into())]));
        let text = cursor(V::Text("ab".into()));
        let out_of_range = cursor(V::Array(vec![V::Integer(256.into())]));
        assert_eq!(
            (array.is_ok(), text.is_ok(), out_of_range.is_ok()),
            (true, false, false),
            "{array:?} {text:?}"
        );
    }

    #[test]
    fn requests_round_trip_and_garbage_is_malformed() {
        let req = SyncRequest {
            cursor: Some(Cursor {
                epoch: "e1".into(),
                seq: 7,
                check: ByteBuf::from(vec![1; 32]),
                reads: Vec::new(),
            }),
            push: vec![PushRecord {
                id: RecordId::random(),
                changes: vec![ByteBuf::from(vec![9; 10_000])],
            }],
            need_full: vec![],
            max_bytes: 1 << 20,
            reads: Vec::new(),
        };
        let bytes = encode(&req);
        assert_eq!(decode::<SyncRequest>(&bytes).expect("decode"), req);
        // Byte strings travel raw: the envelope adds a fixed few hundred bytes, not a third.
        assert!(
            bytes.len() < 10_000 + 300,
            "byte strings are inflated: {}",
            bytes.len()
        );
        assert!(decode::<SyncRequest>(&bytes[..bytes.len() - 3]).is_err());
        assert!(decode::<SyncRequest>(b"{\"json\": true}").is_err());
    }

    #[test]
    fn a_record_id_with_a_path_in_it_is_refused_while_decoding() {
        #[derive(Serialize)]
        struct RawPush {
            id: String,
            changes: Vec<ByteBuf>,
        }
        let raw = encode(&RawPush {
            id: "../../etc/passwd".into(),
            changes: vec![],
        });
        assert!(decode::<PushRecord>(&raw).is_err());
    }
}
