-- Schema version 2: the back office (server/src/backoffice). Its own tables, prefixed `bo_`;
-- the sync tables are only read.

-- Web users, each bound to a region. `sectors`: comma-separated sector codes a sector
-- department sees (empty for reviewers and admins).
CREATE TABLE bo_users (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    region        TEXT NOT NULL,
    sectors       TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);

-- Sessions: only the SHA-256 of the cookie's random id is kept.
CREATE TABLE bo_sessions (
    id_hash    BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES bo_users(id),
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- What the visit index has read of the change log.
CREATE TABLE bo_index_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL
);
INSERT INTO bo_index_state (id, last_seq) VALUES (1, 0);

-- One row per visit record, read from its document: what lists, filters and counts use.
CREATE TABLE bo_visits (
    id         TEXT PRIMARY KEY,
    region     TEXT NOT NULL,
    grp        TEXT NOT NULL,
    site       TEXT NOT NULL,
    sector     TEXT NOT NULL,
    mode       TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    major      INTEGER NOT NULL,
    general    INTEGER NOT NULL,
    conflicts  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX bo_visits_by_region ON bo_visits (region, started_at);

-- One row per finding of an indexed visit.
CREATE TABLE bo_findings (
    visit_id    TEXT NOT NULL,
    finding_id  TEXT NOT NULL,
    region      TEXT NOT NULL,
    grp         TEXT NOT NULL,
    sector      TEXT NOT NULL,
    severity    TEXT NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (visit_id, finding_id)
) WITHOUT ROWID;
CREATE INDEX bo_findings_by_region ON bo_findings (region, at);

-- One row per case record, written with the record by the back office (its only writer).
CREATE TABLE bo_cases (
    id          TEXT PRIMARY KEY,
    region      TEXT NOT NULL,
    grp         TEXT NOT NULL,
    visit_id    TEXT NOT NULL,
    finding_id  TEXT NOT NULL,
    site        TEXT NOT NULL,
    sector      TEXT NOT NULL,
    severity    TEXT NOT NULL,
    description TEXT NOT NULL,
    status      TEXT NOT NULL,
    unit        TEXT,
    deadline    INTEGER,
    escalated   INTEGER NOT NULL,
    opened_at   INTEGER NOT NULL,
    closed_at   INTEGER,
    UNIQUE (visit_id, finding_id)
) WITHOUT ROWID;
CREATE INDEX bo_cases_by_region ON bo_cases (region, opened_at);
