-- Schema version 10 (after 009, the enterprise registry): tiered supervision
-- (server/src/backoffice/supervision). Enterprises are known by the credit code their visits
-- carry; the index keeps it on each visit and on each finding (with the checklist item), so
-- the risk facts are read from indexes alone.
ALTER TABLE bo_visits ADD COLUMN credit_code TEXT;
CREATE INDEX bo_visits_by_credit_code ON bo_visits (region, credit_code, started_at, mode)
    WHERE credit_code IS NOT NULL;
ALTER TABLE bo_findings ADD COLUMN credit_code TEXT;
ALTER TABLE bo_findings ADD COLUMN item TEXT;
-- Repeat findings: per enterprise and item, the visits that found it.
CREATE INDEX bo_findings_by_item ON bo_findings (region, credit_code, item, at, visit_id, sector)
    WHERE credit_code IS NOT NULL AND item IS NOT NULL;

-- The key-supervision list's manual entries (重点监管企业名单): open while `removed_at` is
-- null; removing one closes it with who and why.
CREATE TABLE bo_key_list (
    id             INTEGER PRIMARY KEY,
    region         TEXT NOT NULL,
    credit_code    TEXT NOT NULL,
    name           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    added_by       TEXT NOT NULL,
    added_at       INTEGER NOT NULL,
    removed_by     TEXT,
    removed_at     INTEGER,
    removed_reason TEXT
);
CREATE UNIQUE INDEX bo_key_list_open ON bo_key_list (region, credit_code) WHERE removed_at IS NULL;

-- The blacklist (黑名单): same shape; `decided_on` is the day of the decision (ms, Beijing
-- midnight).
CREATE TABLE bo_blacklist (
    id             INTEGER PRIMARY KEY,
    region         TEXT NOT NULL,
    credit_code    TEXT NOT NULL,
    name           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    decided_on     INTEGER NOT NULL,
    added_by       TEXT NOT NULL,
    added_at       INTEGER NOT NULL,
    removed_by     TEXT,
    removed_at     INTEGER,
    removed_reason TEXT
);
CREATE UNIQUE INDEX bo_blacklist_open ON bo_blacklist (region, credit_code) WHERE removed_at IS NULL;

-- Every change to the lists, append-only: who, when, what, why.
CREATE TABLE bo_supervision_audit (
    id          INTEGER PRIMARY KEY,
    region      TEXT NOT NULL,
    list        TEXT NOT NULL,
    action      TEXT NOT NULL,
    credit_code TEXT NOT NULL,
    name        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    by_login    TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX bo_supervision_audit_by_region ON bo_supervision_audit (region, at);

-- The index reads every visit again, so existing rows get their credit code and items.
UPDATE bo_index_state SET last_seq = 0;
