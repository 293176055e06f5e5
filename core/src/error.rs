//! The core's error type. Messages name ids and reasons, never answer text or notes, so an
//! error can be logged without leaking what a covert visit found.

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A string is not a valid id of the named kind.
    #[error("invalid {what}: {id:?}")]
    InvalidId {
        /// What kind of id.
        what: &'static str,
        /// The offending text (cut to 80 characters).
        id: String,
    },
    /// A template fails validation.
    #[error("template {id} is invalid: {reason}")]
    InvalidTemplate {
        /// Template id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// No record with that id in the store.
    #[error("no {kind} with id {id}")]
    NotFound {
        /// The kind looked for.
        kind: &'static str,
        /// The id.
        id: String,
    },
    /// A document is of another kind than expected, or its header changed.
    #[error("record {id} is a {found}, expected a {expected}")]
    WrongKind {
        /// Record id.
        id: String,
        /// The kind the caller asked for.
        expected: String,
        /// The kind the document says.
        found: String,
    },
    /// Bytes that are not an Automerge document or change, or a document without a valid header.
    #[error("malformed document data: {0}")]
    Malformed(String),
    /// A record whose content does not match the model (`docs/records.md`): a field has the
    /// wrong Automerge type, is missing, or holds a value the model does not allow.
    #[error("record {id} does not match the model at {path:?}: {reason}")]
    InvalidRecord {
        /// Record id.
        id: String,
        /// The field, as a path from the document root (`answers/item-1/value`).
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Changes whose dependencies this replica does not have.
    #[error("record {id}: {missing} change(s) depend on history this replica lacks")]
    MissingDependencies {
        /// Record id.
        id: String,
        /// How many dependencies are missing.
        missing: usize,
    },
    /// The answer names an item that is not in the visit's template.
    #[error("item {item} is not in template {template}")]
    UnknownItem {
        /// Item id.
        item: String,
        /// Template record id.
        template: String,
    },
    /// The answer's value does not fit the item's answer kind.
    #[error("answer to item {item} does not fit: {reason}")]
    InvalidAnswer {
        /// Item id.
        item: String,
        /// Why.
        reason: String,
    },
    /// A media hash is referenced that the visit does not hold.
    #[error("media {hash} is not attached to visit {visit}")]
    UnknownMedia {
        /// The hash.
        hash: String,
        /// Visit id.
        visit: String,
    },
    /// The caller's request is incomplete or inconsistent (the message says what to supply).
    #[error("{0}")]
    InvalidInput(String),
    /// The database was written by a newer version of siteproof.
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// Version found.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// An image (photo or video poster) could not be decoded or its thumbnail written.
    #[error("cannot make a thumbnail: {0}")]
    Thumbnail(String),
    /// No media with that hash is in the store, or its original was evicted.
    #[error("media {0} is not in the media store")]
    MediaMissing(String),
    /// The media server refused or failed an upload step.
    #[error("upload failed: {0}")]
    Upload(String),
    /// A peer session was refused: the peer could not prove it is a current member of this
    /// device's group, or it sent what it may not (records outside the group's scope, a
    /// back-office kind). Nothing it sent after that point is kept.
    #[error("peer refused: {0}")]
    PeerRefused(String),
    /// A peer session broke off: the bytes did not decrypt or frame, or the connection was cut
    /// or went silent. Whole records applied before stay; the next session completes.
    #[error("peer session broken: {0}")]
    PeerBroken(String),
    /// The caller cancelled a long-running operation.
    #[error("cancelled")]
    Cancelled,
    /// The server could not be reached, or the connection broke.
    #[error("network error: {0}")]
    Network(String),
    /// The server refused a request; `code` is its machine-readable error code.
    #[error("server refused the request ({status} {code}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code, e.g. `unauthorized`.
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// JSON (profile, cursor, template file) could not be read.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    /// SQLite failed.
    #[error("storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    /// File I/O failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The store key does not open this store. Nothing was changed: open it again with the
    /// right key.
    #[error("the key does not open this store")]
    WrongKey,
    /// The store is encrypted and was opened without a key.
    #[error("the store is encrypted: open it with its key")]
    KeyRequired,
    /// A key was given for a store that is not encrypted (or `rekey` was called on one).
    #[error("the store is not encrypted")]
    NotEncrypted,
    /// This build has no SQLCipher: an encrypted store can be neither made nor opened.
    #[error("this build cannot encrypt the store (no SQLCipher)")]
    EncryptionUnavailable,
    /// A store key of the wrong form (not 32 bytes).
    #[error("invalid store key: {0}")]
    InvalidKey(String),
    /// An encrypted media file is cut short, altered, or not this store's: none of its
    /// content is handed out.
    #[error("media file {hash} is damaged: {reason}")]
    MediaDamaged {
        /// The file's hash.
        hash: String,
        /// What check failed.
        reason: String,
    },
    /// Automerge refused an operation.
    #[error("document error: {0}")]
    Automerge(Box<automerge::AutomergeError>),
    /// A document's content does not match the model.
    #[error("document content does not match the model: {0}")]
    Hydrate(Box<autosurgeon::HydrateError>),
    /// Writing the model into a document failed.
    #[error("could not write document: {0}")]
    Reconcile(Box<autosurgeon::ReconcileError>),
}

impl Error {
    /// Names `hash` in an error from reading its file: a failed integrity check becomes
    /// [`Error::MediaDamaged`].
    pub(crate) fn for_media(self, hash: &crate::ids::MediaHash) -> Self {
        match self {
            Error::Io(e) => match e
                .get_ref()
                .and_then(|i| i.downcast_ref::<crate::media::Damaged>())
            {
                Some(d) => Error::MediaDamaged {
                    hash: hash.to_string(),
                    reason: d.to_string(),
                },
                None => Error::Io(e),
            },
            other => other,
        }
    }
}

// The document libraries' errors are large; boxed, they keep every `Result` in the crate small.
impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        Error::Automerge(Box::new(e))
    }
}

impl From<autosurgeon::HydrateError> for Error {
    fn from(e: autosurgeon::HydrateError) -> Self {
        Error::Hydrate(Box::new(e))
    }
}

impl From<autosurgeon::ReconcileError> for Error {
    fn from(e: autosurgeon::ReconcileError) -> Self {
        Error::Reconcile(Box::new(e))
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
