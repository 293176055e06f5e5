-- Schema version 3: inspection content in the back office (server/src/backoffice): pushes to
-- groups (assignments), collections from them, whistleblower leads, the rosters and template
-- drafts. Assignments and collections are records in the sync log; these rows index them.

-- Which assignment a visit was started from.
ALTER TABLE bo_visits ADD COLUMN assignment TEXT;
CREATE INDEX bo_visits_by_assignment ON bo_visits (assignment) WHERE assignment IS NOT NULL;

-- One row per assignment record, written with the record by the back office (its only writer).
CREATE TABLE bo_assignments (
    id         TEXT PRIMARY KEY,
    region     TEXT NOT NULL,
    grp        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    sector     TEXT,
    site       TEXT,
    lead_id    TEXT,
    due        INTEGER,
    issued_by  TEXT NOT NULL,
    issued_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX bo_assignments_by_region ON bo_assignments (region, issued_at);

-- One row per collection record (work update or practice), read from the log by the index.
CREATE TABLE bo_collections (
    id         TEXT PRIMARY KEY,
    region     TEXT NOT NULL,
    grp        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    author     TEXT NOT NULL,
    written_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX bo_collections_by_region ON bo_collections (region, written_at);

-- Whistleblower leads (举报线索). Nothing about the reporter is kept: no address, no agent,
-- no contact unless they typed one, and the day of receipt rather than the moment. The
-- receipt code is kept only as its SHA-256.
CREATE TABLE bo_leads (
    id            TEXT PRIMARY KEY,
    receipt_hash  BLOB NOT NULL UNIQUE,
    region        TEXT NOT NULL,
    sector        TEXT,
    site          TEXT NOT NULL,
    address       TEXT NOT NULL,
    description   TEXT NOT NULL,
    received_on   INTEGER NOT NULL,
    status        TEXT NOT NULL,
    triage_note   TEXT,
    triaged_by    TEXT,
    assignment_id TEXT
) WITHOUT ROWID;
CREATE INDEX bo_leads_by_region ON bo_leads (region, status, received_on);

-- The inspector roster (督导检查人员库) and the expert pool (专家库) of each region.
CREATE TABLE bo_inspectors (
    id       INTEGER PRIMARY KEY,
    region   TEXT NOT NULL,
    name     TEXT NOT NULL,
    unit     TEXT NOT NULL,
    phone    TEXT,
    sectors  TEXT NOT NULL DEFAULT '',
    grp      TEXT
);
CREATE INDEX bo_inspectors_by_region ON bo_inspectors (region, grp);

CREATE TABLE bo_experts (
    id        INTEGER PRIMARY KEY,
    region    TEXT NOT NULL,
    name      TEXT NOT NULL,
    specialty TEXT NOT NULL,
    sectors   TEXT NOT NULL DEFAULT '',
    unit      TEXT NOT NULL,
    phone     TEXT
);
CREATE INDEX bo_experts_by_region ON bo_experts (region);

-- Template versions imported but not yet published (publishing makes the record).
CREATE TABLE bo_template_drafts (
    id          TEXT NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    imported_at INTEGER NOT NULL,
    PRIMARY KEY (id, version)
) WITHOUT ROWID;

-- Re-read every visit so existing rows get their assignment.
UPDATE bo_index_state SET last_seq = 0;
