-- Schema version 10: leases on tus uploads (`storage/upload_leases.rs`), so that one process
-- at a time appends to an upload and the expiry sweep spares one being appended to; a
-- lease lasts until `expires_at` (ms since the Unix epoch) unless its holder renews it
-- (SQLite migration 013).

CREATE TABLE upload_leases (
    upload_id  TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
