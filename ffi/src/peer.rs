//! `PeerSession`: a merge with a teammate's device, as a byte stream the app carries over its
//! platform channel (Wi-Fi Direct, Nearby, a socket). Delegates to the core's session
//! (`docs/peer-sync.md`).

use std::sync::{Arc, Mutex, PoisonError};

use siteproof_core::peer;

use crate::error::ApiResult;
use crate::store::SiteproofStore;

/// One peer session over a channel the app provides. Loop: send `take_output()` to the peer,
/// hand what arrives to `feed`, until `is_finished()` (then close the channel) or an error
/// (close the channel; a new session starts afresh and completes what this one did not).
#[derive(uniffi::Object)]
pub struct PeerSession {
    store: Arc<SiteproofStore>,
    inner: Mutex<peer::PeerSession>,
}

/// What a peer session did.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PeerSummary {
    /// The peer's device id, once its certificate was accepted.
    pub peer: Option<String>,
    /// Records sent.
    pub records_sent: u64,
    /// Records received and merged.
    pub records_received: u64,
    /// Records that changed here.
    pub records_updated: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Media files received and stored (thumbnails, and whole verified originals).
    pub media_received: u64,
}

#[uniffi::export]
impl PeerSession {
    /// Starts a session on `store`: `initiator` on the device that opened the channel. The
    /// store must be enrolled (it holds the device certificate).
    #[uniffi::constructor]
    pub fn new(store: Arc<SiteproofStore>, initiator: bool) -> ApiResult<Self> {
        let inner = peer::PeerSession::new(&store.store(), initiator)?;
        Ok(Self {
            store,
            inner: Mutex::new(inner),
        })
    }

    /// A session that also exchanges media, after the records: thumbnails always, and the
    /// originals asked for (`all_originals`, or those of the hashes in `originals`); an
    /// original cut off is completed by a later session, and each is checked against its
    /// hash before it is stored.
    #[uniffi::constructor]
    pub fn with_media(
        store: Arc<SiteproofStore>,
        initiator: bool,
        all_originals: bool,
        originals: Vec<String>,
    ) -> ApiResult<Self> {
        let wanted = if all_originals {
            peer::Originals::All
        } else if originals.is_empty() {
            peer::Originals::None
        } else {
            peer::Originals::Only(
                originals
                    .iter()
                    .map(|h| h.parse())
                    .collect::<siteproof_core::Result<_>>()?,
            )
        };
        let inner =
            peer::PeerSession::with_media(&store.store(), initiator, store.media_store(), wanted)?;
        Ok(Self {
            store,
            inner: Mutex::new(inner),
        })
    }

    /// Takes bytes from the peer; records they complete are merged into the store.
    pub fn feed(&self, bytes: Vec<u8>) -> ApiResult<()> {
        Ok(self.session().feed(&mut self.store.store(), &bytes)?)
    }

    /// Bytes to send to the peer (empty when there are none).
    pub fn take_output(&self) -> Vec<u8> {
        self.session().take_output()
    }

    /// Whether both sides have sent everything (send any last output, then close).
    pub fn is_finished(&self) -> bool {
        self.session().is_finished()
    }

    /// What the session did so far.
    pub fn summary(&self) -> PeerSummary {
        let s = self.session().summary().clone();
        PeerSummary {
            peer: s.peer.map(|d| d.to_string()),
            records_sent: s.records_sent,
            records_received: s.records_received,
            records_updated: s.records_updated,
            bytes_sent: s.bytes_sent,
            bytes_received: s.bytes_received,
            media_received: s.media_received,
        }
    }
}

impl PeerSession {
    fn session(&self) -> std::sync::MutexGuard<'_, peer::PeerSession> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
