//! The evidence package of a visit: what a third party needs to check its evidence with
//! standard tools (`docs/evidence.md`, "Checking a package").
//!
//! ```text
//! <out>/originals/<sha256>          the files as stored
//! <out>/statements/<sha256>.txt     the signed statement of each
//! <out>/signatures/<sha256>.sig     its Ed25519 signature, 64 raw bytes
//! <out>/keys/<device>.pem           the signing devices' public keys
//! <out>/custody.jsonl               the custody entries about the visit and its files
//! <out>/manifest.json               what is where, statuses, the chain's head
//! <out>/SHA256SUMS                  `sha256sum -c` list of every file above
//! ```

use std::path::{Path, PathBuf};

use automerge::ActorId;
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use siteproof_core::document::{decode, read_visit};
use siteproof_core::{MediaHash, RecordId, RecordKind};
use tokio::io::AsyncWriteExt;

use super::{CustodyEvent, EvidenceService, internal, public_key_pem};
use crate::error::{Error, Result};

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageSummary {
    /// Files of the visit written.
    pub originals: usize,
    /// Of them, with a statement and signature.
    pub signed: usize,
    /// Custody entries included.
    pub custody_entries: usize,
}

/// An evidence row as exported.
struct Row {
    status: String,
    reason: Option<String>,
    signer: Option<String>,
    statement: Option<Vec<u8>>,
    signature: Option<Vec<u8>>,
    public_key: Option<Vec<u8>>,
}

fn io(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("export: {}: {e}", path.display()))
}

async fn write(
    out: &Path,
    rel: &str,
    bytes: &[u8],
    sums: &mut Vec<(String, String)>,
) -> Result<()> {
    let path = out.join(rel);
    tokio::fs::write(&path, bytes)
        .await
        .map_err(|e| io(&path, e))?;
    sums.push((hex::encode(Sha256::digest(bytes)), rel.to_owned()));
    Ok(())
}

impl EvidenceService {
    /// Writes the evidence package of `visit` into `out` (created; it must not hold files) and
    /// logs the export as `actor`.
    pub async fn export_visit(
        &self,
        visit: &RecordId,
        out: &Path,
        actor: &str,
    ) -> Result<PackageSummary> {
        let unknown = || Error::UnknownRecord {
            id: visit.to_string(),
        };
        let full = self
            .storage
            .full_document(visit)
            .await?
            .ok_or_else(unknown)?;
        if full.header.kind != RecordKind::Visit {
            return Err(unknown());
        }
        let media = tokio::task::spawn_blocking(move || {
            let doc = decode(&full.to_bytes(), ActorId::random()).map_err(internal)?;
            read_visit(&doc).map(|(v, _)| v.media).map_err(internal)
        })
        .await
        .map_err(internal)??;
        if out.exists()
            && std::fs::read_dir(out)
                .map_err(|e| io(out, e))?
                .next()
                .is_some()
        {
            return Err(Error::InvalidInput(format!(
                "{} is not empty",
                out.display()
            )));
        }
        for sub in ["originals", "statements", "signatures", "keys"] {
            let dir: PathBuf = out.join(sub);
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| io(&dir, e))?;
        }
        let mut sums = Vec::new();
        let mut items = Vec::new();
        let mut summary = PackageSummary {
            originals: 0,
            signed: 0,
            custody_entries: 0,
        };
        for (key, reference) in &media {
            let hash: MediaHash = key.parse().map_err(internal)?;
            let row = self.row(visit, &hash).await?;
            let original = format!("originals/{hash}");
            let stored = self.copy_blob(&hash, out, &original, &mut sums).await?;
            summary.originals += usize::from(stored);
            let mut item = json!({
                "sha256": hash.as_str(),
                "size": reference.size,
                "mime": reference.mime,
                "captured_at": reference.captured_at,
                "original": stored.then_some(&original),
                "status": row.as_ref().map_or("unchecked", |r| r.status.as_str()),
                "reason": row.as_ref().and_then(|r| r.reason.clone()),
                "signer": row.as_ref().and_then(|r| r.signer.clone()),
            });
            if let Some(Row {
                statement: Some(statement),
                signature: Some(signature),
                signer: Some(signer),
                public_key,
                ..
            }) = row
            {
                let (st, sg) = (
                    format!("statements/{hash}.txt"),
                    format!("signatures/{hash}.sig"),
                );
                write(out, &st, &statement, &mut sums).await?;
                write(out, &sg, &signature, &mut sums).await?;
                item["statement"] = json!(st);
                item["signature"] = json!(sg);
                if let Some(k) = public_key.and_then(|k| <[u8; 32]>::try_from(k).ok()) {
                    let pem = format!("keys/{signer}.pem");
                    if !sums.iter().any(|(_, p)| *p == pem) {
                        write(out, &pem, public_key_pem(&k).as_bytes(), &mut sums).await?;
                    }
                    item["public_key"] = json!(pem);
                }
                summary.signed += 1;
            }
            items.push(item);
        }
        self.log(CustodyEvent {
            actor: actor.to_owned(),
            action: "export".into(),
            subject: visit.to_string(),
            details: json!({ "files": media.keys().collect::<Vec<_>>() }),
        })
        .await?;
        let mut subjects: Vec<String> = media.keys().cloned().collect();
        subjects.push(visit.to_string());
        let entries = self.custody.entries_about(&subjects).await?;
        let head = self.custody.head().await?;
        summary.custody_entries = entries.len();
        let mut jsonl = String::new();
        for e in &entries {
            jsonl.push_str(&serde_json::to_string(e).map_err(internal)?);
            jsonl.push('\n');
        }
        write(out, "custody.jsonl", jsonl.as_bytes(), &mut sums).await?;
        let manifest = json!({
            "format": "siteproof-evidence-package-v1",
            "visit": visit.as_str(),
            "exported_at": siteproof_core::now(),
            "evidence": items,
            "custody": "custody.jsonl",
            "chain_head": head.map(|h| json!({ "seq": h.seq, "entry_hash": h.entry_hash })),
        });
        let text = serde_json::to_string_pretty(&manifest).map_err(internal)?;
        write(out, "manifest.json", text.as_bytes(), &mut sums).await?;
        let list: String = sums.iter().map(|(h, p)| format!("{h}  {p}\n")).collect();
        let path = out.join("SHA256SUMS");
        tokio::fs::write(&path, list)
            .await
            .map_err(|e| io(&path, e))?;
        Ok(summary)
    }

    async fn row(&self, visit: &RecordId, hash: &MediaHash) -> Result<Option<Row>> {
        let found = self.custody.evidence(visit.as_str(), hash.as_str()).await?;
        Ok(found.map(|(row, public_key)| Row {
            status: row.status,
            reason: row.reason,
            signer: row.signer,
            statement: row.statement,
            signature: row.signature,
            public_key,
        }))
    }

    /// Copies a stored blob into the package; `false` when the server does not hold it.
    async fn copy_blob(
        &self,
        hash: &MediaHash,
        out: &Path,
        rel: &str,
        sums: &mut Vec<(String, String)>,
    ) -> Result<bool> {
        let mut stream = match self.blobs.read_blob(hash, 0..u64::MAX).await {
            Ok(s) => s,
            Err(crate::blob::BlobError::NotFound) => return Ok(false),
            Err(e) => return Err(internal(e)),
        };
        let path = out.join(rel);
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| io(&path, e))?;
        let mut hasher = Sha256::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| io(&path, e))?;
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(|e| io(&path, e))?;
        }
        file.sync_all().await.map_err(|e| io(&path, e))?;
        sums.push((hex::encode(hasher.finalize()), rel.to_owned()));
        Ok(true)
    }
}
