-- Schema version 9: the enterprise registry (企业库), keyed by the unified social credit code
-- within a region, and the reviewers' merges of name-only sites into an enterprise.

-- The enterprise of each visit, the one credit-code field of the index that the registry and
-- supervision (010) both read: the code typed on the visit (trimmed, upper case), or, for a
-- visit typed with only a site name, the code of the live merge of that name (`site_merge`
-- names the merge, so its undo clears exactly those). NULL: a name-only site not merged.
ALTER TABLE bo_visits ADD COLUMN credit_code TEXT;
ALTER TABLE bo_visits ADD COLUMN site_merge INTEGER;
-- The checklist item of each finding, for repeat findings of the same item.
ALTER TABLE bo_findings ADD COLUMN item TEXT;
-- An enterprise's visits; and, covering, the latest (covert) visit of every enterprise.
CREATE INDEX bo_visits_by_credit_code ON bo_visits (region, credit_code, started_at, mode)
    WHERE credit_code IS NOT NULL;
CREATE INDEX bo_visits_by_site ON bo_visits (region, site) WHERE credit_code IS NULL;
CREATE INDEX bo_visits_by_site_merge ON bo_visits (site_merge) WHERE site_merge IS NOT NULL;
CREATE INDEX bo_leads_by_site ON bo_leads (region, site);
CREATE INDEX bo_leads_by_assignment ON bo_leads (assignment_id) WHERE assignment_id IS NOT NULL;

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
