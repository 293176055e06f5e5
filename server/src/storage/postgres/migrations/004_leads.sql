-- Schema version 4: whistleblower leads (SQLite migrations 003 and 009). Nothing about the
-- reporter is kept but what they typed and the day of receipt; the receipt code only as its
-- SHA-256. Days are ms since the Unix epoch.

CREATE TABLE bo_leads (
    id            TEXT PRIMARY KEY,
    receipt_hash  BYTEA NOT NULL UNIQUE CHECK (length(receipt_hash) = 32),
    region        TEXT NOT NULL,
    sector        TEXT,
    site          TEXT NOT NULL,
    address       TEXT NOT NULL,
    description   TEXT NOT NULL,
    received_on   BIGINT NOT NULL,
    status        TEXT NOT NULL,
    triage_note   TEXT,
    triaged_by    TEXT,
    assignment_id TEXT
);
CREATE INDEX bo_leads_by_region ON bo_leads (region, status, received_on);
CREATE INDEX bo_leads_by_site ON bo_leads (region, site);
CREATE INDEX bo_leads_by_assignment ON bo_leads (assignment_id) WHERE assignment_id IS NOT NULL;
