-- Schema version 7: the office's row of each assignment it issued (SQLite migration 003),
-- written in the same transaction as the `assignment` record. Times are ms since the Unix
-- epoch.

CREATE TABLE bo_assignments (
    id         TEXT PRIMARY KEY,
    region     TEXT NOT NULL,
    grp        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    sector     TEXT,
    site       TEXT,
    lead_id    TEXT,
    due        BIGINT,
    issued_by  TEXT NOT NULL,
    issued_at  BIGINT NOT NULL
);
CREATE INDEX bo_assignments_by_region ON bo_assignments (region, issued_at);
CREATE INDEX bo_assignments_by_lead ON bo_assignments (lead_id) WHERE lead_id IS NOT NULL;
