-- Schema version 1: records as Automerge chunks, the outbox, and the visit list index.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per record (one Automerge document).
CREATE TABLE records (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    region     TEXT NOT NULL,
    grp        TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- A document is the concatenation of its chunks in seq order: at most one snapshot
-- (a full save) followed by incremental saves. Compaction writes a new snapshot and deletes
-- the older chunks in the same transaction.
CREATE TABLE doc_chunks (
    doc_id   TEXT NOT NULL REFERENCES records(id),
    seq      INTEGER NOT NULL,
    snapshot INTEGER NOT NULL,
    data     BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;

-- Changes (by hash) that the server has not acknowledged yet. The bytes live in the document.
CREATE TABLE outbox (
    doc_id TEXT NOT NULL,
    hash   BLOB NOT NULL,
    PRIMARY KEY (doc_id, hash)
) WITHOUT ROWID;

CREATE TABLE visit_index (
    id               TEXT PRIMARY KEY REFERENCES records(id),
    site_name        TEXT NOT NULL,
    sector           TEXT NOT NULL,
    mode             TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER,
    answered         INTEGER NOT NULL,
    major_findings   INTEGER NOT NULL,
    general_findings INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX visit_index_started ON visit_index (started_at DESC);
