-- Schema version 8: the chain of custody and the outcome of each evidence check (SQLite
-- migration 004). `entry_hash` is SHA-256 over the entry's canonical text, which includes
-- `prev_hash` (the previous entry's `entry_hash`; 64 zeros for seq 1). An append takes the
-- chain's advisory lock, reads the head and inserts the next entry in one transaction; `at`
-- is the database's clock then, so `at` follows `seq` whichever process appends. Times are ms
-- since the Unix epoch.

CREATE TABLE custody_log (
    seq        BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);
CREATE INDEX custody_by_subject ON custody_log (subject, seq);

CREATE TABLE evidence (
    record_id  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    size       BIGINT NOT NULL,
    signer     TEXT,
    status     TEXT NOT NULL,
    reason     TEXT,
    statement  BYTEA,
    signature  BYTEA,
    checked_at BIGINT NOT NULL,
    PRIMARY KEY (record_id, hash)
);
CREATE INDEX evidence_by_hash ON evidence (hash);
