//! Evidence media on the phone: content-addressed files under a folder the app chooses.
//!
//! An original is streamed in through a 1 MiB buffer and hashed (SHA-256) on the way, written
//! to a temporary file, synced, and renamed to its hash: a file named `<hash>` is complete and
//! never changes. Importing the same bytes again finds the name taken and stops there.
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
//! The rows that say what each file is (kind, MIME type, verified, evicted) and the upload
//! queue live in the SQLite store: see [`crate::Store::import_media`].

mod references;
mod thumbnail;
#[cfg(feature = "http-client")]
mod tus_client;
mod upload;

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::ids::MediaHash;

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
}

impl MediaStore {
    /// Opens (creating) the media folder at `dir` and clears staging files left by a crash.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
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
        Ok(Self { root })
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
    pub fn import_reader(&self, mut reader: impl Read) -> Result<Imported> {
        let staging = self.staging_path();
        let written = (|| -> Result<(MediaHash, u64)> {
            let mut out = File::create(&staging)?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; BUFFER_SIZE];
            let mut size = 0u64;
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                };
                hasher.update(&buf[..n]);
                out.write_all(&buf[..n])?;
                size += n as u64;
            }
            out.sync_all()?;
            Ok((MediaHash::from_digest(hasher.finalize().into()), size))
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
    pub fn adopt_file(&self, path: impl AsRef<Path>) -> Result<Imported> {
        let path = path.as_ref();
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

    /// The original's path, if it is here (not evicted, not missing).
    pub fn original_path(&self, hash: &MediaHash) -> Option<PathBuf> {
        let path = self.original_file(hash);
        path.is_file().then_some(path)
    }

    /// The thumbnail's path (a JPEG), if one was made.
    pub fn thumbnail_path(&self, hash: &MediaHash) -> Option<PathBuf> {
        let path = self.thumbnail_file(hash);
        path.is_file().then_some(path)
    }

    /// Makes the thumbnail of `hash` from the image at `source` (the photo itself, or the
    /// poster frame of a video), upright per its EXIF orientation, at most
    /// [`THUMBNAIL_MAX_PX`] on its longer side. Returns the thumbnail's path.
    pub fn make_thumbnail(&self, hash: &MediaHash, source: impl AsRef<Path>) -> Result<PathBuf> {
        let staging = self.staging_path();
        let made = thumbnail::write_thumbnail(source.as_ref(), &staging);
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
        let path = self.original_file(hash);
        match fs::metadata(&path) {
            Ok(meta) => {
                fs::remove_file(&path)?;
                Ok(meta.len())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
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

/// Syncs a directory so a rename into it survives power loss.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
