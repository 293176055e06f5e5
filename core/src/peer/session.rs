//! A peer session: two devices of one group merge their records directly. Sans-IO: the
//! caller moves the bytes ([`PeerSession::feed`], [`PeerSession::take_output`]) over any
//! transport; `docs/peer-sync.md` is the contract.
//!
//! Order of a session: the Noise handshake; each side sends `Auth` (its certificate and an
//! Ed25519 signature over the handshake hash); each side checks the other's before it sends
//! anything else; then `Inventory` (the group's records and their heads), the records the
//! other lacks, one per message, and `Done`. Records that arrive together are merged in one
//! transaction, so a session cut at any byte leaves whole records only.

use std::collections::HashMap;

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::certificate::DeviceCertificate;
use super::channel::{Channel, Received};
use super::media::{MediaExchange, MediaMessage, Originals};
use crate::error::{Error, Result};
use crate::evidence;
use crate::ids::{DeviceId, RecordId};
use crate::media::MediaStore;
use crate::model::now;
use crate::store::{PeerCredentials, Store};
use crate::sync::wire;

/// The context line of the signed transcript, then one byte for the signer's role
/// (`i` initiator, `r` responder), then the Noise handshake hash.
const AUTH_CONTEXT: &[u8] = b"siteproof-peer-auth-v1\n";

/// A session message (CBOR), inside the encrypted channel.
#[derive(Debug, Serialize, Deserialize)]
enum Message {
    /// The sender's certificate and its signature over the session transcript.
    Auth {
        certificate: ByteBuf,
        signature: ByteBuf,
    },
    /// Every record of the group the sender holds, with its heads.
    Inventory { records: Vec<Held> },
    /// One record the receiver lacks: a whole saved document, or changes.
    Record {
        id: RecordId,
        full: bool,
        data: ByteBuf,
    },
    /// The sender has sent every record.
    Done,
    /// Media, after the records (`media.rs`).
    Media(MediaMessage),
}

#[derive(Debug, Serialize, Deserialize)]
struct Held {
    id: RecordId,
    heads: Vec<ByteBuf>,
}

/// What a session did, for the caller to show or measure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerSummary {
    /// The peer's device id on the server, once its certificate was accepted.
    pub peer: Option<DeviceId>,
    /// Records sent (whole or as changes).
    pub records_sent: u64,
    /// Records received and merged.
    pub records_received: u64,
    /// Records that changed here because of what was received.
    pub records_updated: u64,
    /// Bytes handed to the transport.
    pub bytes_sent: u64,
    /// Bytes taken from the transport.
    pub bytes_received: u64,
    /// Media files received and stored (thumbnails and whole, verified originals).
    pub media_received: u64,
}

/// One side of a peer session.
pub struct PeerSession {
    channel: Channel,
    initiator: bool,
    credentials: PeerCredentials,
    sent_done: bool,
    got_done: bool,
    failed: bool,
    media: MediaExchange,
    summary: PeerSummary,
}

impl PeerSession {
    /// Starts a session as the side that connected (`initiator`) or the side that accepted.
    /// The store must hold a certificate ([`Store::set_peer_trust`]).
    pub fn new(store: &Store, initiator: bool) -> Result<Self> {
        Self::build(store, initiator, None, Originals::None)
    }

    /// A session that also exchanges media with `media` (the store's media folder): it asks
    /// for the thumbnails it lacks and the `originals` chosen, and serves the peer's asks.
    pub fn with_media(
        store: &Store,
        initiator: bool,
        media: MediaStore,
        originals: Originals,
    ) -> Result<Self> {
        Self::build(store, initiator, Some(media), originals)
    }

    fn build(
        store: &Store,
        initiator: bool,
        media: Option<MediaStore>,
        originals: Originals,
    ) -> Result<Self> {
        Ok(Self {
            channel: Channel::new(initiator)?,
            initiator,
            credentials: store.peer_credentials()?,
            sent_done: false,
            got_done: false,
            failed: false,
            media: MediaExchange::new(media, originals),
            summary: PeerSummary::default(),
        })
    }

    /// Whether both sides have sent everything: the caller sends what
    /// [`PeerSession::take_output`] still holds, then closes.
    pub fn is_finished(&self) -> bool {
        self.sent_done
            && self.got_done
            && self.media.done_wanting
            && self.media.peer_done_wanting
            && !self.channel.has_output()
    }

    /// Whether the session ended in an error.
    pub fn has_failed(&self) -> bool {
        self.failed
    }

    /// What the session did so far.
    pub fn summary(&self) -> &PeerSummary {
        &self.summary
    }

    /// Bytes to send to the peer (empty when there are none).
    pub fn take_output(&mut self) -> Vec<u8> {
        let out = self.channel.take_output();
        self.summary.bytes_sent += out.len() as u64;
        out
    }

    /// Takes bytes from the peer; records they complete are merged into `store`. After an
    /// error the session is over: close the transport (a new session starts afresh).
    pub fn feed(&mut self, store: &mut Store, bytes: &[u8]) -> Result<()> {
        if self.failed {
            return Err(Error::PeerBroken("the session already failed".into()));
        }
        self.summary.bytes_received += bytes.len() as u64;
        let result = self.process(store, bytes);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn process(&mut self, store: &mut Store, bytes: &[u8]) -> Result<()> {
        // Records that arrive together are merged in one transaction (one disk sync instead
        // of one per record); whatever comes after them waits until they are stored.
        let mut batch: Vec<(RecordId, Vec<u8>)> = Vec::new();
        let result = self.handle(store, bytes, &mut batch);
        let stored = self.store_batch(store, &mut batch);
        result.and(stored)
    }

    fn store_batch(
        &mut self,
        store: &mut Store,
        batch: &mut Vec<(RecordId, Vec<u8>)>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let merged = store.merge_from_peer(batch)?;
        batch.clear();
        self.summary.records_received += merged.len() as u64;
        self.summary.records_updated += merged.iter().filter(|m| m.new_changes > 0).count() as u64;
        Ok(())
    }

    fn handle(
        &mut self,
        store: &mut Store,
        bytes: &[u8],
        batch: &mut Vec<(RecordId, Vec<u8>)>,
    ) -> Result<()> {
        for received in self.channel.feed(bytes)? {
            match received {
                Received::HandshakeDone => self.send_auth()?,
                Received::Message(bytes) => match wire::decode::<Message>(&bytes)
                    .map_err(|_| Error::PeerBroken("an undecodable message".into()))?
                {
                    Message::Auth {
                        certificate,
                        signature,
                    } => {
                        self.accept_peer(&certificate, &signature)?;
                        self.send(&Message::Inventory {
                            records: inventory(store)?,
                        })?;
                    }
                    Message::Inventory { records } => {
                        self.authenticated()?;
                        self.send_missing(store, records)?;
                    }
                    Message::Record { id, data, .. } => {
                        self.authenticated()?;
                        if self.got_done {
                            return Err(Error::PeerRefused("a record after Done".into()));
                        }
                        batch.push((id, data.into_vec()));
                    }
                    Message::Done => {
                        self.authenticated()?;
                        // Done counts only once the records before it are stored.
                        self.store_batch(store, batch)?;
                        if self.got_done {
                            return Err(Error::PeerRefused("a second Done".into()));
                        }
                        self.got_done = true;
                        let want = self.media.first_want(store)?;
                        self.send(&Message::Media(want))?;
                    }
                    Message::Media(message) => {
                        if !self.got_done {
                            return Err(Error::PeerRefused("media before Done".into()));
                        }
                        self.handle_media(store, message)?;
                    }
                },
            }
        }
        Ok(())
    }

    fn handle_media(&mut self, store: &mut Store, message: MediaMessage) -> Result<()> {
        match message {
            MediaMessage::Want {
                thumbnails,
                originals,
            } => {
                if thumbnails.is_empty() && originals.is_empty() {
                    self.media.peer_done_wanting = true;
                    return Ok(());
                }
                for answer in self.media.serve(&thumbnails, &originals)? {
                    self.send(&Message::Media(answer))?;
                }
            }
            MediaMessage::Thumbnail { hash, sha256, data } => {
                self.media.thumbnail(&hash, &sha256, &data)?;
            }
            MediaMessage::Chunk { hash, offset, data } => {
                self.media.chunk(store, &hash, offset, &data)?;
            }
            MediaMessage::Served { lacking } => {
                let next = self.media.after_served(store, lacking)?;
                self.send(&Message::Media(next))?;
            }
        }
        self.summary.media_received = self.media.received;
        Ok(())
    }

    fn send(&mut self, message: &Message) -> Result<()> {
        self.channel.send(&wire::encode(message))
    }

    fn send_auth(&mut self) -> Result<()> {
        let role = if self.initiator { b'i' } else { b'r' };
        let signature = self.credentials.key.sign_context(&self.transcript(role)?);
        let message = Message::Auth {
            certificate: ByteBuf::from(self.credentials.certificate.to_bytes()),
            signature: ByteBuf::from(signature.to_vec()),
        };
        self.send(&message)
    }

    fn transcript(&self, role: u8) -> Result<Vec<u8>> {
        let hash = self
            .channel
            .handshake_hash()
            .ok_or_else(|| Error::PeerBroken("no handshake yet".into()))?;
        Ok([AUTH_CONTEXT, &[role], hash].concat())
    }

    /// Checks the peer's certificate and its signature over this session's transcript.
    fn accept_peer(&mut self, certificate: &[u8], signature: &[u8]) -> Result<()> {
        if self.summary.peer.is_some() {
            return Err(Error::PeerRefused("a second Auth".into()));
        }
        let c = &self.credentials;
        let cert: DeviceCertificate = super::SignedCertificate::from_bytes(certificate)
            .map_err(|_| Error::PeerRefused("an undecodable certificate".into()))?
            .check_peer(&c.server_key, &c.region, &c.group, now(), &c.revoked)?;
        let key: [u8; 32] = cert
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| Error::PeerRefused("the certificate's key is not 32 bytes".into()))?;
        let signature: [u8; 64] = signature
            .try_into()
            .map_err(|_| Error::PeerRefused("the session signature is not 64 bytes".into()))?;
        let peer_role = if self.initiator { b'r' } else { b'i' };
        if !evidence::verify(&key, &self.transcript(peer_role)?, &signature) {
            return Err(Error::PeerRefused(
                "the peer does not hold its certificate's key".into(),
            ));
        }
        tracing::info!(peer = %cert.device, "peer authenticated");
        self.summary.peer = Some(cert.device);
        Ok(())
    }

    fn authenticated(&self) -> Result<()> {
        match self.summary.peer {
            Some(_) => Ok(()),
            None => Err(Error::PeerRefused(
                "the peer sent data before proving who it is".into(),
            )),
        }
    }

    /// Sends every record of ours the peer lacks in whole or in part, then `Done`.
    fn send_missing(&mut self, store: &mut Store, held: Vec<Held>) -> Result<()> {
        if self.sent_done {
            return Err(Error::PeerRefused("a second Inventory".into()));
        }
        let mut theirs: HashMap<RecordId, Vec<ChangeHash>> = HashMap::new();
        for h in held {
            let heads = h
                .heads
                .iter()
                .map(|b| ChangeHash::try_from(b.as_slice()))
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| Error::PeerBroken("a head is not 32 bytes".into()))?;
            theirs.insert(h.id, heads);
        }
        for (id, _) in store.peer_inventory()? {
            let Some((full, data)) =
                store.changes_for_peer(&id, theirs.get(&id).map(Vec::as_slice))?
            else {
                continue;
            };
            self.send(&Message::Record {
                id,
                full,
                data: ByteBuf::from(data),
            })?;
            self.summary.records_sent += 1;
        }
        self.send(&Message::Done)?;
        self.sent_done = true;
        Ok(())
    }
}

fn inventory(store: &mut Store) -> Result<Vec<Held>> {
    Ok(store
        .peer_inventory()?
        .into_iter()
        .map(|(id, heads)| Held {
            id,
            heads: heads.iter().map(|h| ByteBuf::from(h.as_ref())).collect(),
        })
        .collect())
}
