-- Schema version 10 (after 009, the enterprise registry): tiered supervision
-- (server/src/backoffice/supervision). Its risk facts are read from the index through the
-- enterprise of each visit (`bo_visits.credit_code`, migration 009).
-- Repeat findings: the findings of each visit by item.
CREATE INDEX bo_findings_by_item ON bo_findings (visit_id, item, at, sector)
    WHERE item IS NOT NULL;

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
