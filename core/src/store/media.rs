//! The media table and the upload queue: what each media file is, whether the server has
//! verified it, whether its original is still here, and how far its upload got.

use std::path::Path;

use rusqlite::{OptionalExtension, Row, params};

use super::Store;
use crate::error::{Error, Result};
use crate::ids::{MediaHash, RecordId};
use crate::media::{DetachedOriginal, Imported, MediaStore, UploadItem, UploadPolicy, UploadState};
use crate::model::{GeoPoint, MediaKind, MediaRef, Timestamp, now};

/// What the app knows about a capture when it hands the file over.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaCapture {
    /// Photo, video or audio.
    pub kind: MediaKind,
    /// MIME type, e.g. `image/jpeg` or `video/mp4`.
    pub mime: String,
    /// When it was captured; now if `None`.
    pub captured_at: Option<Timestamp>,
    /// Where it was captured.
    pub location: Option<GeoPoint>,
    /// For a video: a poster frame image (JPEG or PNG) the platform extracted.
    pub poster: Option<std::path::PathBuf>,
}

/// One row of the media table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaInfo {
    /// The hash.
    pub hash: MediaHash,
    /// Size in bytes.
    pub size: u64,
    /// Photo, video or audio.
    pub kind: MediaKind,
    /// MIME type.
    pub mime: String,
    /// Whether the original is still on the phone.
    pub original_present: bool,
    /// Whether a thumbnail was made.
    pub has_thumbnail: bool,
    /// When the server confirmed it holds these bytes.
    pub verified_at: Option<Timestamp>,
}

/// What an eviction freed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Eviction {
    /// Originals deleted.
    pub files: u32,
    /// Bytes freed.
    pub bytes: u64,
}

impl Eviction {
    /// Deletes originals taken out of the store ([`Store::detach_verified_media`]).
    pub fn delete(detached: Vec<DetachedOriginal>) -> Result<Self> {
        let mut out = Eviction::default();
        for original in detached {
            out.bytes += original.delete()?;
            out.files += 1;
        }
        Ok(out)
    }
}

impl Store {
    /// Imports the file at `source` into `media` (streamed and hashed), makes its thumbnail
    /// (a photo's own, a video's from its poster) and records it. Importing the same bytes
    /// twice returns the same reference and writes nothing new.
    pub fn import_media(
        &mut self,
        media: &MediaStore,
        source: impl AsRef<Path>,
        capture: MediaCapture,
    ) -> Result<MediaRef> {
        self.check_media(media)?;
        let imported = media.import_file(source.as_ref())?;
        self.record_media(media, &imported, capture)
    }

    /// Records a file already in `media` (from [`MediaStore::import_file`] or
    /// [`MediaStore::adopt_file`]): makes its thumbnail and its `media` row.
    pub fn record_media(
        &mut self,
        media: &MediaStore,
        imported: &Imported,
        capture: MediaCapture,
    ) -> Result<MediaRef> {
        self.check_media(media)?;
        let imported = imported.clone();
        let hash = &imported.hash;
        let has_thumbnail = if capture.kind == MediaKind::Audio {
            false
        } else if media.thumbnail_path(hash).is_some() {
            true
        } else {
            let made = match (capture.kind, &capture.poster) {
                (MediaKind::Photo, _) => Some(media.make_thumbnail_of_original(hash)),
                (_, Some(poster)) => Some(media.make_thumbnail(hash, poster)),
                (_, None) => None,
            };
            match made {
                Some(Ok(_)) => true,
                // The evidence matters more than its preview: keep the file, log why.
                Some(Err(e)) => {
                    tracing::warn!(hash = %hash, error = %e, "no thumbnail");
                    false
                }
                None => false,
            }
        };
        self.conn
            .prepare_cached(
                "INSERT INTO media (hash, size, kind, mime, original, thumbnail, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'present', ?5, ?6)
                 ON CONFLICT (hash) DO UPDATE SET original = 'present', evicted_at = NULL,
                   thumbnail = max(thumbnail, excluded.thumbnail)",
            )?
            .execute(params![
                imported.hash.as_str(),
                imported.size as i64,
                kind_code(capture.kind),
                capture.mime,
                has_thumbnail,
                now()
            ])?;
        Ok(MediaRef {
            hash: imported.hash,
            size: imported.size,
            kind: capture.kind,
            mime: capture.mime,
            captured_at: capture.captured_at.unwrap_or_else(now),
            location: capture.location,
            device: self.device.clone(),
            signature: None,
        })
    }

    /// Imports a capture, attaches it to `visit` (signed, once the device is enrolled) and
    /// queues its upload: the one call the app makes when the inspector takes a photo or
    /// stops recording.
    pub fn add_evidence(
        &mut self,
        visit: &RecordId,
        media: &MediaStore,
        source: impl AsRef<Path>,
        capture: MediaCapture,
    ) -> Result<MediaRef> {
        let media_ref = self.import_media(media, source, capture)?;
        let media_ref = self.signed_for(visit, &media_ref)?;
        self.attach_media(visit, &media_ref)?;
        self.queue_upload(
            visit,
            &media_ref.hash,
            UploadPolicy::for_size(media_ref.size),
        )?;
        Ok(media_ref)
    }

    /// Queues the upload of `hash` (which must be in the media table) for `record`. Queuing
    /// an already queued hash keeps its progress.
    pub fn queue_upload(
        &mut self,
        record: &RecordId,
        hash: &MediaHash,
        policy: UploadPolicy,
    ) -> Result<()> {
        if self.media_info(hash)?.is_none() {
            return Err(Error::MediaMissing(hash.to_string()));
        }
        let at = now();
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO upload_queue
                 (hash, record_id, state, policy, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?4, ?4)",
            )?
            .execute(params![hash.as_str(), record.as_str(), policy.code(), at])?;
        Ok(())
    }

    /// The media table's row for `hash`.
    pub fn media_info(&self, hash: &MediaHash) -> Result<Option<MediaInfo>> {
        self.conn
            .prepare_cached(
                "SELECT hash, size, kind, mime, original, thumbnail, verified_at FROM media WHERE hash = ?1",
            )?
            .query_row([hash.as_str()], |r| Ok(media_row(r)))
            .optional()?
            .transpose()
    }

    /// Records that the server holds `hash` and verified its bytes: its original may go.
    pub fn mark_media_verified(&mut self, hash: &MediaHash) -> Result<()> {
        let at = now();
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE media SET verified_at = coalesce(verified_at, ?2) WHERE hash = ?1",
            params![hash.as_str(), at],
        )?;
        tx.execute(
            "UPDATE upload_queue SET state = 'done', \"offset\" = (SELECT size FROM media WHERE hash = ?1),
             last_error = NULL, updated_at = ?2 WHERE hash = ?1",
            params![hash.as_str(), at],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes the originals the server has verified, oldest first, until `keep_bytes` of
    /// verified originals remain (0 evicts them all). Thumbnails stay.
    pub fn evict_verified_media(
        &mut self,
        media: &MediaStore,
        keep_bytes: u64,
    ) -> Result<Eviction> {
        let detached = self.detach_verified_media(media, keep_bytes)?;
        Eviction::delete(detached)
    }

    /// The quick half of [`Store::evict_verified_media`]: marks the originals to evict and
    /// takes them out of `media` (renames), oldest first, until `keep_bytes` of verified
    /// originals remain. Deleting what it returns ([`Eviction::delete`]) frees their space
    /// and needs no store: a shared store is held only for this half.
    pub fn detach_verified_media(
        &mut self,
        media: &MediaStore,
        keep_bytes: u64,
    ) -> Result<Vec<DetachedOriginal>> {
        let rows: Vec<(String, i64)> = self
            .conn
            .prepare_cached(
                "SELECT hash, size FROM media WHERE verified_at IS NOT NULL AND original = 'present'
                 ORDER BY verified_at, hash",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut remaining: u64 = rows.iter().map(|(_, s)| *s as u64).sum();
        let mut out = Vec::new();
        for (hash, size) in rows {
            if remaining <= keep_bytes {
                break;
            }
            let hash: MediaHash = hash.parse()?;
            // The row changes first: a crash between the two leaves a missing file marked
            // evicted, never a row pointing at a file that is gone but claimed present.
            self.conn.execute(
                "UPDATE media SET original = 'evicted', evicted_at = ?2 WHERE hash = ?1",
                params![hash.as_str(), now()],
            )?;
            out.extend(media.detach_original(&hash)?);
            remaining = remaining.saturating_sub(size as u64);
        }
        Ok(out)
    }

    /// Uploads not yet done or failed, oldest first.
    pub fn pending_uploads(&self) -> Result<Vec<UploadItem>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{UPLOAD_SELECT} WHERE q.state = 'pending' ORDER BY q.created_at, q.hash"
        ))?;
        let rows = stmt.query_map([], |r| Ok(upload_row(r)))?;
        rows.map(|r| r?).collect()
    }

    /// The queue entry for `hash`.
    pub fn upload_item(&self, hash: &MediaHash) -> Result<Option<UploadItem>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{UPLOAD_SELECT} WHERE q.hash = ?1"))?;
        stmt.query_row([hash.as_str()], |r| Ok(upload_row(r)))
            .optional()?
            .transpose()
    }

    /// Remembers the tus resource of an upload (or forgets it with `None`, restarting at 0).
    pub fn set_upload_url(&mut self, hash: &MediaHash, url: Option<&str>) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE upload_queue SET upload_url = ?2, \"offset\" = 0, updated_at = ?3 WHERE hash = ?1",
            )?
            .execute(params![hash.as_str(), url, now()])?;
        Ok(())
    }

    /// Records the offset the server acknowledged.
    pub fn set_upload_offset(&mut self, hash: &MediaHash, offset: u64) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE upload_queue SET \"offset\" = ?2, updated_at = ?3 WHERE hash = ?1",
            )?
            .execute(params![hash.as_str(), offset as i64, now()])?;
        Ok(())
    }

    /// Records a failed attempt; `permanent` moves the item to [`UploadState::Failed`].
    pub fn record_upload_error(
        &mut self,
        hash: &MediaHash,
        reason: &str,
        permanent: bool,
    ) -> Result<()> {
        let state = if permanent {
            UploadState::Failed
        } else {
            UploadState::Pending
        };
        self.conn
            .prepare_cached(
                "UPDATE upload_queue SET attempts = attempts + 1, last_error = ?2, state = ?3, updated_at = ?4
                 WHERE hash = ?1",
            )?
            .execute(params![hash.as_str(), reason, state.code(), now()])?;
        Ok(())
    }
}

const UPLOAD_SELECT: &str =
    "SELECT q.hash, q.record_id, m.size, m.mime, q.state, q.\"offset\", q.upload_url,
    q.attempts, q.policy, q.last_error, q.created_at, q.updated_at
    FROM upload_queue q JOIN media m ON m.hash = q.hash";

fn upload_row(r: &Row<'_>) -> Result<UploadItem> {
    Ok(UploadItem {
        hash: r.get::<_, String>(0)?.parse()?,
        record: r.get::<_, String>(1)?.parse()?,
        size: r.get::<_, i64>(2)? as u64,
        mime: r.get(3)?,
        state: r.get::<_, String>(4)?.parse()?,
        offset: r.get::<_, i64>(5)? as u64,
        upload_url: r.get(6)?,
        attempts: r.get(7)?,
        policy: r.get::<_, String>(8)?.parse()?,
        last_error: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

fn media_row(r: &Row<'_>) -> Result<MediaInfo> {
    Ok(MediaInfo {
        hash: r.get::<_, String>(0)?.parse()?,
        size: r.get::<_, i64>(1)? as u64,
        kind: kind_from_code(&r.get::<_, String>(2)?)?,
        mime: r.get(3)?,
        original_present: r.get::<_, String>(4)? == "present",
        has_thumbnail: r.get(5)?,
        verified_at: r.get(6)?,
    })
}

fn kind_code(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Photo => "photo",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
    }
}

fn kind_from_code(code: &str) -> Result<MediaKind> {
    match code {
        "photo" => Ok(MediaKind::Photo),
        "video" => Ok(MediaKind::Video),
        "audio" => Ok(MediaKind::Audio),
        other => Err(Error::Malformed(format!("media kind {other:?}"))),
    }
}
