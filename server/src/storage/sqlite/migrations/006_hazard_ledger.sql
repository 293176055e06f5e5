-- Schema version 6: every finding is a hazard ledger entry from the moment it is synced.
-- `bo_cases` holds one row per finding: the visit index enters it (`recorded` 0: no case
-- record yet, its status follows the finding) and the office's case record, once written,
-- replaces it (`recorded` 1). `opened_at` is when the hazard was found.
ALTER TABLE bo_cases ADD COLUMN fixed_on_spot INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bo_cases ADD COLUMN recorded INTEGER NOT NULL DEFAULT 1;
CREATE INDEX bo_cases_by_status ON bo_cases (region, status, opened_at);
CREATE INDEX bo_cases_by_visit ON bo_cases (visit_id);

-- Existing cases: found when their finding was, as far as the index knows it.
UPDATE bo_cases SET opened_at = COALESCE(
    (SELECT f.at FROM bo_findings f
     WHERE f.visit_id = bo_cases.visit_id AND f.finding_id = bo_cases.finding_id),
    opened_at);

-- The index reads every visit and case record again: findings without a case enter the
-- ledger, and the rows of existing cases take the statuses of this version's lifecycle.
UPDATE bo_index_state SET last_seq = 0;
