//! The store on the phone: one SQLite file (WAL, one writer) holding every record as
//! Automerge chunks, the index tables, the outbox and the device's identity.
//!
//! Every call that returns `Ok` has committed with `synchronous=FULL`: the capture survives a
//! crash or a pulled battery from that moment on.
//!
//! [`Store::open_encrypted`] keeps the whole file encrypted with SQLCipher under the app's
//! [`StoreKey`]; its [`Store::media_store`] encrypts the evidence files too.

mod directory;
mod docs;
mod evidence_keys;
mod index;
mod key;
mod media;
mod merge;
mod outbox;
mod peer;
mod peer_media;
mod pushes;
mod reinspection;
pub(crate) mod schema;
mod sync_state;
mod templates;
mod unreadable;
mod visits;
pub use visits::AnswerInput;

use std::path::Path;

use automerge::{ActorId, AutoCommit, ChangeHash};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::document::{RecordHeader, RecordKind};
use crate::error::{Error, Result};
use crate::ids::{DeviceId, RecordId};
use crate::media::{MediaKeys, MediaStore};
use crate::model::{Scope, now};
use docs::{DocCache, LoadedDoc};

pub use key::StoreKey;

pub use directory::{DirectoryInfo, VisitFromEnterprise};
pub use index::TemplateSummary;
pub use media::{Eviction, MediaCapture, MediaInfo};
pub use merge::PreparedRecord;
pub use merge::{MergeOrigin, MergeOutcome};
pub use outbox::PendingChanges;
pub(crate) use outbox::collect_pending;
pub use peer::PeerCredentials;
pub use pushes::VisitFromAssignment;
#[cfg(feature = "http-client")]
pub(crate) use sync_state::next_page_request;
#[cfg(feature = "http-client")]
pub(crate) use sync_state::{MAX_PUSH_BYTES, MAX_PUSH_RECORDS};
pub use sync_state::{PulledPage, RoundOutcome};
pub use unreadable::UnreadableRecord;

/// Who is capturing on this device: set at enrollment and when an inspector signs in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// The inspector's display name, recorded with every answer and finding.
    pub inspector: String,
    /// The region and group this device captures for.
    pub scope: Scope,
}

/// The phone's store. Open one per database file; it is the only writer.
pub struct Store {
    conn: Connection,
    device: DeviceId,
    actor: ActorId,
    docs: DocCache,
    /// Read once at open, written through by `set_profile`: every capture needs it.
    profile: Profile,
    templates: std::collections::HashMap<RecordId, std::sync::Arc<crate::model::Template>>,
    /// The media keyring of an encrypted store; `None` when the store is not encrypted.
    media_keys: Option<MediaKeys>,
}

impl Store {
    /// Opens (creating or upgrading) the unencrypted store at `path`. An encrypted one is
    /// refused with [`Error::KeyRequired`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path.as_ref(), None)
    }

    /// Opens (creating or upgrading) the store at `path`, encrypted at rest under `key`
    /// (SQLCipher, raw key). A wrong key fails with [`Error::WrongKey`] and an unencrypted
    /// store with [`Error::NotEncrypted`], both before anything is written: the data stays.
    pub fn open_encrypted(path: impl AsRef<Path>, key: &StoreKey) -> Result<Self> {
        Self::open_with(path.as_ref(), Some(key))
    }

    fn open_with(path: &Path, key: Option<&StoreKey>) -> Result<Self> {
        let mut conn = key::connect(path, key)?;
        schema::prepare(&mut conn)?;
        let media_keys = match key {
            Some(_) => Some(key::media_keys(&conn)?),
            None => None,
        };
        let device = match get_meta(&conn, "device_id")? {
            Some(id) => id.parse()?,
            None => {
                let id = DeviceId::random();
                set_meta(&conn, "device_id", id.as_str())?;
                id
            }
        };
        let actor = match get_meta(&conn, "actor_id")? {
            Some(hex) => ActorId::from(
                hex::decode(hex).map_err(|_| Error::Malformed("stored actor id".into()))?,
            ),
            None => {
                let actor = ActorId::random();
                set_meta(&conn, "actor_id", &actor.to_hex_string())?;
                actor
            }
        };
        let profile = Profile {
            inspector: get_meta(&conn, "inspector")?.unwrap_or_default(),
            scope: Scope {
                region: get_meta(&conn, "scope_region")?.unwrap_or_default(),
                group: get_meta(&conn, "scope_group")?.unwrap_or_default(),
            },
        };
        Ok(Self {
            conn,
            device,
            actor,
            docs: DocCache::default(),
            profile,
            templates: Default::default(),
            media_keys,
        })
    }

    /// Whether the store is encrypted at rest.
    pub fn is_encrypted(&self) -> bool {
        self.media_keys.is_some()
    }

    /// Opens (creating) the evidence folder at `dir` for this store: in an encrypted store,
    /// every original and thumbnail written there is encrypted and read back through it.
    pub fn media_store(&self, dir: impl AsRef<Path>) -> Result<MediaStore> {
        MediaStore::open_with_keys(dir, self.media_keys.clone())
    }

    /// Re-encrypts the store under `new_key` without losing anything; from then on only
    /// `new_key` opens it. The media files are not rewritten: their keys are wrapped by media
    /// keys kept inside the database, which the re-key re-encrypts, and a fresh media key
    /// wraps the files captured from now on. Other connections to the database (the
    /// uploader's) must be closed first and reopened with `new_key`.
    ///
    /// The app keeps `new_key` in its keystore before calling this, and the old one until it
    /// returns: a crash in between leaves the store under one of the two.
    pub fn rekey(&mut self, new_key: &StoreKey) -> Result<()> {
        let Some(keys) = &self.media_keys else {
            return Err(Error::NotEncrypted);
        };
        let (id, media_key) = key::add_media_key(&self.conn)?;
        keys.add(id, media_key);
        key::rekey(&self.conn, new_key)
    }

    /// Refuses a media folder that does not match the store: an encrypted store must never
    /// write or read its evidence in the clear.
    pub(crate) fn check_media(&self, media: &MediaStore) -> Result<()> {
        match (self.is_encrypted(), media.is_encrypted()) {
            (true, false) => Err(Error::KeyRequired),
            (false, true) => Err(Error::NotEncrypted),
            _ => Ok(()),
        }
    }

    /// This device's id, persisted with the store.
    pub fn device_id(&self) -> &DeviceId {
        &self.device
    }

    /// The Automerge actor id this device writes with, persisted with the store.
    pub fn actor_id(&self) -> &ActorId {
        &self.actor
    }

    /// The current profile.
    pub fn profile(&self) -> Result<Profile> {
        Ok(self.profile.clone())
    }

    /// Sets the profile used for new captures.
    pub fn set_profile(&mut self, profile: &Profile) -> Result<()> {
        let tx = self.conn.transaction()?;
        set_meta(&tx, "inspector", &profile.inspector)?;
        set_meta(&tx, "scope_region", &profile.scope.region)?;
        set_meta(&tx, "scope_group", &profile.scope.group)?;
        tx.commit()?;
        self.profile = profile.clone();
        Ok(())
    }

    /// The saved bytes of a record, as another replica would load them.
    pub fn export_document(&mut self, id: &RecordId) -> Result<Vec<u8>> {
        let entry = self.docs.get_or_load(&self.conn, id, &self.actor)?;
        Ok(entry.doc.save())
    }

    /// The kind of a record the store holds, or `None`.
    pub fn record_kind(&self, id: &RecordId) -> Result<Option<RecordKind>> {
        let kind: Option<String> = self
            .conn
            .prepare_cached("SELECT kind FROM records WHERE id = ?1")?
            .query_row([id.as_str()], |r| r.get(0))
            .optional()?;
        kind.map(|k| k.parse()).transpose()
    }

    /// Drops every loaded document from memory; the next read loads from disk. For the app to
    /// call under memory pressure or when it goes to the background.
    pub fn clear_cache(&mut self) {
        self.docs = DocCache::default();
    }

    /// How many documents were read from disk since the store opened or its cache was
    /// cleared: each read replays a record's whole history, which a capture on a record in
    /// use never does (diagnostics and tests).
    pub fn document_loads(&self) -> u64 {
        self.docs.loads()
    }

    /// How many records received whole were loaded while this store was held, since it
    /// opened or its cache was cleared: a sync on a shared store loads and checks them
    /// before it takes the store ([`PreparedRecord`]), so captures do not wait for that
    /// (diagnostics and tests).
    pub fn received_loads(&self) -> u64 {
        self.docs.received_loads
    }

    /// How many chunks record `id` has on disk, and how many of them are snapshots.
    pub fn chunk_stats(&self, id: &RecordId) -> Result<(u32, u32)> {
        docs::chunk_count(&self.conn, id)
    }

    /// Creates a record: its header, then `init` fills it; all in one transaction.
    fn create_record(
        &mut self,
        header: RecordHeader,
        init: impl FnOnce(&mut AutoCommit) -> Result<()>,
    ) -> Result<()> {
        if docs::exists(&self.conn, &header.id)? {
            return Err(Error::Malformed(format!(
                "record {} already exists",
                header.id
            )));
        }
        let mut doc = header.create(self.actor.clone())?;
        init(&mut doc)?;
        doc.commit();
        let hashes: Vec<ChangeHash> = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let id = header.id.clone();
        let mut entry = LoadedDoc::new(doc, header);
        let tx = self.conn.transaction()?;
        write_change(&tx, &id, &mut entry, &hashes, Written::Here)?;
        tx.commit()?;
        self.docs.insert(id, entry);
        Ok(())
    }

    /// Runs `edit` on record `id` (which must be of `kind`) and makes the result durable: one
    /// chunk, the new change in the outbox and the index rows, in one transaction. On any
    /// error the store is as it was.
    fn edit_record<T>(
        &mut self,
        id: &RecordId,
        kind: RecordKind,
        edit: impl FnOnce(&mut AutoCommit) -> Result<T>,
    ) -> Result<T> {
        unreadable::refuse(&self.conn, id)?;
        let entry = self.docs.get_or_load(&self.conn, id, &self.actor)?;
        entry.header.expect_kind(kind)?;
        let out = match edit(&mut entry.doc) {
            Ok(out) => out,
            Err(e) => {
                entry.doc.rollback();
                return Err(e);
            }
        };
        let Some(hash) = entry.doc.commit() else {
            return Ok(out);
        };
        let written = self.conn.transaction().map_err(Error::from).and_then(|tx| {
            write_change(&tx, id, entry, &[hash], Written::Here)?;
            Ok(tx.commit()?)
        });
        if let Err(e) = written {
            self.docs.evict(id);
            return Err(e);
        }
        Ok(out)
    }
}

/// Where a written change came from: it decides whether the content is checked first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Written<'a> {
    /// Made here through the model: readable by construction.
    Here,
    /// Received from the server or a peer: checked, and set aside if unreadable. A new
    /// record is checked whole; changes to a record held here name what they wrote, and only
    /// that is checked (the whole record when it was unreadable), so the check costs the
    /// update, not the record's history.
    Received(Option<&'a crate::record_check::Touched>),
    /// Received whole and checked already (before the store was taken): what the check
    /// found is written.
    Checked(&'a unreadable::Checked),
}

/// Writes a record's new chunk, its row, its index rows and outbox entries. Only kinds that
/// devices write go to the outbox: a template or case arrived from the back office and
/// pushing it back would be refused.
fn write_change(
    tx: &Transaction<'_>,
    id: &RecordId,
    entry: &mut LoadedDoc,
    outbox_hashes: &[ChangeHash],
    written: Written<'_>,
) -> Result<()> {
    docs::upsert_record(tx, &entry.header, now())?;
    docs::persist_chunk(tx, id, entry)?;
    if entry.header.kind.written_by_devices() {
        outbox::add(tx, id, outbox_hashes)?;
    }
    match written {
        Written::Here => index::reindex(tx, &entry.header, &entry.doc),
        Written::Received(touched) => {
            unreadable::reindex_received(tx, &entry.header, &entry.doc, touched)
        }
        Written::Checked(checked) => {
            unreadable::write_checked(tx, &entry.header, &entry.doc, checked)
        }
    }
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value])?;
    Ok(())
}
