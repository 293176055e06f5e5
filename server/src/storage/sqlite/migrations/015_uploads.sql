-- Where each tus upload stands (`storage/uploads.rs`): what the client declared, its expiry,
-- the offset acknowledged, the whole-file SHA-256 state there and what the blob store needs
-- to continue the staged bytes; the blob store keeps only bytes. The expiry sweep walks
-- `uploads_expiry` (PostgreSQL migration 013).

CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    length        INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    record        TEXT NOT NULL,
    device        TEXT NOT NULL,
    mime          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    completed     INTEGER NOT NULL DEFAULT 0,
    upload_offset INTEGER NOT NULL DEFAULT 0,
    hash_state    TEXT,
    staging       TEXT NOT NULL DEFAULT ''
);

CREATE INDEX uploads_expiry ON uploads (expires_at);
