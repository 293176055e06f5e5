-- Schema version 14 (after 013, the log of risk changes): how far the log was pruned. Each
-- server process keeps the risk facts it read and the position in `bo_risk_changes` they are
-- up to date with; a process deletes only the changes it has read past, and raises `below`
-- past them in the same transaction. A process whose position is below it may have lost
-- changes it had not read, so it reads its facts whole again instead.
CREATE TABLE bo_risk_pruned (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    below INTEGER NOT NULL
);
INSERT INTO bo_risk_pruned (id, below) VALUES (1, 0);
