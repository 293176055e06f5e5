-- Schema version 9: the enterprise registry (企业库), keyed by the unified social credit code
-- within a region, and the reviewers' merges of name-only sites into an enterprise.

-- The credit code typed on each visit (trimmed, upper case; NULL when none was typed), and the
-- checklist item of each finding, so an enterprise's visits and repeat findings are found
-- from the index.
ALTER TABLE bo_visits ADD COLUMN credit_code TEXT;
ALTER TABLE bo_findings ADD COLUMN item TEXT;
CREATE INDEX bo_visits_by_credit_code ON bo_visits (region, credit_code)
    WHERE credit_code IS NOT NULL;
CREATE INDEX bo_visits_by_site ON bo_visits (region, site) WHERE credit_code IS NULL;
CREATE INDEX bo_leads_by_site ON bo_leads (region, site);

-- One enterprise of a region. `former_names` and `sectors` are lists joined by newlines
-- and commas; `search` is the lower-cased name, former names and code the list searches.
CREATE TABLE bo_enterprises (
    region       TEXT NOT NULL,
    credit_code  TEXT NOT NULL,
    name         TEXT NOT NULL,
    former_names TEXT NOT NULL DEFAULT '',
    address      TEXT NOT NULL DEFAULT '',
    sectors      TEXT NOT NULL DEFAULT '',
    department   TEXT NOT NULL DEFAULT '',
    search       TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (region, credit_code)
) WITHOUT ROWID;
CREATE INDEX bo_enterprises_by_name ON bo_enterprises (region, name);

-- A reviewer's merge of a name-only site (visits and leads typed with this site name and no
-- credit code) into an enterprise. The row is the audit trail: who merged and when, and,
-- once undone, who undid it and when. At most one live merge per site name.
CREATE TABLE bo_site_merges (
    id          INTEGER PRIMARY KEY,
    region      TEXT NOT NULL,
    site        TEXT NOT NULL,
    credit_code TEXT NOT NULL,
    merged_by   TEXT NOT NULL,
    merged_at   INTEGER NOT NULL,
    undone_by   TEXT,
    undone_at   INTEGER
);
CREATE UNIQUE INDEX bo_site_merges_live ON bo_site_merges (region, site)
    WHERE undone_at IS NULL;
CREATE INDEX bo_site_merges_by_enterprise ON bo_site_merges (region, credit_code, merged_at);

-- The index writes every row again, with the new columns.
UPDATE bo_index_state SET last_seq = 0;
