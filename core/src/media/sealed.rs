//! The encrypted media file: STREAM (AES-256-GCM, 32-bit big-endian counter and a
//! last-segment flag in the nonce) over 64 KiB segments, under a random key of the file's own.
//!
//! ```text
//! header (84 bytes): "SPMEDIA\x01" | key id (u32 BE) | nonce (24) | wrapped file key (32 + 16)
//! body:              segment 0 | segment 1 | ... | last segment      each = ciphertext + 16-byte tag
//! ```
//!
//! The file key is wrapped with XChaCha20-Poly1305 by the media key `key id` names (see
//! [`MediaKeys`]), with the header's fields, what the file is (original or thumbnail) and the
//! plaintext's hash as associated data: a header moved onto another file, or a file renamed to
//! another hash, does not open. Segments authenticate their position and whether they are
//! last, so a reordered, cut or extended file fails instead of yielding other plaintext. The
//! plaintext's length follows from the file's length. Any segment can be read on its own,
//! which lets the uploader resume in the middle of a file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use aes_gcm::Aes256Gcm;
use chacha20poly1305::aead::generic_array::GenericArray;
use chacha20poly1305::aead::stream::{NewStream, StreamBE32, StreamPrimitive};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, Zeroizing};

use super::keys::{MediaKeys, RawKey, random_key};
use crate::error::{Error, Result};
use crate::ids::MediaHash;

const MAGIC: &[u8; 8] = b"SPMEDIA\x01";
const NONCE_LEN: usize = 24;
const WRAPPED_LEN: usize = 32 + TAG;
/// Header length: magic, key id, nonce, wrapped key.
pub(crate) const HEADER_LEN: usize = MAGIC.len() + 4 + NONCE_LEN + WRAPPED_LEN;
/// Plaintext bytes per segment.
pub(crate) const SEGMENT: usize = 64 << 10;
const TAG: usize = 16;
const SEALED_SEGMENT: u64 = (SEGMENT + TAG) as u64;

/// What an encrypted file holds; part of what its header authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sealed {
    /// An original capture.
    Original,
    /// A thumbnail JPEG.
    Thumbnail,
}

impl Sealed {
    fn code(self) -> u8 {
        match self {
            Sealed::Original => b'o',
            Sealed::Thumbnail => b't',
        }
    }
}

/// Why an encrypted media file could not be read; surfaces as [`Error::MediaDamaged`].
#[derive(Debug)]
pub(crate) struct Damaged(pub(crate) &'static str);

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Damaged {}

fn damaged(why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, Damaged(why))
}

fn associated_data(key_id: u32, what: Sealed, hash: &MediaHash) -> Vec<u8> {
    let mut aad = Vec::with_capacity(MAGIC.len() + 5 + 64);
    aad.extend_from_slice(MAGIC);
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad.push(what.code());
    aad.extend_from_slice(hash.as_str().as_bytes());
    aad
}

/// The segments' AEAD: AES-256-GCM, which runs on the CPU's AES and carry-less multiply
/// instructions (x86-64 AES-NI, ARMv8 Crypto Extensions) where the phone has them.
type SegmentCipher = Aes256Gcm;

fn stream(file_key: &RawKey) -> StreamBE32<SegmentCipher> {
    let aead = SegmentCipher::new(GenericArray::from_slice(file_key.as_slice()));
    // An all-zero nonce prefix: no key encrypts more than one file.
    StreamBE32::from_aead(aead, &GenericArray::default())
}

/// The writer's key for the segments, as ring holds it.
fn sealing_key(file_key: &RawKey) -> Result<ring::aead::LessSafeKey> {
    let key = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, file_key.as_slice())
        .map_err(|_| Error::Malformed("media file key could not be used".into()))?;
    Ok(ring::aead::LessSafeKey::new(key))
}

/// STREAM's nonce for segment `position`, as [`StreamBE32`] makes it for the reader: the
/// all-zero prefix, the position (32-bit big-endian), then 1 for the last segment, else 0.
fn stream_nonce(position: u32, last: bool) -> ring::aead::Nonce {
    let mut nonce = [0u8; ring::aead::NONCE_LEN];
    nonce[7..11].copy_from_slice(&position.to_be_bytes());
    nonce[11] = u8::from(last);
    ring::aead::Nonce::assume_unique_for_key(nonce)
}

/// Encrypts a stream of plaintext into `out`. The header is written last, once the
/// plaintext's hash (part of the header's associated data) is known.
pub(crate) struct SealWriter<W: Write + Seek> {
    out: W,
    key_id: u32,
    wrapping: RawKey,
    file_key: RawKey,
    /// The same AES-256-GCM under the file key, from ring: its assembly (AES-NI and carry-less
    /// multiply, interleaved) encrypts several times faster than the portable code that reads.
    sealing: ring::aead::LessSafeKey,
    /// Up to one segment of plaintext; sealed once more bytes show it is not the last.
    buf: Vec<u8>,
    position: u32,
}

impl<W: Write + Seek> SealWriter<W> {
    /// Starts an encrypted file with a fresh file key, wrapped by the keyring's newest key.
    pub(crate) fn new(mut out: W, keys: &MediaKeys) -> Result<Self> {
        let (key_id, wrapping) = keys
            .current()
            .ok_or_else(|| Error::Malformed("the store holds no media key".into()))?;
        out.write_all(&[0u8; HEADER_LEN])?;
        let file_key = random_key();
        Ok(Self {
            out,
            key_id,
            wrapping,
            sealing: sealing_key(&file_key)?,
            file_key,
            buf: Vec::with_capacity(SEGMENT + TAG),
            position: 0,
        })
    }

    /// Where the sealed bytes go.
    pub(crate) fn inner(&self) -> &W {
        &self.out
    }

    /// Encrypts `data`, writing every segment it completes.
    pub(crate) fn write(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            if self.buf.len() == SEGMENT {
                self.seal(false)?;
            }
            let take = (SEGMENT - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    fn seal(&mut self, last: bool) -> Result<()> {
        let tag = self
            .sealing
            .seal_in_place_separate_tag(
                stream_nonce(self.position, last),
                ring::aead::Aad::empty(),
                &mut self.buf,
            )
            .map_err(|_| Error::Malformed("media segment could not be encrypted".into()))?;
        self.buf.extend_from_slice(tag.as_ref());
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.position = self
            .position
            .checked_add(1)
            .ok_or_else(|| Error::Malformed("media file too large to encrypt".into()))?;
        Ok(())
    }

    /// Seals the last segment and writes the header naming `hash`. Returns the output.
    pub(crate) fn finish(mut self, what: Sealed, hash: &MediaHash) -> Result<W> {
        self.seal(true)?;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let wrapped = XChaCha20Poly1305::new(GenericArray::from_slice(self.wrapping.as_slice()))
            .encrypt(
                &nonce,
                Payload {
                    msg: self.file_key.as_slice(),
                    aad: &associated_data(self.key_id, what, hash),
                },
            )
            .map_err(|_| Error::Malformed("media key could not be wrapped".into()))?;
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&self.key_id.to_be_bytes());
        header.extend_from_slice(&nonce);
        header.extend_from_slice(&wrapped);
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&header)?;
        Ok(self.out)
    }
}

/// Reads an encrypted file as its plaintext, any range of it, one segment in memory at a time.
pub(crate) struct SealedReader {
    file: File,
    stream: StreamBE32<SegmentCipher>,
    /// Sealed body length (after the header).
    body: u64,
    segments: u64,
    len: u64,
    pos: u64,
    segment: Vec<u8>,
    loaded: Option<u64>,
}

impl SealedReader {
    /// Opens the file, unwraps its key and checks its last segment: a file cut short or
    /// extended fails here, before any plaintext is handed out.
    pub(crate) fn open(
        mut file: File,
        keys: &MediaKeys,
        what: Sealed,
        hash: &MediaHash,
    ) -> io::Result<Self> {
        let file_len = file.metadata()?.len();
        if file_len < (HEADER_LEN + TAG) as u64 {
            return Err(damaged("encrypted media file is shorter than its header"));
        }
        let mut header = [0u8; HEADER_LEN];
        file.read_exact(&mut header)?;
        let (magic, rest) = header.split_at(MAGIC.len());
        if magic != MAGIC {
            return Err(damaged("not an encrypted media file"));
        }
        let (id, rest) = rest.split_at(4);
        let (nonce, wrapped) = rest.split_at(NONCE_LEN);
        let key_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
        let wrapping = keys
            .get(key_id)
            .ok_or_else(|| damaged("media file names a key this store does not hold"))?;
        let mut unwrapped = XChaCha20Poly1305::new(GenericArray::from_slice(wrapping.as_slice()))
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: wrapped,
                    aad: &associated_data(key_id, what, hash),
                },
            )
            .map_err(|_| damaged("media file header does not authenticate"))?;
        let mut file_key = Zeroizing::new([0u8; 32]);
        file_key.copy_from_slice(&unwrapped);
        unwrapped.zeroize();

        let body = file_len - HEADER_LEN as u64;
        let segments = body.div_ceil(SEALED_SEGMENT).max(1);
        if segments > u64::from(u32::MAX) + 1 || body - (segments - 1) * SEALED_SEGMENT < TAG as u64
        {
            return Err(damaged("encrypted media file has a broken last segment"));
        }
        let mut reader = Self {
            file,
            stream: stream(&file_key),
            body,
            segments,
            len: body - segments * TAG as u64,
            pos: 0,
            segment: Vec::with_capacity(SEGMENT + TAG),
            loaded: None,
        };
        reader.load(segments - 1)?;
        Ok(reader)
    }

    /// The plaintext's length.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    fn load(&mut self, index: u64) -> io::Result<()> {
        let last = index + 1 == self.segments;
        let start = index * SEALED_SEGMENT;
        let sealed_len = if last {
            self.body - start
        } else {
            SEALED_SEGMENT
        };
        self.loaded = None;
        self.segment.resize(sealed_len as usize, 0);
        self.file.seek(SeekFrom::Start(HEADER_LEN as u64 + start))?;
        self.file.read_exact(&mut self.segment)?;
        // `index` < 2^32: checked at open.
        self.stream
            .decrypt_in_place(index as u32, last, &[], &mut self.segment)
            .map_err(|_| damaged("encrypted media segment does not authenticate"))?;
        self.loaded = Some(index);
        Ok(())
    }
}

impl Read for SealedReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || out.is_empty() {
            return Ok(0);
        }
        let index = self.pos / SEGMENT as u64;
        if self.loaded != Some(index) {
            self.load(index)?;
        }
        let start = (self.pos - index * SEGMENT as u64) as usize;
        let n = out.len().min(self.segment.len() - start);
        out[..n].copy_from_slice(&self.segment[start..start + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SealedReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn keys() -> MediaKeys {
        MediaKeys::new([(1, random_key())])
    }

    fn hash_of(data: &[u8]) -> MediaHash {
        use sha2::{Digest, Sha256};
        MediaHash::from_digest(Sha256::digest(data).into())
    }

    fn seal(keys: &MediaKeys, data: &[u8]) -> Vec<u8> {
        let mut writer = SealWriter::new(Cursor::new(Vec::new()), keys).expect("writer");
        // Odd pieces: segment boundaries must not depend on how the caller writes.
        for piece in data.chunks(7919) {
            writer.write(piece).expect("write");
        }
        writer
            .finish(Sealed::Original, &hash_of(data))
            .expect("finish")
            .into_inner()
    }

    fn open(keys: &MediaKeys, sealed: &[u8], hash: &MediaHash) -> io::Result<SealedReader> {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("f");
        std::fs::write(&path, sealed).expect("write");
        SealedReader::open(File::open(&path)?, keys, Sealed::Original, hash)
    }

    #[test]
    fn every_length_around_segment_boundaries_round_trips() {
        let keys = keys();
        for len in [
            0,
            1,
            SEGMENT - 1,
            SEGMENT,
            SEGMENT + 1,
            3 * SEGMENT,
            3 * SEGMENT + 5,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let sealed = seal(&keys, &data);
            let mut reader = open(&keys, &sealed, &hash_of(&data)).expect("open");
            assert_eq!(reader.len(), len as u64);
            let mut back = Vec::new();
            reader.read_to_end(&mut back).expect("read");
            assert!(back == data, "length {len}");
            if len > 10 {
                reader.seek(SeekFrom::Start(len as u64 - 10)).expect("seek");
                let mut tail = [0u8; 10];
                reader.read_exact(&mut tail).expect("tail");
                assert_eq!(tail, data[len - 10..]);
            }
        }
    }

    #[test]
    fn cut_flipped_or_renamed_files_fail_instead_of_yielding_plaintext() {
        let keys = keys();
        let data: Vec<u8> = (0..3 * SEGMENT + 100).map(|i| (i % 253) as u8).collect();
        let hash = hash_of(&data);
        let sealed = seal(&keys, &data);
        let read_all = |bytes: &[u8], hash: &MediaHash| -> io::Result<Vec<u8>> {
            let mut out = Vec::new();
            open(&keys, bytes, hash)?.read_to_end(&mut out)?;
            Ok(out)
        };
        let cut_at_boundary = &sealed[..HEADER_LEN + 2 * SEALED_SEGMENT as usize];
        let cut_inside = &sealed[..sealed.len() - 1];
        let mut flipped = sealed.clone();
        flipped[HEADER_LEN + 5] ^= 1;
        let mut extended = sealed.clone();
        extended.extend_from_slice(&[0; 40]);
        for bad in [cut_at_boundary, cut_inside, &flipped[..], &extended[..]] {
            let err = read_all(bad, &hash).expect_err("must fail");
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        }
        assert!(read_all(&sealed, &hash_of(b"other")).is_err());
        assert!(read_all(&sealed, &hash).is_ok());
        let other_keys = MediaKeys::new([(1, random_key())]);
        let mut wrong = Vec::new();
        let opened = open(&other_keys, &sealed, &hash).and_then(|mut r| r.read_to_end(&mut wrong));
        assert!(opened.is_err());
    }

    #[test]
    fn the_writers_segments_are_the_readers_stream_to_the_byte() {
        let key = random_key();
        let sealing = sealing_key(&key).expect("key");
        let reference = stream(&key);
        for (position, last) in [(0, false), (1, false), (7, true), (u32::MAX, true)] {
            let plain: Vec<u8> = (0..1000u32)
                .map(|i| i.wrapping_mul(31).wrapping_add(position) as u8)
                .collect();
            let mut ours = plain.clone();
            let tag = sealing
                .seal_in_place_separate_tag(
                    stream_nonce(position, last),
                    ring::aead::Aad::empty(),
                    &mut ours,
                )
                .expect("seal");
            ours.extend_from_slice(tag.as_ref());
            let theirs = reference
                .encrypt(position, last, plain.as_slice())
                .expect("encrypt");
            assert_eq!(ours, theirs, "segment {position}, last {last}");
        }
    }
}
