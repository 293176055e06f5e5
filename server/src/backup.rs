//! Backups of the embedded default, taken while the server runs, and restores onto an empty
//! data directory.
//!
//! A backup folder holds:
//!
//! ```text
//! <to>/manifest.json               written last: a backup without it is unfinished
//! <to>/siteproof-<ms>.db           the database, one consistent snapshot
//! <to>/blobs/<sha256>              media, named by their hash, copied once
//! <to>/meta/<sha256>.json          media metadata (which records name the file)
//! ```
//!
//! The database is copied with SQLite's online backup API in one step: a read transaction
//! sees one committed state while the server's writer goes on (WAL). Media files are copied
//! after it, so every file the snapshot names is already stored (a file is committed before
//! the rows that name it). Files are content-addressed and never change: a later backup into
//! the same folder copies only the new ones, and every copy is hashed as it is written.
//! Thumbnails are left out (made again on demand), and so are unfinished uploads (clients
//! resume them by creating them again).
//!
//! Devices that synced after the backup was taken are repaired when they next sync with the
//! restored server (the cursor check, docs/sync-protocol.md).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::blob::BLOBS_DIR;
use crate::blob::{FINISHED_DIR, META_DIR};
use crate::storage::{DATABASE_FILE, FileCopyError, check_database_file, copy_database_file};

/// The manifest's name in a backup folder.
pub const MANIFEST: &str = "manifest.json";
/// The version of the manifest's layout.
const FORMAT: u32 = 1;
const BUFFER: usize = 1 << 20;

/// Why a backup or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: io::Error,
    },
    /// SQLite refused.
    #[error("the database: {0}")]
    Database(String),
    /// The data directory has no database.
    #[error("no database at {0} (is this a data directory?)")]
    NoDatabase(PathBuf),
    /// The database stayed locked while the snapshot was tried again for a while.
    #[error("the database stayed locked for 10 s; try again")]
    Locked,
    /// A restore's target already holds something.
    #[error("{0} is not empty: a restore goes into an empty data directory only")]
    NotEmpty(PathBuf),
    /// The folder is not a finished backup.
    #[error("{0} has no readable manifest: not a backup, or one that did not finish ({1})")]
    NoManifest(PathBuf, String),
    /// A file of the backup is missing or does not match the manifest.
    #[error("the backup is damaged: {0}")]
    Damaged(String),
}

type Result<T> = std::result::Result<T, BackupError>;

/// One file named in the manifest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Its path relative to the backup folder.
    pub file: String,
    /// Its length in bytes.
    pub size: u64,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
}

/// What a backup holds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Layout version (1).
    pub format: u32,
    /// When the database snapshot was taken (ms since the epoch).
    pub created_at: i64,
    /// The database snapshot.
    pub database: FileEntry,
    /// Media files (each named by its SHA-256).
    pub blobs: Vec<FileEntry>,
    /// Media metadata files.
    pub meta: Vec<FileEntry>,
}

/// What a backup did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupReport {
    /// The manifest written.
    pub manifest: Manifest,
    /// Media files copied by this run (the others were in the folder already).
    pub blobs_copied: usize,
    /// Bytes copied by this run, database included.
    pub bytes_copied: u64,
    /// Media files in the data directory whose bytes do not match their name: left out of
    /// the backup and named here, for `admin evidence verify` to look at.
    pub damaged: Vec<String>,
}

/// Backs `data_dir` up into `to` (created if missing; a previous backup there is updated,
/// copying only media it lacks). Safe while a server uses `data_dir`.
pub fn backup(data_dir: &Path, to: &Path) -> Result<BackupReport> {
    let source_db = data_dir.join(DATABASE_FILE);
    if !source_db.is_file() {
        return Err(BackupError::NoDatabase(source_db));
    }
    for dir in [to.to_path_buf(), to.join(FINISHED_DIR), to.join(META_DIR)] {
        fs::create_dir_all(&dir).map_err(io_err(format!("cannot create {}", dir.display())))?;
    }
    let previous: BTreeMap<String, FileEntry> = read_manifest(to)
        .map(|m| m.blobs.into_iter().map(|b| (b.file.clone(), b)).collect())
        .unwrap_or_default();

    let created_at = siteproof_core::now();
    let db_name = format!("siteproof-{created_at}.db");
    let database = snapshot_database(&source_db, &to.join(&db_name))?;
    let mut bytes_copied = database.size;
    let database = FileEntry {
        file: db_name,
        ..database
    };

    let (mut blobs, mut blobs_copied, mut damaged) = (Vec::new(), 0, Vec::new());
    let store = data_dir.join(BLOBS_DIR);
    for name in file_names(&store.join(FINISHED_DIR))? {
        let Ok(hash) = name.parse::<siteproof_core::MediaHash>() else {
            continue; // not a finished file (a temporary name)
        };
        let file = format!("{FINISHED_DIR}/{hash}");
        let target = to.join(&file);
        let size = fs::metadata(store.join(&file))
            .map_err(io_err(format!("cannot read {file}")))?
            .len();
        if let Some(kept) = previous.get(&file)
            && kept.size == size
            && fs::metadata(&target).is_ok_and(|m| m.len() == size)
        {
            blobs.push(kept.clone());
            continue;
        }
        let copied = copy_hashed(&store.join(&file), &target)?;
        if copied.sha256 != hash.as_str() {
            let _ = fs::remove_file(&target);
            damaged.push(hash.to_string());
            continue;
        }
        bytes_copied += copied.size;
        blobs_copied += 1;
        blobs.push(FileEntry { file, ..copied });
    }
    let mut meta = Vec::new();
    for name in file_names(&store.join(META_DIR))? {
        let is_meta = name
            .strip_suffix(".json")
            .is_some_and(|hash| hash.parse::<siteproof_core::MediaHash>().is_ok());
        if !is_meta {
            continue;
        }
        let file = format!("{META_DIR}/{name}");
        let copied = copy_hashed(&store.join(&file), &to.join(&file))?;
        bytes_copied += copied.size;
        meta.push(FileEntry { file, ..copied });
    }
    let manifest = Manifest {
        format: FORMAT,
        created_at,
        database,
        blobs,
        meta,
    };
    write_manifest(to, &manifest)?;
    // Older snapshots are no longer named by the manifest.
    for name in file_names(to)? {
        if name.starts_with("siteproof-") && name != manifest.database.file {
            let _ = fs::remove_file(to.join(name));
        }
    }
    Ok(BackupReport {
        manifest,
        blobs_copied,
        bytes_copied,
        damaged,
    })
}

/// What a restore did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreReport {
    /// The manifest restored from.
    pub manifest: Manifest,
    /// Bytes written into the data directory.
    pub bytes: u64,
}

/// Restores the backup in `from` into `data_dir`, which must be missing or empty. Every file
/// is checked against the manifest as it is copied and the database's integrity is checked;
/// on any failure what was written is removed again.
pub fn restore(from: &Path, data_dir: &Path) -> Result<RestoreReport> {
    let manifest = read_manifest(from)?;
    if fs::read_dir(data_dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(BackupError::NotEmpty(data_dir.to_path_buf()));
    }
    let restored = restore_into(from, data_dir, &manifest);
    if restored.is_err() {
        for sub in [DATABASE_FILE, BLOBS_DIR] {
            let path = data_dir.join(sub);
            let _ = fs::remove_file(&path).or_else(|_| fs::remove_dir_all(&path));
        }
    }
    restored.map(|bytes| RestoreReport { manifest, bytes })
}

fn restore_into(from: &Path, data_dir: &Path, manifest: &Manifest) -> Result<u64> {
    for dir in [FINISHED_DIR, META_DIR] {
        let dir = data_dir.join(BLOBS_DIR).join(dir);
        fs::create_dir_all(&dir).map_err(io_err(format!("cannot create {}", dir.display())))?;
    }
    let mut bytes = 0;
    let files = std::iter::once((&manifest.database, data_dir.join(DATABASE_FILE))).chain(
        manifest
            .blobs
            .iter()
            .chain(&manifest.meta)
            .map(|entry| (entry, data_dir.join(BLOBS_DIR).join(&entry.file))),
    );
    for (entry, target) in files {
        if entry.file.contains("..") || entry.file.starts_with('/') {
            return Err(BackupError::Damaged(format!("a file named {}", entry.file)));
        }
        let copied = copy_hashed(&from.join(&entry.file), &target).map_err(|e| match e {
            BackupError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                BackupError::Damaged(format!("{} is missing", entry.file))
            }
            other => other,
        })?;
        if copied.sha256 != entry.sha256 || copied.size != entry.size {
            return Err(BackupError::Damaged(format!(
                "{} does not match the manifest",
                entry.file
            )));
        }
        bytes += copied.size;
    }
    let check = check_database_file(&data_dir.join(DATABASE_FILE))
        .map_err(|e| BackupError::Database(e.to_string()))?;
    if check != "ok" {
        return Err(BackupError::Damaged(format!("database integrity: {check}")));
    }
    Ok(bytes)
}

/// Reads and checks the manifest of the backup in `from`.
pub fn read_manifest(from: &Path) -> Result<Manifest> {
    let path = from.join(MANIFEST);
    let no = |why: String| BackupError::NoManifest(from.to_path_buf(), why);
    let text = fs::read(&path).map_err(|e| no(e.to_string()))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| no(e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(no(format!("layout version {}", manifest.format)));
    }
    Ok(manifest)
}

/// Copies the database at `source` into `target` as one snapshot; returns its entry.
fn snapshot_database(source: &Path, target: &Path) -> Result<FileEntry> {
    let partial = target.with_extension("db.partial");
    let _ = fs::remove_file(&partial);
    copy_database_file(source, &partial).map_err(|e| match e {
        FileCopyError::Locked => BackupError::Locked,
        FileCopyError::Sqlite(e) => BackupError::Database(e.to_string()),
    })?;
    sync_file(&partial)?;
    fs::rename(&partial, target).map_err(io_err(format!("cannot name {}", target.display())))?;
    let (size, sha256) = hash_file(target, None)?;
    Ok(FileEntry {
        file: String::new(),
        size,
        sha256,
    })
}

/// Copies `source` to `target` (through a temporary name, synced), hashing the bytes.
fn copy_hashed(source: &Path, target: &Path) -> Result<FileEntry> {
    let partial = target.with_extension("partial");
    let mut output =
        File::create(&partial).map_err(io_err(format!("cannot create {}", partial.display())))?;
    let (size, sha256) = hash_file(source, Some(&mut output))?;
    output
        .sync_all()
        .map_err(io_err(format!("cannot sync {}", partial.display())))?;
    fs::rename(&partial, target).map_err(io_err(format!("cannot name {}", target.display())))?;
    Ok(FileEntry {
        file: String::new(),
        size,
        sha256,
    })
}

/// The length and SHA-256 (hex) of the file at `path`, writing its bytes to `copy` if given.
fn hash_file(path: &Path, mut copy: Option<&mut File>) -> Result<(u64, String)> {
    let mut input = File::open(path).map_err(io_err(format!("cannot open {}", path.display())))?;
    let (mut hasher, mut size, mut buf) = (Sha256::new(), 0u64, vec![0u8; BUFFER]);
    loop {
        let n = input
            .read(&mut buf)
            .map_err(io_err(format!("cannot read {}", path.display())))?;
        if n == 0 {
            return Ok((size, hex::encode(hasher.finalize())));
        }
        hasher.update(&buf[..n]);
        if let Some(out) = copy.as_mut() {
            out.write_all(&buf[..n])
                .map_err(io_err("cannot write a copy".into()))?;
        }
        size += n as u64;
    }
}

/// Writes the manifest through a temporary name: the backup counts once it is in place.
fn write_manifest(to: &Path, manifest: &Manifest) -> Result<()> {
    let partial = to.join(format!("{MANIFEST}.partial"));
    let json = serde_json::to_vec_pretty(manifest)
        .map_err(|e| BackupError::Damaged(format!("cannot write the manifest: {e}")))?;
    fs::write(&partial, json).map_err(io_err(format!("cannot write {}", partial.display())))?;
    sync_file(&partial)?;
    fs::rename(&partial, to.join(MANIFEST)).map_err(io_err("cannot name the manifest".into()))?;
    // The renames are durable once the folder is synced.
    File::open(to)
        .and_then(|d| d.sync_all())
        .map_err(io_err(format!("cannot sync {}", to.display())))
}

fn sync_file(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_err(format!("cannot sync {}", path.display())))
}

/// The names of the files directly in `dir` (none if it does not exist), sorted.
fn file_names(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(format!("cannot list {}", dir.display()))(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(format!("cannot list {}", dir.display())))?;
        if entry.file_type().is_ok_and(|t| t.is_file())
            && let Some(name) = entry.file_name().to_str()
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn io_err(context: String) -> impl FnOnce(io::Error) -> BackupError {
    move |source| BackupError::Io { context, source }
}
