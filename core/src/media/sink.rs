//! Where an import's bytes go: the file itself, or the encryption in front of it; and the
//! copy that hashes on one thread while the other encrypts and writes.

use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::mpsc;

use sha2::{Digest, Sha256};

use super::BUFFER_SIZE;
use super::keys::MediaKeys;
use super::sealed::{SealWriter, Sealed};
use crate::error::Result;
use crate::ids::MediaHash;

/// Buffers in flight between the hashing reader and the writer: memory stays at three
/// [`BUFFER_SIZE`] buffers whatever the file's size.
const BUFFERS: usize = 3;

/// Where an import writes: the file itself, or the encryption in front of it.
pub(super) enum Sink {
    Plain(File),
    Sealed(Box<SealWriter<File>>),
}

impl Sink {
    pub(super) fn new(file: File, keys: Option<&MediaKeys>) -> Result<Self> {
        Ok(match keys {
            None => Sink::Plain(file),
            Some(keys) => Sink::Sealed(Box::new(SealWriter::new(file, keys)?)),
        })
    }

    pub(super) fn write(&mut self, data: &[u8]) -> Result<()> {
        match self {
            Sink::Plain(file) => file.write_all(data)?,
            Sink::Sealed(sealed) => sealed.write(data)?,
        }
        start_writeback(self.file());
        Ok(())
    }

    fn file(&self) -> &File {
        match self {
            Sink::Plain(file) => file,
            Sink::Sealed(sealed) => sealed.inner(),
        }
    }

    pub(super) fn finish(self, what: Sealed, hash: &MediaHash) -> Result<File> {
        match self {
            Sink::Plain(file) => Ok(file),
            Sink::Sealed(sealed) => sealed.finish(what, hash),
        }
    }
}

/// Starts writing the file's dirty pages to the disk without waiting for them (Linux's
/// `POSIX_FADV_DONTNEED` starts the writeback, then drops the pages already clean), so the
/// disk works while the rest of the file is read, hashed and encrypted, and the `fsync` that
/// makes the import durable finds little left to write. Only a hint: a failure changes nothing.
///
/// The server's staged uploads use it too: a file written faster than the disk takes it
/// otherwise piles up as dirty pages (gigabytes, by the kernel's default ratios) that the
/// disk then writes in bursts, and every other `fsync` on that disk waits behind them.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn start_writeback(file: &File) {
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed);
}

/// Does nothing where the hint does not exist.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn start_writeback(_file: &File) {}

/// Copies everything `reader` yields into `out`, hashing it: the reading and hashing run on
/// this thread, the encryption and writing on another, so an encrypted import takes about as
/// long as the slower of the two instead of their sum. Returns the hash, the size and `out`
/// (to finish).
pub(super) fn copy_hashed(reader: &mut impl Read, out: Sink) -> Result<(MediaHash, u64, Sink)> {
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(BUFFERS);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..BUFFERS {
        // The receiver is alive: it is ours.
        let _ = empty_tx.send(vec![0u8; BUFFER_SIZE]);
    }
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> Result<Sink> {
            let mut out = out;
            for (buf, n) in full_rx {
                out.write(&buf[..n])?;
                // The reader may have stopped; then the buffer is simply dropped.
                let _ = empty_tx.send(buf);
            }
            Ok(out)
        });
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let read = (|| -> Result<()> {
            // `recv` fails only when the writer stopped (on an error it reports below).
            while let Ok(mut buf) = empty_rx.recv() {
                let n = loop {
                    match reader.read(&mut buf) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e.into()),
                    }
                };
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                size += n as u64;
                if full_tx.send((buf, n)).is_err() {
                    break;
                }
            }
            Ok(())
        })();
        drop(full_tx);
        let out = match writer.join() {
            Ok(written) => written?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        read?;
        Ok((MediaHash::from_digest(hasher.finalize().into()), size, out))
    })
}
