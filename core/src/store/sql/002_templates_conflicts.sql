-- Schema version 2: the template index, and conflict counts in the visit list.
ALTER TABLE visit_index ADD COLUMN conflicts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE template_index (
    id          TEXT PRIMARY KEY REFERENCES records(id),
    template_id TEXT NOT NULL,
    version     INTEGER NOT NULL,
    sector      TEXT NOT NULL,
    title_zh    TEXT NOT NULL,
    title_en    TEXT NOT NULL,
    items       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX template_index_version ON template_index (template_id, version);
