//! [`MediaReader`]: a stored file's plaintext, whether the store encrypts or not.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use super::keys::MediaKeys;
use super::sealed::{Sealed, SealedReader};
use crate::error::Result;
use crate::ids::MediaHash;

/// A stored original or thumbnail, read as plaintext from any offset. In an encrypted store
/// it decrypts one 64 KiB segment at a time; a damaged file fails the read with
/// `io::ErrorKind::InvalidData`.
pub struct MediaReader {
    inner: Inner,
    len: u64,
}

enum Inner {
    Plain(File),
    Sealed(Box<SealedReader>),
}

impl MediaReader {
    pub(crate) fn plain(file: File) -> Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self {
            inner: Inner::Plain(file),
            len,
        })
    }

    pub(crate) fn sealed(
        file: File,
        keys: &MediaKeys,
        what: Sealed,
        hash: &MediaHash,
    ) -> Result<Self> {
        let reader = SealedReader::open(file, keys, what, hash)?;
        Ok(Self {
            len: reader.len(),
            inner: Inner::Sealed(Box::new(reader)),
        })
    }

    /// The plaintext's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the plaintext is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for MediaReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(file) => file.read(buf),
            Inner::Sealed(sealed) => sealed.read(buf),
        }
    }
}

impl Seek for MediaReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match &mut self.inner {
            Inner::Plain(file) => file.seek(to),
            Inner::Sealed(sealed) => sealed.seek(to),
        }
    }
}
