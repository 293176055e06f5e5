-- Schema version 6: a region's rosters (SQLite migration 003): the inspectors, each in at
-- most one group, and the expert pool. Sectors are codes joined by commas.

CREATE TABLE bo_inspectors (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region   TEXT NOT NULL,
    name     TEXT NOT NULL,
    unit     TEXT NOT NULL,
    phone    TEXT,
    sectors  TEXT NOT NULL DEFAULT '',
    grp      TEXT
);
CREATE INDEX bo_inspectors_by_region ON bo_inspectors (region, grp);

CREATE TABLE bo_experts (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region    TEXT NOT NULL,
    name      TEXT NOT NULL,
    specialty TEXT NOT NULL,
    sectors   TEXT NOT NULL DEFAULT '',
    unit      TEXT NOT NULL,
    phone     TEXT
);
CREATE INDEX bo_experts_by_region ON bo_experts (region);
