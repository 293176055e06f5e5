-- Schema version 1 of the sync server.

CREATE TABLE server_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The installation's epoch: made once, with the database. A database restored from a backup
-- keeps its epoch; cursors are checked against change hashes for that case.
INSERT INTO server_meta (key, value) VALUES ('epoch', lower(hex(randomblob(16))));

CREATE TABLE regions (
    code       TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE groups (
    id         TEXT PRIMARY KEY,
    region     TEXT NOT NULL REFERENCES regions(code),
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- One-time codes, stored as SHA-256 of their canonical form.
CREATE TABLE enrollment_codes (
    code_hash  BLOB PRIMARY KEY,
    group_id   TEXT NOT NULL REFERENCES groups(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    used_by    TEXT
) WITHOUT ROWID;

-- Devices hold a bearer token; only its SHA-256 is kept.
CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE,
    region      TEXT NOT NULL,
    group_id    TEXT NOT NULL REFERENCES groups(id),
    enrolled_at INTEGER NOT NULL,
    revoked_at  INTEGER
) WITHOUT ROWID;

-- One row per record. The header (kind, region, grp) never changes after creation.
CREATE TABLE documents (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    region      TEXT NOT NULL,
    grp         TEXT NOT NULL,
    created_seq INTEGER NOT NULL,
    created_by  TEXT
) WITHOUT ROWID;

-- The append-only change log. `seq` is global and never reused (AUTOINCREMENT); the scope
-- columns are copies of the record's, so a pull reads its scope through one index.
CREATE TABLE changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id    TEXT NOT NULL REFERENCES documents(id),
    hash      BLOB NOT NULL,
    region    TEXT NOT NULL,
    grp       TEXT NOT NULL,
    pushed_by TEXT,
    data      BLOB NOT NULL,
    UNIQUE (doc_id, hash)
);
CREATE INDEX changes_by_scope ON changes (region, grp, seq);
CREATE INDEX changes_by_doc ON changes (doc_id, seq);

-- Per-record compaction: a saved document covering every change with seq <= snapshots.seq.
CREATE TABLE snapshots (
    doc_id TEXT PRIMARY KEY REFERENCES documents(id),
    seq    INTEGER NOT NULL,
    data   BLOB NOT NULL
);
