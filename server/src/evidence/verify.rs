//! Examining one piece of evidence: the stored bytes, the record's reference to them, the
//! signing device's key and the signature.

use automerge::ActorId;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use siteproof_core::document::{decode, read_visit};
use siteproof_core::evidence::{statement, verify};
use siteproof_core::{MediaHash, MediaRef, RecordId, RecordKind};

use super::{EvidenceCheck, EvidenceService, EvidenceStatus, internal};
use crate::error::Result;

/// What examining found, with what is stored for re-verification and export.
pub(super) struct Found {
    pub check: EvidenceCheck,
    pub size: u64,
    pub signer: Option<String>,
    pub statement: Option<Vec<u8>>,
    pub signature: Option<[u8; 64]>,
}

impl EvidenceService {
    pub(super) async fn examine(
        &self,
        record: &RecordId,
        hash: &MediaHash,
        rehash: bool,
    ) -> Result<Found> {
        let mut found = Found {
            check: EvidenceCheck {
                record: record.clone(),
                hash: hash.clone(),
                status: EvidenceStatus::Rejected,
                reason: None,
            },
            size: 0,
            signer: None,
            statement: None,
            signature: None,
        };
        let reject = |mut found: Found, reason: &str| {
            found.check.status = EvidenceStatus::Rejected;
            found.check.reason = Some(reason.to_owned());
            Ok(found)
        };
        let Some(meta) = self.blobs.blob_meta(hash).await.map_err(internal)? else {
            return reject(found, "the file is not stored");
        };
        found.size = meta.size;
        if rehash && !self.bytes_match(hash, meta.size).await? {
            return reject(found, "the stored bytes do not match their hash");
        }
        let Some((scope, media)) = self.reference(record, hash).await? else {
            return reject(found, "the record does not reference the file");
        };
        if media.hash != *hash || media.size != meta.size {
            return reject(found, "the reference's hash or size differs from the file");
        }
        let Some(sig) = media.signature.as_ref() else {
            found.check.status = EvidenceStatus::Unverified;
            found.check.reason = Some("not signed".into());
            return Ok(found);
        };
        found.signer = Some(sig.signer.to_string());
        let message = statement(record, &media, &sig.signer);
        found.statement = Some(message.clone());
        found.signature = sig.bytes();
        let Some(signature) = found.signature else {
            return reject(found, "the signature is malformed");
        };
        let Some(signer) = self.custody.signer(sig.signer.as_str()).await? else {
            return reject(found, "the signing device is unknown");
        };
        if signer.region != scope.region || signer.group != scope.group {
            return reject(found, "the signing device is not of the record's group");
        }
        let Some(key) = signer.public_key.and_then(|k| <[u8; 32]>::try_from(k).ok()) else {
            found.check.status = EvidenceStatus::Unverified;
            found.check.reason = Some("the signing device registered no key".into());
            return Ok(found);
        };
        if !verify(&key, &message, &signature) {
            return reject(found, "the signature does not match the device's key");
        }
        found.check.status = EvidenceStatus::Verified;
        Ok(found)
    }

    /// Whether the stored bytes of `hash` still hash to it and have `size` bytes.
    async fn bytes_match(&self, hash: &MediaHash, size: u64) -> Result<bool> {
        let mut stream = match self.blobs.read_blob(hash, 0..u64::MAX).await {
            Ok(s) => s,
            Err(crate::blob::BlobError::NotFound) => return Ok(false),
            Err(e) => return Err(internal(e)),
        };
        let (mut hasher, mut len) = (Sha256::new(), 0u64);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(internal)?;
            len += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok(len == size && MediaHash::from_digest(hasher.finalize().into()) == *hash)
    }

    /// The record's scope and its reference to `hash`, if it is a visit that has one.
    async fn reference(
        &self,
        record: &RecordId,
        hash: &MediaHash,
    ) -> Result<Option<(siteproof_core::Scope, MediaRef)>> {
        let Some(full) = self.storage.full_document(record).await? else {
            return Ok(None);
        };
        if full.header.kind != RecordKind::Visit {
            return Ok(None);
        }
        let scope = full.header.scope.clone();
        let key = hash.to_string();
        let media = tokio::task::spawn_blocking(move || {
            let doc = decode(&full.to_bytes(), ActorId::random()).ok()?;
            let (visit, _) = read_visit(&doc).ok()?;
            visit.media.get(&key).cloned()
        })
        .await
        .map_err(internal)?;
        Ok(media.map(|m| (scope, m)))
    }
}
