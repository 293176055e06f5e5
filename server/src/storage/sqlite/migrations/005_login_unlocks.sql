-- An administrator's unlock of a back-office login (`siteproof admin user unlock`): the
-- running server forgets the account's counted login attempts made before `unlocked_at`
-- (ms since the Unix epoch). The counters themselves live in memory.
CREATE TABLE bo_login_unlocks (
    login       TEXT PRIMARY KEY,
    unlocked_at INTEGER NOT NULL
) WITHOUT ROWID;
