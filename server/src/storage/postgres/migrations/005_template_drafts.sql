-- Schema version 5: template versions imported but not yet published (SQLite migration 003).
-- Publishing a version creates its `template` record and deletes the draft in one
-- transaction. Times are ms since the Unix epoch.

CREATE TABLE bo_template_drafts (
    id          TEXT NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 0),
    body        TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (id, version)
);
