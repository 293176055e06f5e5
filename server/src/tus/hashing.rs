//! The whole-file SHA-256 of an upload, kept across requests and processes: after every
//! accepted chunk the hash's internal state is saved with the offset in the upload's database
//! row ([`HashProgress`]), so whichever process receives the next `PATCH` continues it, and
//! completion never reads the staged bytes back.

use sha2::digest::common::hazmat::SerializableState;
use sha2::{Digest, Sha256};

use super::error::TusError;
use crate::blob::HashProgress;

/// A running whole-file hash and how many bytes it has seen.
#[derive(Clone)]
pub(super) struct WholeHash {
    hasher: Sha256,
    bytes: u64,
}

impl WholeHash {
    /// The hash of no bytes.
    pub(super) fn new() -> Self {
        Self {
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Continues from a saved state.
    pub(super) fn resume(saved: &HashProgress) -> Result<Self, TusError> {
        let corrupt = |why: String| TusError::Internal(format!("saved hash state: {why}"));
        let raw = hex::decode(&saved.state).map_err(|e| corrupt(e.to_string()))?;
        let state = raw
            .as_slice()
            .try_into()
            .map_err(|_| corrupt(format!("{} bytes", raw.len())))?;
        let hasher = Sha256::deserialize(state).map_err(|e| corrupt(format!("{e:?}")))?;
        Ok(Self {
            hasher,
            bytes: saved.bytes,
        })
    }

    /// Hashes `data`.
    pub(super) fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
    }

    /// How many bytes it has seen.
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The state to save with the upload.
    pub(super) fn progress(&self) -> HashProgress {
        HashProgress {
            bytes: self.bytes,
            state: hex::encode(self.hasher.serialize()),
        }
    }

    /// The digest of every byte seen.
    pub(super) fn finalize(self) -> [u8; 32] {
        self.hasher.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Saved and resumed at every split point, the hash is that of the whole input.
    #[test]
    fn a_hash_saved_and_resumed_anywhere_equals_the_whole_files() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        let whole: [u8; 32] = Sha256::digest(&data).into();
        for split in 0..=data.len() {
            let mut first = WholeHash::new();
            first.update(&data[..split]);
            let saved = first.progress();
            assert_eq!(saved.bytes, split as u64);
            let mut second = WholeHash::resume(&saved).expect("resume");
            second.update(&data[split..]);
            assert_eq!(second.finalize(), whole, "split at {split}");
        }
    }

    #[test]
    fn a_damaged_saved_state_is_refused() {
        let mut saved = WholeHash::new().progress();
        saved.state.truncate(10);
        assert!(WholeHash::resume(&saved).is_err());
        saved.state = "zz".into();
        assert!(WholeHash::resume(&saved).is_err());
    }
}
