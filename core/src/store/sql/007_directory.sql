-- Schema version 7: the region's enterprise directory (the `directory` record the server
-- writes), one row per enterprise, so the inspector's offline search never loads the
-- document. Rewritten from the document with every change to it, like the other indexes.
CREATE TABLE directory_index (
    record          TEXT NOT NULL,
    credit_code     TEXT NOT NULL,
    name            TEXT NOT NULL,
    former_names    TEXT NOT NULL, -- joined by newlines
    address         TEXT NOT NULL,
    sectors         TEXT NOT NULL, -- sector codes joined by commas
    tier            TEXT,
    open_hazards    INTEGER NOT NULL,
    overdue_hazards INTEGER NOT NULL,
    key_listed      INTEGER NOT NULL,
    blacklisted     INTEGER NOT NULL,
    search          TEXT NOT NULL, -- lower-cased code, name, former names and address
    PRIMARY KEY (record, credit_code)
) WITHOUT ROWID;
CREATE INDEX directory_index_by_name ON directory_index (record, name);
