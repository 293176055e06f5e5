-- Schema version 4: the media keyring of an encrypted store (empty in an unencrypted one).

-- Each key wraps the per-file keys in the headers of the media files written while it was
-- the newest; files name their key by `id`. The rows sit inside the SQLCipher database, so
-- the store key protects them and a re-key re-encrypts them.
CREATE TABLE media_keys (
    id          INTEGER PRIMARY KEY,
    key         BLOB NOT NULL,             -- 32 bytes
    created_at  INTEGER NOT NULL
);
