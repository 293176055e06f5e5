-- Schema version 3: evidence media and the upload queue.

-- One row per media file the phone holds or held. The bytes are files named by `hash` in
-- the media folder; `original` says whether the original is still on the phone.
CREATE TABLE media (
    hash        TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    kind        TEXT NOT NULL,             -- photo | video | audio
    mime        TEXT NOT NULL,
    original    TEXT NOT NULL,             -- present | evicted
    thumbnail   INTEGER NOT NULL,          -- 1 when a thumbnail file was made
    verified_at INTEGER,                   -- when the server confirmed it holds these bytes
    evicted_at  INTEGER,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- One upload per media hash (a file attached to two visits goes up once). `record_id` is the
-- record the server checks the upload against. `offset` is the last offset the server
-- acknowledged; `upload_url` the tus resource once created.
CREATE TABLE upload_queue (
    hash        TEXT PRIMARY KEY REFERENCES media(hash),
    record_id   TEXT NOT NULL,
    state       TEXT NOT NULL,             -- pending | done | failed
    "offset"    INTEGER NOT NULL DEFAULT 0,
    upload_url  TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    policy      TEXT NOT NULL,             -- any | unmetered_only
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX upload_queue_state ON upload_queue (state, created_at);
