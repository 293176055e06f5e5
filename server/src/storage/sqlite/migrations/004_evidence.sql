-- Schema version 4: signed evidence and the custody log (docs/evidence.md).

-- The Ed25519 public key a device sent at enrollment (32 bytes), if any.
ALTER TABLE devices ADD COLUMN public_key BLOB;

-- The outcome of checking one piece of evidence: a file a record references. `status` is
-- `verified`, `unverified` (no signature, or no key to check it with) or `rejected` (with
-- `reason`). The statement and signature checked are kept for re-verification and export.
CREATE TABLE evidence (
    record_id  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    signer     TEXT,
    status     TEXT NOT NULL,
    reason     TEXT,
    statement  BLOB,
    signature  BLOB,
    checked_at INTEGER NOT NULL,
    PRIMARY KEY (record_id, hash)
) WITHOUT ROWID;
CREATE INDEX evidence_by_hash ON evidence (hash);

-- The chain of custody: append-only, hash-chained. `entry_hash` is SHA-256 over the entry's
-- canonical text, which includes `prev_hash` (the previous entry's `entry_hash`; 64 zeros for
-- seq 1). Appends run in BEGIN IMMEDIATE transactions: one writer, no fork.
CREATE TABLE custody_log (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);
CREATE INDEX custody_by_subject ON custody_log (subject, seq);
