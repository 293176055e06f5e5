//! The device's evidence key in the meta table, and signing the media references it attaches.
//!
//! A device signs at capture once it has a key. The key is made at enrollment (the server
//! registers its public half with the device); references attached before that are signed
//! when the enrollment completes ([`Store::set_evidence_identity`]).

use super::{Store, get_meta, set_meta};
use crate::document::RecordKind;
use crate::error::Result;
use crate::evidence::EvidenceKey;
use crate::ids::{DeviceId, RecordId};
use crate::model::MediaRef;
use crate::visit_doc;

const KEY: &str = "evidence_key";
const SIGNER: &str = "evidence_signer";

impl Store {
    /// This device's evidence key and its id on the server, once enrolled.
    pub(super) fn evidence_identity(&self) -> Result<Option<(EvidenceKey, DeviceId)>> {
        match (get_meta(&self.conn, KEY)?, get_meta(&self.conn, SIGNER)?) {
            (Some(key), Some(signer)) => Ok(Some((EvidenceKey::from_hex(&key)?, signer.parse()?))),
            _ => Ok(None),
        }
    }

    /// The public half of this device's evidence key (32 bytes), once enrolled.
    pub fn evidence_public_key(&self) -> Result<Option<[u8; 32]>> {
        Ok(self.evidence_identity()?.map(|(key, _)| key.public_key()))
    }

    /// Keeps `key` as this device's evidence key, registered on the server for device
    /// `signer`, then signs every reference this device attached without a signature.
    /// Returns how many references it signed.
    pub fn set_evidence_identity(&mut self, key: &EvidenceKey, signer: &DeviceId) -> Result<u64> {
        let tx = self.conn.transaction()?;
        set_meta(&tx, KEY, &key.to_hex())?;
        set_meta(&tx, SIGNER, signer.as_str())?;
        tx.commit()?;
        self.sign_unsigned_evidence()
    }

    /// Signs, in every visit, the references this device attached that carry no signature.
    pub fn sign_unsigned_evidence(&mut self) -> Result<u64> {
        let Some((key, signer)) = self.evidence_identity()? else {
            return Ok(0);
        };
        let mut signed = 0;
        for summary in self.list_visits()? {
            let visit = self.visit(&summary.id)?;
            let unsigned: Vec<MediaRef> = visit
                .media
                .into_values()
                .filter(|m| m.signature.is_none() && m.device == self.device)
                .map(|mut m| {
                    m.signature = Some(key.sign(&summary.id, &m, &signer));
                    m
                })
                .collect();
            if unsigned.is_empty() {
                continue;
            }
            signed += unsigned.len() as u64;
            self.edit_record(&summary.id, RecordKind::Visit, |doc| {
                unsigned
                    .iter()
                    .try_for_each(|m| visit_doc::put_media(doc, m))
            })?;
        }
        Ok(signed)
    }

    /// `media` signed for `visit` when this device captured it, has a key, and it is unsigned.
    pub(super) fn signed_for(&self, visit: &RecordId, media: &MediaRef) -> Result<MediaRef> {
        let mut media = media.clone();
        if media.signature.is_none()
            && media.device == self.device
            && let Some((key, signer)) = self.evidence_identity()?
        {
            media.signature = Some(key.sign(visit, &media, &signer));
        }
        Ok(media)
    }
}
