-- Schema version 9: the hazard ledger's rows of the cases the office wrote (SQLite migrations
-- 002, 006 and 008), written in the same transaction as the `case` record and its custody
-- entry. `listed` and `open_deadline` are precomputed as on SQLite (`ledger_columns`). Times
-- are ms since the Unix epoch.

CREATE TABLE bo_cases (
    id            TEXT PRIMARY KEY,
    region        TEXT NOT NULL,
    grp           TEXT NOT NULL,
    visit_id      TEXT NOT NULL,
    finding_id    TEXT NOT NULL,
    site          TEXT NOT NULL,
    sector        TEXT NOT NULL,
    severity      TEXT NOT NULL,
    description   TEXT NOT NULL,
    status        TEXT NOT NULL,
    unit          TEXT,
    deadline      BIGINT,
    escalated     BOOLEAN NOT NULL,
    opened_at     BIGINT NOT NULL,
    closed_at     BIGINT,
    fixed_on_spot BOOLEAN NOT NULL DEFAULT FALSE,
    recorded      BOOLEAN NOT NULL DEFAULT TRUE,
    listed        BOOLEAN NOT NULL DEFAULT FALSE,
    open_deadline BIGINT,
    UNIQUE (visit_id, finding_id)
);
CREATE INDEX bo_cases_by_opened ON bo_cases (region, opened_at);
CREATE INDEX bo_cases_by_sector ON bo_cases (region, sector, opened_at);
CREATE INDEX bo_cases_open_deadline ON bo_cases (region, open_deadline)
    WHERE open_deadline IS NOT NULL;
