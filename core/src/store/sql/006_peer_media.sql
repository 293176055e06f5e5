-- Schema version 6: originals arriving from a peer, kept piece by piece until whole, so a
-- cut session resumes where it stopped. Rows live in the store (encrypted with it), never as
-- a plaintext file; they are deleted once the original is verified and stored, or refused.
CREATE TABLE peer_media_parts (
    hash     TEXT NOT NULL,
    "offset" INTEGER NOT NULL,
    data     BLOB NOT NULL,
    PRIMARY KEY (hash, "offset")
) WITHOUT ROWID;
