//! Rectification evidence uploaded in the browser (photos and PDFs from the enterprise): stored
//! as blobs by their SHA-256 like a phone's evidence, named in the case record's root `media`
//! map (so the media endpoints serve a file to whoever may read the case, by the same rule as
//! a visit's files), and entered in the custody log in the transaction that writes the
//! ledger row. A rectification report may name only files uploaded to its case.

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use axum::body::Bytes;
use sha2::{Digest, Sha256};
use siteproof_core::{MediaHash, RecordHeader};

use super::{BackOffice, WebUser, internal};
use crate::blob::BlobMeta;
use crate::error::{Error, Result};
use crate::evidence::CustodyEvent;

/// The largest file the office takes.
pub const MAX_EVIDENCE_BYTES: usize = 32 << 20;

/// The MIME type of a photo or PDF, from its first bytes (what the browser claims is not
/// trusted).
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// The hashes named in a record's root `media` map.
pub(super) fn uploads(doc: &AutoCommit) -> BTreeSet<String> {
    match doc.get(ROOT, "media") {
        Ok(Some((_, map))) => doc.keys(&map).collect(),
        _ => BTreeSet::new(),
    }
}

/// Names `hash` in the record's root `media` map, with what the office knows of the file.
fn name_upload(
    doc: &mut AutoCommit,
    hash: &MediaHash,
    mime: &str,
    size: u64,
    name: &str,
    by: &str,
) -> Result<()> {
    let media = match doc.get(ROOT, "media").map_err(internal)? {
        Some((_, map)) => map,
        None => doc
            .put_object(ROOT, "media", ObjType::Map)
            .map_err(internal)?,
    };
    let entry = doc
        .put_object(&media, hash.as_str(), ObjType::Map)
        .map_err(internal)?;
    doc.put(&entry, "mime", mime).map_err(internal)?;
    doc.put(&entry, "size", size).map_err(internal)?;
    doc.put(&entry, "name", name).map_err(internal)?;
    doc.put(&entry, "by", by).map_err(internal)?;
    doc.put(&entry, "at", siteproof_core::now())
        .map_err(internal)?;
    Ok(())
}

impl BackOffice {
    /// Stores a file the enterprise sent as rectification evidence of an entry the user may
    /// see, and names it in the case record (written first when the entry has none).
    pub async fn upload_case_evidence(
        &self,
        user: &WebUser,
        id: &str,
        name: &str,
        bytes: Bytes,
    ) -> Result<MediaHash> {
        let mime = sniff(&bytes).ok_or_else(|| {
            Error::InvalidInput("evidence must be a JPEG or PNG photo or a PDF".into())
        })?;
        if bytes.len() > MAX_EVIDENCE_BYTES {
            return Err(Error::InvalidInput(format!(
                "a file may hold at most {MAX_EVIDENCE_BYTES} bytes"
            )));
        }
        let blobs = self
            .blobs
            .clone()
            .ok_or_else(|| Error::Internal("no blob store".into()))?;
        let hash = MediaHash::from_digest(Sha256::digest(&bytes).into());
        let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
        let row = self.entry(user, id).await?;
        if !row.recorded {
            self.record_case(user, &row).await?;
        }
        let case_id: siteproof_core::RecordId = row.id.parse().map_err(internal)?;
        let blob_error = |e: crate::blob::BlobError| Error::Internal(format!("blob store: {e}"));
        let size = bytes.len() as u64;
        // The file is committed before the record that names it.
        let mut meta = match blobs.blob_meta(&hash).await.map_err(blob_error)? {
            Some(meta) => meta,
            None => {
                let data = bytes.clone();
                let stream = futures_util::stream::once(async move { Ok(data) });
                blobs
                    .put_blob(&hash, Box::pin(stream))
                    .await
                    .map_err(blob_error)?;
                BlobMeta {
                    size,
                    mime: mime.into(),
                    records: Vec::new(),
                }
            }
        };
        if !meta.records.contains(&case_id) {
            meta.records.push(case_id.clone());
            blobs
                .put_blob_meta(&hash, &meta)
                .await
                .map_err(blob_error)?;
        }
        let upload = CustodyEvent {
            actor: format!("user:{}", user.login),
            action: "office_upload".into(),
            subject: hash.to_string(),
            details: serde_json::json!({
                "case": row.id,
                "visit": row.visit_id,
                "finding": row.finding_id,
                "size": size,
                "mime": mime,
                "name": name,
            }),
        };
        // Named in the case as it stands when written: read again if another writer of the
        // case came first.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (mut doc, case, seq) = self.load_case(&row.id).await?;
            let heads = doc.get_heads();
            name_upload(&mut doc, &hash, mime, size, &name, &user.login)?;
            doc.commit();
            let header = RecordHeader::read(&doc).map_err(internal)?;
            let written = self
                .write_case(
                    &header,
                    &mut doc,
                    &heads,
                    seq,
                    super::row_of(&case, &header),
                    upload.clone(),
                )
                .await;
            match written {
                Ok(()) => return Ok(hash),
                Err(Error::Conflict(_)) if attempt < super::CASE_WRITE_ATTEMPTS => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The files uploaded in the browser to an entry's case record.
    pub(super) async fn case_uploads(&self, id: &str) -> Result<BTreeSet<String>> {
        let (doc, _, _) = self.load_case(id).await?;
        Ok(uploads(&doc))
    }
}
