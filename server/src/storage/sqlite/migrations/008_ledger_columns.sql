-- Schema version 8: the ledger's pages read precomputed, indexed columns instead of stating
-- the lifecycle's rules in SQL.
-- `listed`: listed for supervision whatever the date (by hand, or major and not fixed on the
-- spot, until closed), computed by `siteproof_core::is_listed` when the row is written.
-- `open_deadline`: the deadline while it still runs (the status awaits rectification), so
-- "overdue at t" is `open_deadline < t` and "listed at t" is `listed OR open_deadline < t`.
ALTER TABLE bo_cases ADD COLUMN listed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bo_cases ADD COLUMN open_deadline INTEGER;
-- The ledger in its order (newest found first), and the report's figures over a period,
-- read from the index alone (it covers every column they count).
CREATE INDEX bo_cases_by_opened ON bo_cases
    (region, opened_at, sector, severity, status, fixed_on_spot, listed, open_deadline);
-- Counting the listed (and all) entries of a region from the index alone.
CREATE INDEX bo_cases_listed ON bo_cases (region, listed, open_deadline);
-- The overdue filter.
CREATE INDEX bo_cases_open_deadline ON bo_cases (region, open_deadline)
    WHERE open_deadline IS NOT NULL;
-- A sector department always filters by sector, and so does the ledger's sector filter.
CREATE INDEX bo_cases_by_sector ON bo_cases (region, sector, opened_at);

-- The index writes every row again, with the new columns.
UPDATE bo_index_state SET last_seq = 0;
