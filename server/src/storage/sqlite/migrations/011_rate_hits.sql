-- Throttling counters (login, enrollment and lead-form limits) in the database, so that they
-- hold across every process on it: one row per counted hit, deleted once it has expired
-- (`expires_at`, ms since the Unix epoch). Lead-form keys carry only salted hashes of
-- client addresses.
CREATE TABLE rate_hits (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX rate_hits_by_key ON rate_hits (key, expires_at);
CREATE INDEX rate_hits_by_expiry ON rate_hits (expires_at);
