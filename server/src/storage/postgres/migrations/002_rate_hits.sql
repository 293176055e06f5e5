-- Schema version 2: throttling counters (login, enrollment and lead-form limits) shared by
-- every process, one row per counted hit, deleted once expired (`expires_at`, ms since the
-- Unix epoch), and administrators' login unlocks (SQLite migrations 005 and 011).

CREATE TABLE rate_hits (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key        TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX rate_hits_by_key ON rate_hits (key, expires_at);
CREATE INDEX rate_hits_by_expiry ON rate_hits (expires_at);

CREATE TABLE login_unlocks (
    login       TEXT PRIMARY KEY,
    unlocked_at BIGINT NOT NULL
);
