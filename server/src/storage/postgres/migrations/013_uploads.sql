-- Schema version 13: where each tus upload stands (`storage/uploads.rs`): what the client
-- declared, its expiry, the offset acknowledged, the whole-file SHA-256 state there and
-- what the blob store needs to continue the staged bytes; the blob store keeps only bytes.
-- The expiry sweep walks `uploads_expiry` (SQLite migration 015).

CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    length        BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    record        TEXT NOT NULL,
    device        TEXT NOT NULL,
    mime          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    completed     BOOLEAN NOT NULL DEFAULT FALSE,
    upload_offset BIGINT NOT NULL DEFAULT 0,
    hash_state    TEXT,
    staging       TEXT NOT NULL DEFAULT ''
);

CREATE INDEX uploads_expiry ON uploads (expires_at);
