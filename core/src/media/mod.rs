//! Evidence media on the phone: content-addressed files under a folder the app chooses.
//!
//! An original is streamed in through 1 MiB buffers and hashed (SHA-256) on the way while
//! another thread writes it to a temporary file, synced, and renamed to its hash: a file named
//! `<hash>` is complete and never changes. Importing the same bytes again finds the name taken and stops there.
//! Thumbnails (photos, and video posters the platform extracts) sit beside the originals and
//! stay when an original is evicted after the server verified it.
//!
//! ```
//! use siteproof_core::media::MediaStore;
//!
//! # fn main() -> siteproof_core::Result<()> {
//! let dir = tempfile::tempdir()?;
//! let media = MediaStore::open(dir.path())?;
//! let first = media.import_reader(&b"footage"[..])?;
//! let again = media.import_reader(&b"footage"[..])?;
//! assert_eq!(first.hash, again.hash);
//! assert!(media.original_path(&first.hash).is_some());
//! # Ok(()) }
//! ```
//!
//! A store opened with a key ([`crate::Store::open_encrypted`]) hands out a media store that
//! encrypts every original and thumbnail ([`crate::Store::media_store`]); files keep their
//! plaintext hash as name, and reads go through [`MediaStore::open_original`] and
//! [`MediaStore::thumbnail_bytes`], which decrypt and refuse damaged files.
//!
//! The rows that say what each file is (kind, MIME type, verified, evicted) and the upload
//! queue live in the SQLite store: see [`crate::Store::import_media`].

pub mod checksum;
mod keys;
mod reader;
mod references;
mod sealed;
mod sink;
mod thumbnail;
#[cfg(feature = "http-client")]
mod tus_body;
#[cfg(feature = "http-client")]
mod tus_client;
#[cfg(feature = "http-client")]
mod tus_config;
mod upload;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ids::MediaHash;
pub(crate) use keys::{MediaKeys, RawKey, random_key};
pub use reader::MediaReader;
pub(crate) use sealed::Damaged;
use sealed::Sealed;
use sink::Sink;
pub use sink::start_writeback;

pub use references::references_media;
pub use thumbnail::{THUMBNAIL_MAX_PX, thumbnail_jpeg};
#[cfg(feature = "http-client")]
pub use tus_client::{UploadRun, Uploader, UploaderConfig};
pub use upload::{Network, UploadItem, UploadPolicy, UploadProgress, UploadState};

/// The streaming buffer: large enough that hashing and writing run at disk speed, small
/// enough for any phone.
pub const BUFFER_SIZE: usize = 1 << 20;

const ORIGINALS: &str = "originals";
const THUMBNAILS: &str = "thumbnails";
const STAGING: &str = "staging";

/// What an import produced: the content's hash and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// SHA-256 of the bytes, the file's name.
    pub hash: MediaHash,
    /// Size in bytes.
    pub size: u64,
    /// False when a file with this hash was already there (nothing was written).
    pub new: bool,
}

/// The content-addressed media folder.
#[derive(Clone, Debug)]
pub struct MediaStore {
    root: PathBuf,
    /// The keyring of an encrypted store; `None`: files are stored as they are.
    keys: Option<MediaKeys>,
}

impl MediaStore {
    /// Opens (creating) an unencrypted media folder at `dir` and clears staging files left by
    /// a crash. An encrypted store's media folder comes from [`crate::Store::media_store`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_keys(dir, None)
    }

    pub(crate) fn open_with_keys(dir: impl AsRef<Path>, keys: Option<MediaKeys>) -> Result<Self> {
        let root = dir.as_ref().to_path_buf();
        for sub in [ORIGINALS, THUMBNAILS, STAGING] {
            fs::create_dir_all(root.join(sub))?;
        }
        // A staging file is only ever half an import: the rename that completes one is atomic.
        for entry in fs::read_dir(root.join(STAGING))? {
            let path = entry?.path();
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!(error = %e, "could not remove a stale staging file");
            }
        }
        Ok(Self { root, keys })
    }

    /// Whether files are encrypted at rest.
    pub fn is_encrypted(&self) -> bool {
        self.keys.is_some()
    }

    /// The folder this store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Imports the file at `path` (streamed, never read whole).
    pub fn import_file(&self, path: impl AsRef<Path>) -> Result<Imported> {
        self.import_reader(File::open(path)?)
    }

    /// Imports everything `reader` yields, hashing on the way.
    pub fn import_reader(&self, reader: impl Read) -> Result<Imported> {
        self.import_checked(reader, None)
    }

    /// Imports everything `reader` yields only if its hash is `expected` (bytes from a peer):
    /// other bytes are [`Error::MediaDamaged`] and nothing is stored.
    pub fn import_verified(&self, reader: impl Read, expected: &MediaHash) -> Result<Imported> {
        self.import_checked(reader, Some(expected))
    }

    fn import_checked(
        &self,
        mut reader: impl Read,
        expected: Option<&MediaHash>,
    ) -> Result<Imported> {
        let staging = self.staging_path();
        let written = (|| -> Result<(MediaHash, u64)> {
            let out = Sink::new(File::create(&staging)?, self.keys.as_ref())?;
            let (hash, size, out) = sink::copy_hashed(&mut reader, out)?;
            if let Some(expected) = expected
                && expected != &hash
            {
                return Err(Error::MediaDamaged {
                    hash: expected.to_string(),
                    reason: "the bytes do not match their hash".into(),
                });
            }
            out.finish(Sealed::Original, &hash)?.sync_all()?;
            Ok((hash, size))
        })();
        let (hash, size) = match written {
            Ok(done) => done,
            Err(e) => {
                let _ = fs::remove_file(&staging);
                return Err(e);
            }
        };
        let target = self.original_file(&hash);
        if target.exists() {
            fs::remove_file(&staging)?;
            return Ok(Imported {
                hash,
                size,
                new: false,
            });
        }
        fs::rename(&staging, &target)?;
        sync_dir(&self.root.join(ORIGINALS))?;
        Ok(Imported {
            hash,
            size,
            new: true,
        })
    }

    /// Takes over a finished file (a recording the platform wrote on the same file system)
    /// without copying it: hashes it, syncs it and renames it to its hash. The file must not
    /// change any more; for multi-GB footage this halves the disk traffic of an import. If the
    /// hash is already stored, the file is deleted. Falls back to a copy across file systems.
    ///
    /// An encrypted store cannot take the plaintext over: it imports the file (one pass that
    /// reads, hashes and encrypts it) and then deletes it.
    pub fn adopt_file(&self, path: impl AsRef<Path>) -> Result<Imported> {
        let path = path.as_ref();
        if self.keys.is_some() {
            let imported = self.import_file(path)?;
            fs::remove_file(path)?;
            return Ok(imported);
        }
        let file = File::open(path)?;
        let (hash, size) = Self::hash_reader(&file)?;
        let target = self.original_file(&hash);
        if target.exists() {
            fs::remove_file(path)?;
            return Ok(Imported {
                hash,
                size,
                new: false,
            });
        }
        file.sync_all()?;
        drop(file);
        if fs::rename(path, &target).is_err() {
            let copied = self.import_file(path)?;
            fs::remove_file(path)?;
            return Ok(copied);
        }
        sync_dir(&self.root.join(ORIGINALS))?;
        Ok(Imported {
            hash,
            size,
            new: true,
        })
    }

    /// Hashes a file without importing it.
    pub fn hash_file(path: impl AsRef<Path>) -> Result<(MediaHash, u64)> {
        Self::hash_reader(File::open(path)?)
    }

    /// Hashes everything `reader` yields, through the same 1 MiB buffer as an import.
    pub fn hash_reader(mut reader: impl Read) -> Result<(MediaHash, u64)> {
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; BUFFER_SIZE];
        let mut size = 0u64;
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    size += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok((MediaHash::from_digest(hasher.finalize().into()), size))
    }

    /// The original's plaintext, if it is here (not evicted, not missing): decrypted as it is
    /// read in an encrypted store, which checks every segment and fails with
    /// [`Error::MediaDamaged`] rather than hand out altered bytes.
    pub fn open_original(&self, hash: &MediaHash) -> Result<Option<MediaReader>> {
        let Some(path) = self.original_path(hash) else {
            return Ok(None);
        };
        self.open_file(&path, Sealed::Original, hash).map(Some)
    }

    /// Copies the original's plaintext to `dest` (e.g. for a video player or a share sheet,
    /// which cannot read the encrypted file). Returns the bytes written. The copy is outside
    /// the store's protection: put it in a private cache folder and delete it after use.
    pub fn export_original(&self, hash: &MediaHash, dest: impl AsRef<Path>) -> Result<u64> {
        let mut reader = self
            .open_original(hash)?
            .ok_or_else(|| Error::MediaMissing(hash.to_string()))?;
        let mut out = File::create(dest)?;
        let mut buf = vec![0u8; BUFFER_SIZE];
        let mut copied = 0u64;
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| Error::from(e).for_media(hash))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
            copied += n as u64;
        }
        out.sync_all()?;
        Ok(copied)
    }

    /// The thumbnail's JPEG bytes (decrypted), if one was made.
    pub fn thumbnail_bytes(&self, hash: &MediaHash) -> Result<Option<Vec<u8>>> {
        let Some(path) = self.thumbnail_path(hash) else {
            return Ok(None);
        };
        let mut reader = self.open_file(&path, Sealed::Thumbnail, hash)?;
        let mut out = Vec::with_capacity(reader.len() as usize);
        reader
            .read_to_end(&mut out)
            .map_err(|e| Error::from(e).for_media(hash))?;
        Ok(Some(out))
    }

    fn open_file(&self, path: &Path, what: Sealed, hash: &MediaHash) -> Result<MediaReader> {
        let file = File::open(path)?;
        let reader = match &self.keys {
            None => MediaReader::plain(file),
            Some(keys) => MediaReader::sealed(file, keys, what, hash),
        };
        reader.map_err(|e| e.for_media(hash))
    }

    /// Where the original is stored, if it is here (not evicted, not missing). In an
    /// encrypted store the file holds ciphertext: read it with [`Self::open_original`].
    pub fn original_path(&self, hash: &MediaHash) -> Option<PathBuf> {
        let path = self.original_file(hash);
        path.is_file().then_some(path)
    }

    /// Where the thumbnail is stored, if one was made: a JPEG, or in an encrypted store its
    /// ciphertext (read it with [`Self::thumbnail_bytes`]).
    pub fn thumbnail_path(&self, hash: &MediaHash) -> Option<PathBuf> {
        let path = self.thumbnail_file(hash);
        path.is_file().then_some(path)
    }

    /// Makes the thumbnail of `hash` from the image at `source` (the photo itself, or the
    /// poster frame of a video), upright per its EXIF orientation, at most
    /// [`THUMBNAIL_MAX_PX`] on its longer side. Returns the thumbnail's path.
    pub fn make_thumbnail(&self, hash: &MediaHash, source: impl AsRef<Path>) -> Result<PathBuf> {
        let jpeg = thumbnail::thumbnail_of(io::BufReader::new(File::open(source)?))?;
        self.store_thumbnail(hash, &jpeg)
    }

    /// Makes the thumbnail of a photo from its stored original (decrypted on the way).
    pub fn make_thumbnail_of_original(&self, hash: &MediaHash) -> Result<PathBuf> {
        let original = self
            .open_original(hash)?
            .ok_or_else(|| Error::MediaMissing(hash.to_string()))?;
        let jpeg = thumbnail::thumbnail_of(io::BufReader::with_capacity(BUFFER_SIZE, original))
            .map_err(|e| e.for_media(hash))?;
        self.store_thumbnail(hash, &jpeg)
    }

    /// Stores a thumbnail of `hash` that came from elsewhere (a peer): the image is decoded
    /// and encoded again, so only a picture of at most [`THUMBNAIL_MAX_PX`] is kept.
    pub fn adopt_thumbnail(&self, hash: &MediaHash, image: &[u8]) -> Result<PathBuf> {
        self.store_thumbnail(hash, &thumbnail_jpeg(image)?)
    }

    fn store_thumbnail(&self, hash: &MediaHash, jpeg: &[u8]) -> Result<PathBuf> {
        let staging = self.staging_path();
        let made = (|| -> Result<()> {
            let mut out = Sink::new(File::create(&staging)?, self.keys.as_ref())?;
            out.write(jpeg)?;
            out.finish(Sealed::Thumbnail, hash)?.sync_all()?;
            Ok(())
        })();
        if let Err(e) = made {
            let _ = fs::remove_file(&staging);
            return Err(e);
        }
        let target = self.thumbnail_file(hash);
        fs::rename(&staging, &target)?;
        sync_dir(&self.root.join(THUMBNAILS))?;
        Ok(target)
    }

    /// Deletes the original of `hash`, keeping its thumbnail. Returns the bytes freed.
    pub fn evict_original(&self, hash: &MediaHash) -> Result<u64> {
        match self.detach_original(hash)? {
            Some(detached) => detached.delete(),
            None => Ok(0),
        }
    }

    /// Takes the original of `hash` out of the store at once (a rename into `staging/`, which
    /// the next open clears should the process stop): from here on the store no longer holds
    /// it and an import of the same bytes writes a new copy. Freeing its space is
    /// [`DetachedOriginal::delete`], which takes a while for a large file and needs no lock
    /// on the store. `None` if there is no such original.
    pub fn detach_original(&self, hash: &MediaHash) -> Result<Option<DetachedOriginal>> {
        let (path, detached) = (self.original_file(hash), self.staging_path());
        match fs::rename(&path, &detached) {
            Ok(()) => Ok(Some(DetachedOriginal { path: detached })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn original_file(&self, hash: &MediaHash) -> PathBuf {
        // A MediaHash is 64 hex digits by construction: it can never name another folder.
        self.root.join(ORIGINALS).join(hash.as_str())
    }

    fn thumbnail_file(&self, hash: &MediaHash) -> PathBuf {
        self.root.join(THUMBNAILS).join(format!("{hash}.jpg"))
    }

    fn staging_path(&self) -> PathBuf {
        self.root
            .join(STAGING)
            .join(uuid::Uuid::new_v4().to_string())
    }
}

/// Bytes a deleted original gives back per step (see [`delete_large_file`]).
const DELETE_STEP: u64 = 128 << 20;

/// An original taken out of the store, waiting to be deleted.
#[derive(Debug)]
pub struct DetachedOriginal {
    path: PathBuf,
}

impl DetachedOriginal {
    /// Deletes the file and returns the bytes freed, a step at a time ([`delete_large_file`]).
    pub fn delete(self) -> Result<u64> {
        delete_large_file(&self.path)
    }
}

/// Deletes the file at `path` and returns the bytes freed (0 when it is already gone). A large
/// file is cut from its end in steps of 128 MiB, each made durable before the next: a file
/// system that frees (and, mounted with `discard`, trims) a whole recording's blocks in one
/// journal commit makes every other commit on the disk wait for it (a capture's, 400 ms for
/// 2.4 GB here), while a step at a time keeps that wait to one step's.
pub fn delete_large_file(path: &Path) -> Result<u64> {
    delete_in_steps(path, DELETE_STEP)
}

fn delete_in_steps(path: &Path, step: u64) -> Result<u64> {
    let file = match OpenOptions::new().write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let size = file.metadata()?.len();
    let mut len = size;
    while len > step {
        len -= step;
        file.set_len(len)?;
        file.sync_data()?;
    }
    drop(file);
    fs::remove_file(path)?;
    Ok(size)
}

/// Syncs a directory so a rename into it survives power loss.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A detached original deleted in steps smaller than itself (the last one partial) frees
    /// every byte and leaves no file; one already gone frees nothing.
    #[test]
    fn an_original_deleted_in_steps_is_gone_whole() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("original");
        fs::write(&path, vec![7u8; 10 * 4096 + 100]).expect("write");
        assert_eq!(delete_in_steps(&path, 4096).expect("delete"), 41_060);
        assert!(!path.exists());
        let gone = DetachedOriginal { path };
        assert_eq!(gone.delete().expect("delete"), 0);
    }
}
