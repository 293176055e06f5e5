-- Schema version 5: records held but not readable by this version of the model.

-- A record received (from the server or a peer) whose content this app cannot read: kept as
-- received in doc_chunks, left out of every index, listed here with the first field that
-- failed. The row goes when an update makes the record readable again.
CREATE TABLE unreadable (
    id     TEXT PRIMARY KEY REFERENCES records(id),
    kind   TEXT NOT NULL,
    path   TEXT NOT NULL,
    reason TEXT NOT NULL,
    since  INTEGER NOT NULL
) WITHOUT ROWID;
