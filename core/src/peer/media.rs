//! Media in a peer session, after the records: each side asks for the thumbnails it lacks of
//! the media its visits refer to, and for the originals the app asked for, from the offset
//! it already holds (`Want`); the other side answers with what it has, originals at most
//! [`WINDOW`] bytes per answer (`Served`), so memory stays bounded and a cut session resumes.
//! Originals are verified against their hash before they are stored; thumbnails are decoded
//! and encoded again.

use std::collections::HashMap;
use std::io::Read;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ids::MediaHash;
use crate::media::MediaStore;
use crate::model::{MediaKind, MediaRef};
use crate::store::Store;

/// Original bytes served per `Want`.
pub const WINDOW: u64 = 4 << 20;
/// Original bytes per `Chunk` message.
const CHUNK: usize = 1 << 20;

/// Which originals a side asks its peer for (thumbnails are always asked for).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Originals {
    /// None: thumbnails only.
    #[default]
    None,
    /// Every original its visits refer to that it lacks.
    All,
    /// These ones.
    Only(Vec<MediaHash>),
}

/// Where an original continues.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Resume {
    pub hash: MediaHash,
    pub offset: u64,
}

/// The media messages of a session.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum MediaMessage {
    /// What the sender lacks; empty: it wants nothing more.
    Want {
        thumbnails: Vec<MediaHash>,
        originals: Vec<Resume>,
    },
    /// A thumbnail (JPEG) and the SHA-256 of its bytes.
    Thumbnail {
        hash: MediaHash,
        sha256: ByteBuf,
        data: ByteBuf,
    },
    /// Bytes of an original from `offset` on.
    Chunk {
        hash: MediaHash,
        offset: u64,
        data: ByteBuf,
    },
    /// The answer to a `Want` is complete; `lacking` names the originals the sender lacks.
    Served { lacking: Vec<MediaHash> },
}

/// One side's media state in a session.
pub(super) struct MediaExchange {
    media: Option<MediaStore>,
    originals: Originals,
    thumbnails_wanted: Vec<MediaHash>,
    originals_wanted: HashMap<MediaHash, MediaRef>,
    /// We sent an empty `Want`.
    pub done_wanting: bool,
    /// The peer sent an empty `Want`.
    pub peer_done_wanting: bool,
    /// Originals completed and stored, thumbnails stored.
    pub received: u64,
}

impl MediaExchange {
    pub fn new(media: Option<MediaStore>, originals: Originals) -> Self {
        Self {
            media,
            originals,
            thumbnails_wanted: Vec::new(),
            originals_wanted: HashMap::new(),
            done_wanting: false,
            peer_done_wanting: false,
            received: 0,
        }
    }

    /// The first `Want`, once the peer's records are all in.
    pub fn first_want(&mut self, store: &mut Store) -> Result<MediaMessage> {
        let Some(media) = &self.media else {
            self.done_wanting = true;
            return Ok(empty_want());
        };
        for r in store.referenced_media()? {
            if r.kind != MediaKind::Audio && media.thumbnail_path(&r.hash).is_none() {
                self.thumbnails_wanted.push(r.hash.clone());
            }
            let asked = match &self.originals {
                Originals::None => false,
                Originals::All => true,
                Originals::Only(list) => list.contains(&r.hash),
            };
            if asked && media.original_path(&r.hash).is_none() {
                self.originals_wanted.insert(r.hash.clone(), r);
            }
        }
        let want = MediaMessage::Want {
            thumbnails: self.thumbnails_wanted.clone(),
            originals: self.resumes(store)?,
        };
        self.done_wanting = self.thumbnails_wanted.is_empty() && self.originals_wanted.is_empty();
        Ok(want)
    }

    fn resumes(&self, store: &Store) -> Result<Vec<Resume>> {
        let mut out = Vec::new();
        for hash in self.originals_wanted.keys() {
            out.push(Resume {
                hash: hash.clone(),
                offset: store.peer_media_held(hash)?,
            });
        }
        out.sort_by(|a, b| a.hash.cmp(&b.hash));
        Ok(out)
    }

    /// The peer's answer is complete: the next `Want` (empty when nothing more is due).
    pub fn after_served(&mut self, store: &Store, lacking: Vec<MediaHash>) -> Result<MediaMessage> {
        self.thumbnails_wanted.clear();
        for hash in lacking {
            self.originals_wanted.remove(&hash);
        }
        let originals = self.resumes(store)?;
        self.done_wanting = originals.is_empty();
        Ok(MediaMessage::Want {
            thumbnails: Vec::new(),
            originals,
        })
    }

    /// Takes a thumbnail the peer sent.
    pub fn thumbnail(&mut self, hash: &MediaHash, sha256: &[u8], data: &[u8]) -> Result<()> {
        let media = self.wanted_thumbnail(hash)?;
        if Sha256::digest(data).as_slice() != sha256 {
            return Err(Error::PeerRefused(format!(
                "the thumbnail of {hash} does not match its hash"
            )));
        }
        media
            .adopt_thumbnail(hash, data)
            .map_err(|_| Error::PeerRefused(format!("the thumbnail of {hash} is not an image")))?;
        self.thumbnails_wanted.retain(|h| h != hash);
        self.received += 1;
        Ok(())
    }

    fn wanted_thumbnail(&self, hash: &MediaHash) -> Result<&MediaStore> {
        match &self.media {
            Some(media) if self.thumbnails_wanted.contains(hash) => Ok(media),
            _ => Err(Error::PeerRefused(format!(
                "an unasked thumbnail of {hash}"
            ))),
        }
    }

    /// Takes bytes of an original; a complete one is verified and stored.
    pub fn chunk(
        &mut self,
        store: &mut Store,
        hash: &MediaHash,
        offset: u64,
        data: &[u8],
    ) -> Result<()> {
        let (Some(media), Some(media_ref)) = (&self.media, self.originals_wanted.get(hash)) else {
            return Err(Error::PeerRefused(format!("an unasked original {hash}")));
        };
        let held = store.add_peer_media_part(hash, media_ref.size, offset, data)?;
        if held < media_ref.size {
            return Ok(());
        }
        match store.finish_peer_media(media, media_ref) {
            Ok(()) => {}
            Err(Error::MediaDamaged { .. }) => {
                return Err(Error::PeerRefused(format!(
                    "the original {hash} does not match its hash"
                )));
            }
            Err(e) => return Err(e),
        }
        self.originals_wanted.remove(hash);
        self.received += 1;
        Ok(())
    }

    /// The answer to the peer's `Want`: the messages to send, `Served` last.
    pub fn serve(
        &self,
        thumbnails: &[MediaHash],
        originals: &[Resume],
    ) -> Result<Vec<MediaMessage>> {
        let mut out = Vec::new();
        let mut lacking = Vec::new();
        let Some(media) = &self.media else {
            lacking.extend(originals.iter().map(|r| r.hash.clone()));
            out.push(MediaMessage::Served { lacking });
            return Ok(out);
        };
        for hash in thumbnails {
            if let Ok(Some(data)) = media.thumbnail_bytes(hash) {
                out.push(MediaMessage::Thumbnail {
                    hash: hash.clone(),
                    sha256: ByteBuf::from(Sha256::digest(&data).to_vec()),
                    data: ByteBuf::from(data),
                });
            }
        }
        let mut budget = WINDOW;
        for resume in originals {
            if budget == 0 {
                break;
            }
            let Some(mut reader) = media.open_original(&resume.hash)? else {
                lacking.push(resume.hash.clone());
                continue;
            };
            let skipped =
                std::io::copy(&mut (&mut reader).take(resume.offset), &mut std::io::sink())
                    .map_err(|e| Error::from(e).for_media(&resume.hash))?;
            let mut offset = skipped;
            let mut served = false;
            while budget > 0 {
                let mut buf = vec![0u8; CHUNK.min(budget as usize)];
                let n = read_full(&mut reader, &mut buf).map_err(|e| e.for_media(&resume.hash))?;
                if n == 0 {
                    break;
                }
                buf.truncate(n);
                out.push(MediaMessage::Chunk {
                    hash: resume.hash.clone(),
                    offset,
                    data: ByteBuf::from(buf),
                });
                offset += n as u64;
                budget -= n as u64;
                served = true;
            }
            if !served {
                // Asked past its end: nothing to give, so it must not be asked again.
                lacking.push(resume.hash.clone());
            }
        }
        out.push(MediaMessage::Served { lacking });
        Ok(out)
    }
}

fn empty_want() -> MediaMessage {
    MediaMessage::Want {
        thumbnails: Vec::new(),
        originals: Vec::new(),
    }
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filled)
}
