-- Schema version 7: re-inspection (复查) results. A phone records what it found for each
-- hazard of a re-inspection assignment in the re-inspection visit's `reinspections` map; the
-- visit index keeps one row per result here, placed on the ledger entry (`case_id`).
CREATE TABLE bo_reinspections (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL,
    visit_id   TEXT NOT NULL,
    region     TEXT NOT NULL,
    grp        TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    note       TEXT,
    media      TEXT NOT NULL,
    by_name    TEXT NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX bo_reinspections_by_case ON bo_reinspections (case_id, at);
CREATE INDEX bo_reinspections_by_visit ON bo_reinspections (visit_id);

-- The index reads every visit again, so results already synced are placed.
UPDATE bo_index_state SET last_seq = 0;
