-- Schema version 3: the back office's users and their sessions (SQLite migration 002). Only
-- the SHA-256 of a session cookie's value is kept; times are ms since the Unix epoch.

CREATE TABLE bo_users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    region        TEXT NOT NULL,
    sectors       TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);

CREATE TABLE bo_sessions (
    id_hash    BYTEA PRIMARY KEY CHECK (length(id_hash) = 32),
    user_id    BIGINT NOT NULL REFERENCES bo_users (id),
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX bo_sessions_by_expiry ON bo_sessions (expires_at);
