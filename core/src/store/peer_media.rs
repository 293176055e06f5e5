//! Originals arriving from a peer: kept piece by piece in the store (encrypted with it) until
//! whole, then verified against their hash and moved into the media store. A session cut in
//! the middle leaves the pieces, and the next one asks for the rest.

use std::collections::BTreeMap;
use std::io::{self, Read};

use rusqlite::{Connection, OptionalExtension, params};

use super::{MediaCapture, Store};
use crate::error::{Error, Result};
use crate::ids::MediaHash;
use crate::media::MediaStore;
use crate::model::MediaRef;

impl Store {
    /// Every media file the group's visits in this store refer to, once each.
    pub fn referenced_media(&mut self) -> Result<Vec<MediaRef>> {
        let mut found: BTreeMap<MediaHash, MediaRef> = BTreeMap::new();
        for summary in self.list_visits()? {
            let visit = match self.visit(&summary.id) {
                Ok(visit) => visit,
                // An unreadable record refers to nothing we can fetch for it.
                Err(Error::WrongKind { .. } | Error::Malformed(_)) => continue,
                Err(e) => return Err(e),
            };
            for media in visit.media.into_values() {
                found.entry(media.hash.clone()).or_insert(media);
            }
        }
        Ok(found.into_values().collect())
    }

    /// How many bytes of the original `hash` a peer has delivered so far.
    pub fn peer_media_held(&self, hash: &MediaHash) -> Result<u64> {
        held(&self.conn, hash)
    }

    /// Keeps the bytes at `offset` of the original `hash` (of `size` bytes in all), which
    /// must follow those already held. Returns the bytes now held.
    pub fn add_peer_media_part(
        &mut self,
        hash: &MediaHash,
        size: u64,
        offset: u64,
        data: &[u8],
    ) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let have = held(&tx, hash)?;
        let end = offset + data.len() as u64;
        if offset != have || end > size || data.is_empty() {
            return Err(Error::PeerBroken(format!(
                "media {hash}: bytes {offset}..{end} do not follow the {have} held of {size}"
            )));
        }
        tx.prepare_cached(
            "INSERT INTO peer_media_parts (hash, \"offset\", data) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![hash.as_str(), offset as i64, data])?;
        tx.commit()?;
        Ok(end)
    }

    /// Moves the whole original of `media_ref` from its pieces into `media` if its bytes
    /// match the hash, and records it; bytes that do not match are [`Error::MediaDamaged`].
    /// Either way the pieces are gone afterwards.
    pub fn finish_peer_media(&mut self, media: &MediaStore, media_ref: &MediaRef) -> Result<()> {
        let imported = media.import_verified(
            PartsReader {
                conn: &self.conn,
                hash: &media_ref.hash,
                offset: 0,
                buf: Vec::new(),
                pos: 0,
            },
            &media_ref.hash,
        );
        self.drop_peer_media_parts(&media_ref.hash)?;
        let imported = imported?;
        self.record_media(
            media,
            &imported,
            MediaCapture {
                kind: media_ref.kind,
                mime: media_ref.mime.clone(),
                captured_at: Some(media_ref.captured_at),
                location: media_ref.location,
                poster: None,
            },
        )?;
        Ok(())
    }

    /// Forgets the pieces of `hash` (refused bytes: the next session starts it over).
    pub fn drop_peer_media_parts(&mut self, hash: &MediaHash) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM peer_media_parts WHERE hash = ?1")?
            .execute([hash.as_str()])?;
        Ok(())
    }
}

fn held(conn: &Connection, hash: &MediaHash) -> Result<u64> {
    let total: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(length(data)), 0) FROM peer_media_parts WHERE hash = ?1",
        )?
        .query_row([hash.as_str()], |r| r.get(0))?;
    Ok(total as u64)
}

/// Reads the pieces of one original in order, one row at a time.
struct PartsReader<'a> {
    conn: &'a Connection,
    hash: &'a MediaHash,
    offset: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for PartsReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.buf.len() {
            let next: Option<Vec<u8>> = self
                .conn
                .prepare_cached(
                    "SELECT data FROM peer_media_parts WHERE hash = ?1 AND \"offset\" = ?2",
                )
                .and_then(|mut s| {
                    s.query_row(params![self.hash.as_str(), self.offset as i64], |r| {
                        r.get(0)
                    })
                    .optional()
                })
                .map_err(io::Error::other)?;
            let Some(next) = next else { return Ok(0) };
            self.offset += next.len() as u64;
            self.buf = next;
            self.pos = 0;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
