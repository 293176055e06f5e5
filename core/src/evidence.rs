//! Signed evidence: each enrolled device holds an Ed25519 key and signs, for every media file it
//! attaches to a visit, a canonical statement of what it captured (`docs/evidence.md`).
//!
//! The statement is text, one `name value` line each, every line ending in `\n`:
//!
//! ```text
//! siteproof-evidence-v1
//! sha256 <64 lowercase hex digits>
//! size <bytes, decimal>
//! captured_at <ms since the Unix epoch, decimal>
//! location <lat> <lon> <accuracy>    (7 decimals, 7 decimals, 1 decimal or -; or: location -)
//! visit <visit record id>
//! device <the signing device's id on the server>
//! ```
//!
//! Every field comes from the [`MediaRef`] the visit holds, so the server and any third
//! party rebuild the same bytes; ids cannot hold spaces or line breaks.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{DeviceId, RecordId};
use crate::model::MediaRef;

/// The first line of every statement; a new encoding gets a new version.
pub const STATEMENT_VERSION: &str = "siteproof-evidence-v1";

/// A device's signature over a media reference's statement, kept in the [`MediaRef`].
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    autosurgeon::Reconcile,
    autosurgeon::Hydrate,
)]
pub struct EvidenceSignature {
    /// The signing device's id on the server (its key is registered with it at enrollment).
    pub signer: DeviceId,
    /// The Ed25519 signature, 128 lowercase hex digits.
    pub signature: String,
}

impl EvidenceSignature {
    /// The 64 signature bytes, if `signature` is well formed.
    pub fn bytes(&self) -> Option<[u8; 64]> {
        hex::decode(&self.signature).ok()?.try_into().ok()
    }
}

/// The canonical statement bytes for `media` attached to `visit`, as signed by `signer`.
pub fn statement(visit: &RecordId, media: &MediaRef, signer: &DeviceId) -> Vec<u8> {
    let location = match &media.location {
        Some(p) => format!(
            "{:.7} {:.7} {}",
            p.lat,
            p.lon,
            p.accuracy_m
                .map_or_else(|| "-".to_owned(), |a| format!("{a:.1}"))
        ),
        None => "-".to_owned(),
    };
    format!(
        "{STATEMENT_VERSION}\nsha256 {}\nsize {}\ncaptured_at {}\nlocation {location}\nvisit {visit}\ndevice {signer}\n",
        media.hash, media.size, media.captured_at
    )
    .into_bytes()
}

/// A device's private signing key.
pub struct EvidenceKey(SigningKey);

impl EvidenceKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self(SigningKey::from_bytes(&rand::random::<[u8; 32]>()))
    }

    /// The key from its 32-byte seed in hex (as [`EvidenceKey::to_hex`] wrote it).
    pub fn from_hex(hex: &str) -> Result<Self> {
        let seed: [u8; 32] = hex::decode(hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::Malformed("stored evidence key".into()))?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The 32-byte seed in hex. A secret: kept only in the (encrypted) store.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// The public key, 32 bytes.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// Signs other domain-separated bytes (a peer session's transcript). The caller's message
    /// starts with its own context line, which no evidence statement starts with.
    pub(crate) fn sign_context(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// Signs `media` attached to `visit` as `signer`.
    pub fn sign(&self, visit: &RecordId, media: &MediaRef, signer: &DeviceId) -> EvidenceSignature {
        let sig = self.0.sign(&statement(visit, media, signer));
        EvidenceSignature {
            signer: signer.clone(),
            signature: hex::encode(sig.to_bytes()),
        }
    }
}

/// Whether `signature` is a valid Ed25519 signature of `message` by `public_key` (strict:
/// no malleable or small-order forms).
pub fn verify(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    VerifyingKey::from_bytes(public_key).is_ok_and(|key| {
        key.verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    })
}

/// Whether 32 bytes are a usable Ed25519 public key.
pub fn is_public_key(bytes: &[u8; 32]) -> bool {
    VerifyingKey::from_bytes(bytes).is_ok_and(|k| !k.is_weak())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GeoPoint, MediaKind};

    fn media() -> MediaRef {
        MediaRef {
            hash: "ab".repeat(32).parse().expect("hash"),
            size: 1234,
            kind: MediaKind::Photo,
            mime: "image/jpeg".into(),
            captured_at: 1_700_000_000_123,
            location: Some(GeoPoint {
                lat: 38.0428,
                lon: 114.5149,
                accuracy_m: Some(5.0),
            }),
            device: "local-1".parse().expect("id"),
            signature: None,
        }
    }

    #[test]
    fn statement_is_the_documented_text() {
        let visit: RecordId = "v1".parse().expect("id");
        let signer: DeviceId = "dev-9".parse().expect("id");
        let text = String::from_utf8(statement(&visit, &media(), &signer)).expect("utf8");
        assert_eq!(
            text,
            format!(
                "siteproof-evidence-v1\nsha256 {}\nsize 1234\ncaptured_at 1700000000123\n\
                 location 38.0428000 114.5149000 5.0\nvisit v1\ndevice dev-9\n",
                "ab".repeat(32)
            )
        );
        let mut without = media();
        without.location = None;
        let text = String::from_utf8(statement(&visit, &without, &signer)).expect("utf8");
        assert!(text.contains("\nlocation -\n"));
    }

    #[test]
    fn a_signature_verifies_only_for_its_statement_and_key() {
        let key = EvidenceKey::generate();
        let visit: RecordId = "v1".parse().expect("id");
        let signer: DeviceId = "dev-9".parse().expect("id");
        let sig = key.sign(&visit, &media(), &signer);
        let bytes = sig.bytes().expect("64 bytes");
        let message = statement(&visit, &media(), &signer);
        assert!(verify(&key.public_key(), &message, &bytes));
        let mut moved = media();
        moved.size += 1;
        assert!(!verify(
            &key.public_key(),
            &statement(&visit, &moved, &signer),
            &bytes
        ));
        let other = EvidenceKey::generate();
        assert!(!verify(&other.public_key(), &message, &bytes));
        let again = EvidenceKey::from_hex(&key.to_hex()).expect("round trip");
        assert_eq!(again.public_key(), key.public_key());
    }
}
