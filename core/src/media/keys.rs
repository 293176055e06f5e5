//! The media keyring: the keys that wrap each media file's own key.
//!
//! Every encrypted file has a random key of its own, wrapped (XChaCha20-Poly1305) in the
//! file's header by one of these keys, named by its id. The keys live in the `media_keys`
//! table, that is inside the SQLCipher database, so the store key protects them and a re-key
//! of the store re-encrypts them with everything else; the files are never rewritten.
//! `Store::rekey` also adds a fresh key that wraps the files captured from then on, so an old
//! copy of the database opened with an old store key reveals nothing captured later.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use zeroize::Zeroizing;

/// One 32-byte key, wiped on drop.
pub(crate) type RawKey = Zeroizing<[u8; 32]>;

/// The media keyring, shared between a `Store` and the `MediaStore`s it opened: a key added
/// by a re-key is used by every holder at once.
#[derive(Clone, Default)]
pub struct MediaKeys {
    inner: Arc<RwLock<Ring>>,
}

#[derive(Default)]
struct Ring {
    keys: BTreeMap<u32, RawKey>,
}

impl MediaKeys {
    pub(crate) fn new(keys: impl IntoIterator<Item = (u32, RawKey)>) -> Self {
        Self {
            inner: Arc::new(RwLock::new(Ring {
                keys: keys.into_iter().collect(),
            })),
        }
    }

    /// The newest key, which wraps new files.
    pub(crate) fn current(&self) -> Option<(u32, RawKey)> {
        let ring = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        ring.keys.iter().next_back().map(|(id, k)| (*id, k.clone()))
    }

    /// The key with id `id`, if the ring holds it.
    pub(crate) fn get(&self, id: u32) -> Option<RawKey> {
        let ring = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        ring.keys.get(&id).cloned()
    }

    pub(crate) fn add(&self, id: u32, key: RawKey) {
        let mut ring = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        ring.keys.insert(id, key);
    }
}

impl std::fmt::Debug for MediaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ring = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("MediaKeys")
            .field("ids", &ring.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A fresh random key.
pub(crate) fn random_key() -> RawKey {
    use chacha20poly1305::aead::rand_core::RngCore;
    let mut key = Zeroizing::new([0u8; 32]);
    chacha20poly1305::aead::OsRng.fill_bytes(key.as_mut_slice());
    key
}
