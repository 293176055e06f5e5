//! What a peer session needs from the store: this device's certificate, the server key and
//! the revocation list (kept in `meta`), the inventory of the group's records, the changes a
//! peer lacks, and merging what a peer sent after checking it is the group's to write.

use automerge::ChangeHash;

use super::merge::{MergeOrigin, MergeOutcome, merge_in};
use rusqlite::OptionalExtension;

use super::docs;
use super::{Store, get_meta, set_meta};
use crate::document::{self, RecordHeader, RecordKind};
use crate::error::{Error, Result};
use crate::evidence::EvidenceKey;
use crate::ids::{DeviceId, RecordId};
use crate::peer::SignedCertificate;
use crate::peer::authors::revoked_author;

const CERTIFICATE: &str = "peer_certificate";
const SERVER_KEY: &str = "peer_server_key";
const REVOKED: &str = "peer_revoked";

/// Everything this device needs to prove itself to a peer and to check the peer.
pub struct PeerCredentials {
    /// The device's evidence key, which its certificate names.
    pub key: EvidenceKey,
    /// The server-signed certificate received at enrollment.
    pub certificate: SignedCertificate,
    /// The server's certificate key.
    pub server_key: [u8; 32],
    /// The region and group of this device.
    pub region: String,
    /// See `region`.
    pub group: String,
    /// Devices the server has revoked, as of the last sync.
    pub revoked: Vec<DeviceId>,
}

impl Store {
    /// Keeps the certificate and the server's certificate key received at enrollment.
    pub fn set_peer_trust(&mut self, certificate: &[u8], server_key: &[u8; 32]) -> Result<()> {
        SignedCertificate::from_bytes(certificate)?.verify(server_key)?;
        let tx = self.conn.transaction()?;
        set_meta(&tx, CERTIFICATE, &hex::encode(certificate))?;
        set_meta(&tx, SERVER_KEY, &hex::encode(server_key))?;
        tx.commit()?;
        Ok(())
    }

    /// Makes this store write as enrolled device `device` from now on (its actor becomes the
    /// device's, [`crate::peer::authors`]), so peers and the server can name the author of its
    /// changes. A device id that is not a UUID leaves the actor as it is.
    pub fn write_as_device(&mut self, device: &DeviceId) -> Result<()> {
        let Some(actor) = crate::peer::authors::device_actor(device) else {
            return Ok(());
        };
        set_meta(&self.conn, "actor_id", &actor.to_hex_string())?;
        self.actor = actor;
        // Loaded documents carry the old actor.
        self.clear_cache();
        Ok(())
    }

    /// Replaces the list of revoked devices (the server sends the whole list with each sync).
    pub fn set_revoked_devices(&mut self, revoked: &[DeviceId]) -> Result<()> {
        let list: Vec<&str> = revoked.iter().map(DeviceId::as_str).collect();
        set_meta(&self.conn, REVOKED, &list.join(","))
    }

    /// The revoked devices this store knows of.
    pub fn revoked_devices(&self) -> Result<Vec<DeviceId>> {
        get_meta(&self.conn, REVOKED)?
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect()
    }

    /// This device's peer credentials; [`Error::NotFound`] before an enrollment that issued
    /// a certificate.
    pub fn peer_credentials(&self) -> Result<PeerCredentials> {
        let missing = || Error::NotFound {
            kind: "device certificate",
            id: "this device".into(),
        };
        let (key, _) = self.evidence_identity()?.ok_or_else(missing)?;
        let cert = get_meta(&self.conn, CERTIFICATE)?.ok_or_else(missing)?;
        let server = get_meta(&self.conn, SERVER_KEY)?.ok_or_else(missing)?;
        let stored = || Error::Malformed("stored device certificate".into());
        let certificate = SignedCertificate::from_bytes(&hex::decode(cert).map_err(|_| stored())?)?;
        let server_key: [u8; 32] = hex::decode(server)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(stored)?;
        Ok(PeerCredentials {
            key,
            certificate,
            server_key,
            region: self.profile.scope.region.clone(),
            group: self.profile.scope.group.clone(),
            revoked: self.revoked_devices()?,
        })
    }

    /// The group's device-written records this store holds, with their heads: what a peer is
    /// told this device has.
    pub fn peer_inventory(&mut self) -> Result<Vec<(RecordId, Vec<ChangeHash>)>> {
        let ids: Vec<RecordId> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id FROM records WHERE kind IN ('visit', 'report')
                 AND region = ?1 AND grp = ?2 ORDER BY id",
            )?;
            let rows = stmt.query_map(
                [&self.profile.scope.region, &self.profile.scope.group],
                |r| r.get::<_, String>(0),
            )?;
            rows.map(|r| r?.parse()).collect::<Result<_>>()?
        };
        ids.into_iter()
            .map(|id| {
                let heads = self
                    .docs
                    .get_or_load(&self.conn, &id, &self.actor)?
                    .doc
                    .get_heads();
                Ok((id, heads))
            })
            .collect()
    }

    /// What a peer with `peer_heads` of record `id` (`None`: it lacks the record) is missing:
    /// `(true, saved document)`, `(false, changes)`, or `None` when it has everything.
    pub fn changes_for_peer(
        &mut self,
        id: &RecordId,
        peer_heads: Option<&[ChangeHash]>,
    ) -> Result<Option<(bool, Vec<u8>)>> {
        let entry = self.docs.get_or_load(&self.conn, id, &self.actor)?;
        let Some(peer_heads) = peer_heads else {
            return Ok(Some((true, entry.doc.save())));
        };
        // Heads we do not know are newer than all we have on that branch: leave them out,
        // what remains is history both sides share.
        let known: Vec<ChangeHash> = peer_heads
            .iter()
            .filter(|h| entry.doc.get_change_by_hash(h).is_some())
            .copied()
            .collect();
        let changes = entry.doc.get_changes(&known);
        if changes.is_empty() {
            return Ok(None);
        }
        Ok(Some((
            false,
            changes
                .iter()
                .flat_map(|c| c.raw_bytes().to_vec())
                .collect(),
        )))
    }

    /// Merges records a peer sent, with peer origin (the changes join the outbox), in one
    /// transaction. Each must be a device-written kind of this device's own group, and no
    /// change new to this store may be written by a device on its revocation list; anything
    /// else is [`Error::PeerRefused`] and nothing of the batch is stored.
    pub fn merge_from_peer(
        &mut self,
        records: &[(RecordId, Vec<u8>)],
    ) -> Result<Vec<MergeOutcome>> {
        let scope = self.profile.scope.clone();
        let revoked = self.revoked_devices()?;
        let tx = self.conn.transaction()?;
        let (docs, actor) = (&mut self.docs, &self.actor);
        let result = records
            .iter()
            .map(|(id, data)| {
                let header = match record_header(&tx, id)? {
                    Some(header) => header,
                    None => RecordHeader::read(&document::decode(data, actor.clone())?)?,
                };
                if !header.kind.written_by_devices() {
                    return Err(Error::PeerRefused(format!(
                        "a peer may not write a {} record",
                        header.kind
                    )));
                }
                if header.scope != scope {
                    return Err(Error::PeerRefused(
                        "a peer sent a record outside this group's scope".into(),
                    ));
                }
                let before = match docs::exists(&tx, id)? {
                    true => docs.get_or_load(&tx, id, actor)?.doc.get_heads(),
                    false => Vec::new(),
                };
                let outcome = merge_in(&tx, docs, actor, Some(id), data, MergeOrigin::Peer)?;
                let entry = docs.get_or_load(&tx, id, actor)?;
                if let Some(author) = revoked_author(&entry.doc.get_changes(&before), &revoked) {
                    tracing::warn!(record = %id, %author, "refused changes of a revoked device");
                    return Err(Error::PeerRefused(
                        "a change written by a revoked device".into(),
                    ));
                }
                Ok(outcome)
            })
            .collect::<Result<Vec<_>>>();
        let committed = result.and_then(|o| Ok(tx.commit().map(|()| o)?));
        if committed.is_err() {
            self.clear_cache();
        }
        committed
    }
}

/// Keeps a renewed certificate from a sync response, within its transaction: it must be
/// signed by the server key this store trusts (`current`) and name this device and its key,
/// else the response is [`Error::Malformed`] and nothing of it is kept.
pub(super) fn store_renewed_certificate(
    tx: &rusqlite::Transaction<'_>,
    current: &PeerCredentials,
    bytes: &[u8],
) -> Result<()> {
    let renewed = SignedCertificate::from_bytes(bytes)?
        .verify(&current.server_key)
        .map_err(|_| Error::Malformed("the renewed certificate is not the server's".into()))?;
    let own = current.certificate.verify(&current.server_key)?;
    if renewed.device != own.device || renewed.public_key != own.public_key {
        return Err(Error::Malformed(
            "the renewed certificate is for another device".into(),
        ));
    }
    set_meta(tx, CERTIFICATE, &hex::encode(bytes))
}

/// The header of a stored record, from its row (no document load).
fn record_header(conn: &rusqlite::Connection, id: &RecordId) -> Result<Option<RecordHeader>> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT kind, region, grp FROM records WHERE id = ?1")?
        .query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(kind, region, group)| {
        Ok(RecordHeader {
            kind: kind.parse::<RecordKind>()?,
            id: id.clone(),
            scope: crate::model::Scope { region, group },
        })
    })
    .transpose()
}
