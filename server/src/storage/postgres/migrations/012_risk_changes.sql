-- Schema version 12: which enterprises' risk facts changed (SQLite migrations 012 and 015).
-- Each server process keeps the risk facts of the regions it serves in memory
-- (server/src/backoffice/supervision/cache.rs) and, before each read, gathers again exactly
-- the enterprises named here since its last look. The triggers below name every enterprise
-- whose facts a write may change, for every writer of the tables the facts are read from:
-- the index (visits, findings, hazards), the registry, the merges and the leads.
--
-- Writers append without waiting for each other, so a `seq` may become visible after a
-- higher one did. `xid` is the writer's transaction: a reader keeps, with the highest `seq`
-- it saw, the oldest transaction of this database still in flight in its snapshot, and
-- reads next the rows with a higher `seq` or of a transaction at or past that one: every row
-- its snapshot did not see (storage/postgres/supervision.rs).
CREATE TABLE bo_risk_changes (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region      TEXT NOT NULL,
    credit_code TEXT NOT NULL,
    xid         BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint)
);
CREATE INDEX bo_risk_changes_by_xid ON bo_risk_changes (xid);
CREATE INDEX bo_risk_changes_by_region ON bo_risk_changes (region, seq);

-- How far the log was pruned: every deleted row's `xid` is below `below`. A process deletes
-- only rows it has read past and raises `below` in the same transaction; a process whose
-- position's horizon is below it reads its facts whole again.
CREATE TABLE bo_risk_pruned (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    below BIGINT NOT NULL
);
INSERT INTO bo_risk_pruned (id, below) VALUES (1, 0);

-- A visit or a registered enterprise: its enterprise before (a changed code, an undone
-- merge, a deleted row) and after.
CREATE FUNCTION bo_risk_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT DISTINCT c.region, c.credit_code FROM (
        SELECT OLD.region AS region, OLD.credit_code AS credit_code WHERE TG_OP <> 'INSERT'
        UNION ALL SELECT NEW.region, NEW.credit_code WHERE TG_OP <> 'DELETE'
    ) c WHERE c.credit_code IS NOT NULL;
    RETURN NULL;
END;
$$;
CREATE TRIGGER bo_risk_visit AFTER INSERT OR UPDATE OR DELETE ON bo_visits
    FOR EACH ROW EXECUTE FUNCTION bo_risk_row_changed();
CREATE TRIGGER bo_risk_enterprise AFTER INSERT OR UPDATE OR DELETE ON bo_enterprises
    FOR EACH ROW EXECUTE FUNCTION bo_risk_row_changed();

-- A merge made or undone: the enterprise it names (its visits' new codes are named by the
-- visit trigger, its leads here).
CREATE TRIGGER bo_risk_merge AFTER INSERT OR UPDATE OR DELETE ON bo_site_merges
    FOR EACH ROW EXECUTE FUNCTION bo_risk_row_changed();

-- A finding or a hazard: the enterprise of its visit, before and after.
CREATE FUNCTION bo_risk_visit_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    visits TEXT[] := ARRAY[]::TEXT[];
BEGIN
    IF TG_OP <> 'INSERT' THEN
        visits := visits || OLD.visit_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        visits := visits || NEW.visit_id;
    END IF;
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT DISTINCT v.region, v.credit_code FROM bo_visits v
    WHERE v.id = ANY (visits) AND v.credit_code IS NOT NULL;
    RETURN NULL;
END;
$$;
CREATE TRIGGER bo_risk_finding AFTER INSERT OR UPDATE OR DELETE ON bo_findings
    FOR EACH ROW EXECUTE FUNCTION bo_risk_visit_row_changed();
CREATE TRIGGER bo_risk_case AFTER INSERT OR UPDATE OR DELETE ON bo_cases
    FOR EACH ROW EXECUTE FUNCTION bo_risk_visit_row_changed();

-- A lead: the enterprises it may be linked to by either link of the registry's `LEADS_OF`
-- (a live merge of its site name; a visit answering the push it became), before and after.
CREATE FUNCTION bo_risk_lead_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    regions TEXT[] := ARRAY[]::TEXT[];
    sites TEXT[] := ARRAY[]::TEXT[];
    assignments TEXT[] := ARRAY[]::TEXT[];
BEGIN
    IF TG_OP <> 'INSERT' THEN
        regions := regions || OLD.region;
        sites := sites || OLD.site;
        assignments := assignments || OLD.assignment_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        regions := regions || NEW.region;
        sites := sites || NEW.site;
        assignments := assignments || NEW.assignment_id;
    END IF;
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT m.region, m.credit_code FROM bo_site_merges m
    WHERE m.region = ANY (regions) AND m.site = ANY (sites) AND m.undone_at IS NULL
    UNION SELECT v.region, v.credit_code FROM bo_visits v
    WHERE v.assignment = ANY (assignments) AND v.credit_code IS NOT NULL;
    RETURN NULL;
END;
$$;
CREATE TRIGGER bo_risk_lead AFTER INSERT OR UPDATE OR DELETE ON bo_leads
    FOR EACH ROW EXECUTE FUNCTION bo_risk_lead_changed();
