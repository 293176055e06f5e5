//! `SiteproofStore`: the core's `Store` and media folder behind one object. Each method is a
//! delegate to the core; the conversions live with the records.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError, TryLockError};

use siteproof_core::media::{MediaStore, Uploader};
use siteproof_core::sync::SyncClient;
use siteproof_core::{self as core, Store, StoreKey};

use crate::answer::{AnswerConflict, AnswerInput};
use crate::error::{ApiError, ApiResult};
use crate::finding::NewFinding;
use crate::media::UploadSummary;
use crate::media::{Eviction, MediaCapture, MediaInfo, MediaRef, Network, UploadItem};
use crate::sync::{Enrollment, Profile, SyncSummary};
use crate::template::{Template, TemplateSummary};
use crate::unreadable::UnreadableRecord;
use crate::upload::{CancelToken, UploadProgress};
use crate::visit::{NewVisit, Visit, VisitSummary};

/// The inspector's store on this device: every record, the outbox of changes not yet synced,
/// and the evidence files. Open one per database file and share it (it is thread-safe).
///
/// Every method blocks: store calls do disk I/O (a few milliseconds; every write is durable
/// when it returns), `enroll`, `sync` and `upload_pending` do network I/O (seconds to hours).
/// Call them off the main thread: `Dispatchers.IO` on Android, a background `Task` or queue on
/// iOS. Calls wait for each other, except `upload_pending`, which runs on its own database
/// connection so that captures go on while footage uploads, and `sync`, which holds the store
/// for one short step at a time (never while it waits for the server), so that a capture
/// waits for one step at most.
#[derive(uniffi::Object)]
pub struct SiteproofStore {
    /// Handed over fairly: `sync` takes it for one step at a time and a capture waiting for it
    /// gets it before the sync's next step (`siteproof_core::sync::SyncAccess`).
    inner: parking_lot::Mutex<Store>,
    media: MediaStore,
    db_path: String,
    /// The store key, kept to open the uploader's connection (wiped on drop).
    key: Mutex<Option<StoreKey>>,
    /// The uploader's own connection, opened on first use: the core's uploader holds its store
    /// for the whole run, which may last hours.
    uploads: Mutex<Option<Store>>,
}

#[uniffi::export]
impl SiteproofStore {
    /// Opens (creating or upgrading) the store: the SQLite database at `db_path` and the
    /// evidence folder `media_dir` (created if missing; the database's folder must exist).
    /// Both belong in the app's private, non-backed-up storage.
    ///
    /// `key`: the store's 32-byte key from the platform keystore (see `docs/mobile.md`). With
    /// it the database and every evidence file are encrypted at rest; `null` opens an
    /// unencrypted store (tests, scripts). A key that does not open the store, a missing key
    /// for an encrypted store and a key for an unencrypted one fail with `WrongKey`, and
    /// nothing is changed on disk.
    #[uniffi::constructor]
    pub fn open(db_path: String, media_dir: String, key: Option<Vec<u8>>) -> ApiResult<Self> {
        let key = key.map(|mut bytes| {
            let key = StoreKey::from_slice(&bytes);
            bytes.fill(0);
            key
        });
        let key = key.transpose()?;
        let store = open_store(&db_path, key.as_ref())?;
        Ok(Self {
            media: store.media_store(&media_dir)?,
            inner: parking_lot::Mutex::new(store),
            db_path,
            key: Mutex::new(key),
            uploads: Mutex::new(None),
        })
    }

    /// Re-encrypts the store under `new_key` (32 bytes); nothing is lost, and from then on
    /// only `new_key` opens it. Evidence files are not rewritten. Keep `new_key` in the
    /// keystore before the call and the old key until it returns. Fails with `InvalidInput`
    /// while an upload runs (cancel it first) and with `WrongKey` on an unencrypted store.
    pub fn rekey(&self, new_key: Vec<u8>) -> ApiResult<()> {
        let mut bytes = new_key;
        let new_key = StoreKey::from_slice(&bytes);
        bytes.fill(0);
        let new_key = new_key?;
        // The uploader's connection still holds the old key: close it; the next run reopens.
        let mut uploads = match self.uploads.try_lock() {
            Ok(slot) => slot,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {
                return Err(ApiError::InvalidInput {
                    reason: "an upload is running: cancel it before re-keying".into(),
                });
            }
        };
        *uploads = None;
        self.store().rekey(&new_key)?;
        *self.key.lock().unwrap_or_else(PoisonError::into_inner) = Some(new_key);
        Ok(())
    }

    /// This installation's device id.
    pub fn device_id(&self) -> String {
        self.store().device_id().to_string()
    }

    /// Who captures on this device.
    pub fn profile(&self) -> ApiResult<Profile> {
        Ok(self.store().profile()?.into())
    }

    /// Sets who captures on this device (enrollment sets the scope; sign-in the inspector).
    pub fn set_profile(&self, profile: Profile) -> ApiResult<()> {
        Ok(self.store().set_profile(&profile.into())?)
    }

    /// Installs a template version from its JSON (the format of the files in
    /// `content/templates/`) and returns its record id. Versions are immutable: installing one
    /// that is already held fails with `Malformed`. Meant for scripts and demos: an enrolled
    /// phone receives templates by sync, and the server's copy of a version replaces a local
    /// one on the next sync.
    pub fn install_template_json(&self, json: String) -> ApiResult<String> {
        let template: core::Template = serde_json::from_str(&json).map_err(core::Error::from)?;
        Ok(self.store().put_template(&template)?.into())
    }

    /// Every template version held, by id and version.
    pub fn list_templates(&self) -> ApiResult<Vec<TemplateSummary>> {
        Ok(into_all(self.store().list_templates()?))
    }

    /// One template version, with its items: what the checklist screen shows.
    pub fn template(&self, id: String, version: u32) -> ApiResult<Template> {
        let template = self.store().template(&id.parse()?, version)?;
        Ok(core::Template::clone(&template).into())
    }

    /// Starts a visit in this device's scope and returns its id.
    pub fn create_visit(&self, visit: NewVisit) -> ApiResult<String> {
        Ok(self.store().create_visit(visit.try_into()?)?.into())
    }

    /// Every visit, newest first, with counts (reads an index; cheap).
    pub fn list_visits(&self) -> ApiResult<Vec<VisitSummary>> {
        Ok(into_all(self.store().list_visits()?))
    }

    /// Records held but not readable by this version of the app (left out of every list).
    pub fn unreadable_records(&self) -> ApiResult<Vec<UnreadableRecord>> {
        Ok(into_all(self.store().unreadable_records()?))
    }

    /// One whole visit.
    pub fn visit(&self, id: String) -> ApiResult<Visit> {
        Ok(self.store().visit(&id.parse()?)?.into())
    }

    /// Answers (or re-answers) one checklist item. Durable when it returns.
    pub fn answer_item(&self, visit: String, item: String, answer: AnswerInput) -> ApiResult<()> {
        Ok(self
            .store()
            .answer_item(&visit.parse()?, &item.parse()?, answer.try_into()?)?)
    }

    /// Records a finding (a hazard) and returns its id. Durable when it returns.
    pub fn add_finding(&self, visit: String, finding: NewFinding) -> ApiResult<String> {
        Ok(self
            .store()
            .add_finding(&visit.parse()?, finding.try_into()?)?
            .into())
    }

    /// Marks the visit finished now.
    pub fn finish_visit(&self, visit: String) -> ApiResult<()> {
        Ok(self.store().finish_visit(&visit.parse()?)?)
    }

    /// Items of a visit answered differently on different devices, with every answer kept.
    pub fn conflicts(&self, visit: String) -> ApiResult<Vec<AnswerConflict>> {
        Ok(into_all(self.store().conflicts(&visit.parse()?)?))
    }

    /// How many changes wait to be pushed to the server.
    pub fn outbox_len(&self) -> ApiResult<u64> {
        Ok(self.store().outbox_len()?)
    }

    /// Takes a capture into the store: the file at `source_path` is copied in (streamed and
    /// hashed), thumbnailed, attached to `visit` and queued for upload. The app may delete its
    /// own file afterwards. The one call to make when the inspector takes a photo or stops
    /// recording.
    pub fn add_evidence(
        &self,
        visit: String,
        source_path: String,
        capture: MediaCapture,
    ) -> ApiResult<MediaRef> {
        let mut store = self.store();
        Ok(store
            .add_evidence(&visit.parse()?, &self.media, source_path, capture.into())?
            .into())
    }

    /// Copies a file into the media folder (streamed and hashed) without attaching it to a
    /// visit. Importing the same bytes twice returns the same reference.
    pub fn import_media(&self, source_path: String, capture: MediaCapture) -> ApiResult<MediaRef> {
        Ok(self
            .store()
            .import_media(&self.media, source_path, capture.into())?
            .into())
    }

    /// Attaches imported media to a visit.
    pub fn attach_media(&self, visit: String, media: MediaRef) -> ApiResult<()> {
        Ok(self
            .store()
            .attach_media(&visit.parse()?, &media.try_into()?)?)
    }

    /// What the store knows about a media file, or `null`.
    pub fn media_info(&self, hash: String) -> ApiResult<Option<MediaInfo>> {
        Ok(self.store().media_info(&hash.parse()?)?.map(Into::into))
    }

    /// The path of a media file's original, if it is still on the device. In an encrypted
    /// store the file is ciphertext: play or share it through `export_original`.
    pub fn original_path(&self, hash: String) -> ApiResult<Option<String>> {
        Ok(self.media.original_path(&hash.parse()?).map(path_string))
    }

    /// The path of a media file's thumbnail, if one was made: a JPEG, or in an encrypted
    /// store its ciphertext (show `thumbnail_bytes` instead).
    pub fn thumbnail_path(&self, hash: String) -> ApiResult<Option<String>> {
        Ok(self.media.thumbnail_path(&hash.parse()?).map(path_string))
    }

    /// A media file's thumbnail as JPEG bytes (decrypted), or `null` if none was made. A
    /// damaged encrypted file fails with `Malformed`.
    pub fn thumbnail_bytes(&self, hash: String) -> ApiResult<Option<Vec<u8>>> {
        Ok(self.media.thumbnail_bytes(&hash.parse()?)?)
    }

    /// Writes the original's plaintext to `dest_path` (for a player or a share sheet) and
    /// returns its size. The copy is unprotected: keep it in the app's private cache and
    /// delete it after use.
    pub fn export_original(&self, hash: String, dest_path: String) -> ApiResult<u64> {
        Ok(self.media.export_original(&hash.parse()?, dest_path)?)
    }

    /// Deletes originals the server verified, oldest first, until `keep_bytes` of them remain
    /// (0: all). Thumbnails stay. The store is held only to mark them and take them out of
    /// the media folder; their space is freed after, so captures meanwhile do not wait for
    /// the deletion of large recordings.
    pub fn evict_verified_media(&self, keep_bytes: u64) -> ApiResult<Eviction> {
        let detached = self
            .store()
            .detach_verified_media(&self.media, keep_bytes)?;
        Ok(core::Eviction::delete(detached)?.into())
    }

    /// Uploads waiting to run (pending), oldest first.
    pub fn pending_uploads(&self) -> ApiResult<Vec<UploadItem>> {
        Ok(into_all(self.store().pending_uploads()?))
    }

    /// The upload queue's entry for a file, or `null`.
    pub fn upload_item(&self, hash: String) -> ApiResult<Option<UploadItem>> {
        Ok(self.store().upload_item(&hash.parse()?)?.map(Into::into))
    }

    /// Enrolls this device with the server at `server_url` using a one-time code from the
    /// back office; sets the profile's scope and keeps the token. Network I/O.
    pub fn enroll(
        &self,
        server_url: String,
        code: String,
        device_name: String,
    ) -> ApiResult<Enrollment> {
        let client = SyncClient::new(&server_url)?;
        Ok(client
            .enroll(&mut self.store(), &code, &device_name)?
            .into())
    }

    /// The server this device is enrolled with, or `null`.
    pub fn server_url(&self) -> ApiResult<Option<String>> {
        Ok(self.store().server_url()?)
    }

    /// Pushes the outbox and pulls what changed for this device's group. Safe to call at any
    /// time; a sync cut off anywhere leaves the store consistent and the next one completes
    /// it. Network I/O: the store is held for one step at a time (building a request, merging
    /// a part of what arrived), never while waiting for the server, so captures go on
    /// meanwhile and wait for one step at most.
    pub fn sync(&self) -> ApiResult<SyncSummary> {
        let base = self
            .store()
            .server_url()?
            .ok_or_else(|| core::Error::NotFound {
                kind: "server enrollment",
                id: "this device".into(),
            })?;
        Ok(SyncClient::new(&base)?.sync_with(&self.inner)?.into())
    }

    /// Uploads every pending file `network` allows, oldest first, resuming where earlier runs
    /// stopped. `progress` hears about each acknowledged chunk; `cancel` stops the run at the
    /// next chunk boundary (`ApiError.Cancelled`). Network I/O, minutes to hours: run it in
    /// background work (WorkManager, a background task). Captures go on meanwhile.
    pub fn upload_pending(
        &self,
        network: Network,
        progress: Option<Arc<dyn UploadProgress>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> ApiResult<UploadSummary> {
        let uploader = Uploader::new(self.store().uploader_config()?)?;
        let not_cancelled = AtomicBool::new(false);
        let cancel = cancel.as_deref().map_or(&not_cancelled, CancelToken::flag);
        let mut report = |p: &core::media::UploadProgress| {
            if let Some(listener) = &progress {
                listener.on_progress(p.hash.to_string(), p.done, p.total);
            }
        };
        // The uploader's connection holds no documents: a panic leaves nothing stale in it.
        let mut slot = self.uploads.lock().unwrap_or_else(PoisonError::into_inner);
        let mut store = match slot.take() {
            Some(store) => store,
            None => {
                let key = self.key.lock().unwrap_or_else(PoisonError::into_inner);
                open_store(&self.db_path, key.as_ref())?
            }
        };
        let run = uploader.run(&mut store, &self.media, network.into(), cancel, &mut report);
        *slot = Some(store);
        Ok(run?.into())
    }

    /// The device token, for handing an upload to the platform's background transfer service
    /// (iOS background `URLSession`) as `Authorization: Bearer <token>`. A secret: never log
    /// it or show it.
    pub fn server_token(&self) -> ApiResult<Option<String>> {
        Ok(self.store().server_token()?)
    }

    /// Remembers the tus upload resource of a file (`null` forgets it: the upload restarts at
    /// 0). For uploads the platform runs itself.
    pub fn set_upload_url(&self, hash: String, url: Option<String>) -> ApiResult<()> {
        Ok(self
            .store()
            .set_upload_url(&hash.parse()?, url.as_deref())?)
    }

    /// Records the offset the server acknowledged. For uploads the platform runs itself.
    pub fn set_upload_offset(&self, hash: String, offset: u64) -> ApiResult<()> {
        Ok(self.store().set_upload_offset(&hash.parse()?, offset)?)
    }

    /// Records that the server holds the whole file and verified it (its final tus answer
    /// said so): the upload is done and the original may be evicted.
    pub fn mark_media_verified(&self, hash: String) -> ApiResult<()> {
        Ok(self.store().mark_media_verified(&hash.parse()?)?)
    }

    /// Records a failed upload attempt; `permanent` stops retries (the server refused the
    /// file for good).
    pub fn record_upload_error(
        &self,
        hash: String,
        reason: String,
        permanent: bool,
    ) -> ApiResult<()> {
        Ok(self
            .store()
            .record_upload_error(&hash.parse()?, &reason, permanent)?)
    }

    /// Drops loaded documents from memory (call on memory pressure or when the app goes to
    /// the background); nothing is lost.
    pub fn clear_cache(&self) {
        self.store().clear_cache()
    }
}

impl SiteproofStore {
    /// The store, for one call. A call that panics drops the store's cache as it unwinds (the
    /// store itself is consistent on disk: every write is one transaction), and work goes on.
    /// The media folder (a handle: cloning it copies no files).
    pub(crate) fn media_store(&self) -> MediaStore {
        self.media.clone()
    }

    pub(crate) fn store(&self) -> StoreGuard<'_> {
        StoreGuard(self.inner.lock())
    }
}

/// The store held for one call ([`SiteproofStore::store`]).
pub(crate) struct StoreGuard<'a>(parking_lot::MutexGuard<'a, Store>);

impl std::ops::Deref for StoreGuard<'_> {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.0
    }
}

impl std::ops::DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.0
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        // A call that panicked may have left cached documents ahead of the database.
        if std::thread::panicking() {
            self.0.clear_cache();
        }
    }
}

fn open_store(path: &str, key: Option<&StoreKey>) -> ApiResult<Store> {
    Ok(match key {
        Some(key) => Store::open_encrypted(path, key)?,
        None => Store::open(path)?,
    })
}

pub(crate) fn into_all<T, U: From<T>>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(Into::into).collect()
}

fn path_string(path: std::path::PathBuf) -> String {
    path.to_string_lossy().into_owned()
}
