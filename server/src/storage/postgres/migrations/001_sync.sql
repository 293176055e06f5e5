-- Schema version 1 of the server on PostgreSQL: the sync log and the accounts it serves
-- (the tables of SQLite migrations 001 and 004 that `SyncStorage` reads and writes).
-- Times are milliseconds since the Unix epoch, as on SQLite.

CREATE TABLE server_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE regions (
    code       TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE groups (
    id         TEXT PRIMARY KEY,
    region     TEXT NOT NULL REFERENCES regions(code),
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One-time codes, stored as SHA-256 of their canonical form.
CREATE TABLE enrollment_codes (
    code_hash  BYTEA PRIMARY KEY,
    group_id   TEXT NOT NULL REFERENCES groups(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    used_by    TEXT
);

-- Devices hold a bearer token; only its SHA-256 is kept. `public_key`: the Ed25519 key a
-- device sent at enrollment (32 bytes), if any.
CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  BYTEA NOT NULL UNIQUE,
    region      TEXT NOT NULL,
    group_id    TEXT NOT NULL REFERENCES groups(id),
    enrolled_at BIGINT NOT NULL,
    revoked_at  BIGINT,
    public_key  BYTEA
);
CREATE INDEX devices_by_group ON devices (region, group_id);

-- One row per record. The header (kind, region, grp) never changes after creation.
CREATE TABLE documents (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    region      TEXT NOT NULL,
    grp         TEXT NOT NULL,
    created_seq BIGINT NOT NULL,
    created_by  TEXT
);

-- The append-only change log. `seq` comes from an identity sequence, drawn only while the
-- appending transaction holds the log's advisory lock (`storage/postgres/log.rs`), so seq
-- order is commit order; a rolled-back append leaves a gap no reader ever sees filled.
CREATE TABLE changes (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_id    TEXT NOT NULL REFERENCES documents(id),
    hash      BYTEA NOT NULL,
    region    TEXT NOT NULL,
    grp       TEXT NOT NULL,
    pushed_by TEXT,
    data      BYTEA NOT NULL,
    UNIQUE (doc_id, hash)
);
CREATE INDEX changes_by_scope ON changes (region, grp, seq);
CREATE INDEX changes_by_doc ON changes (doc_id, seq);

-- Per-record compaction: a saved document covering every change with seq <= snapshots.seq.
CREATE TABLE snapshots (
    doc_id TEXT PRIMARY KEY REFERENCES documents(id),
    seq    BIGINT NOT NULL,
    data   BYTEA NOT NULL
);
