-- Schema version 12 (after 011, the rate counters): which enterprises' risk facts changed.
-- The office keeps the facts of a region in memory (server/src/backoffice/supervision/
-- cache.rs) and, before each read, gathers again exactly the enterprises named here since
-- its last look. The triggers below name every enterprise whose facts a write may change, for
-- every writer of the tables the facts are read from: the index (visits, findings, hazards),
-- the registry, the merges and the leads. An append-only log (a plain insert per change, the
-- cheapest write SQLite has); `seq` only grows (AUTOINCREMENT), and the office's warming
-- deletes the rows every kept entry has read past.
CREATE TABLE bo_risk_changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    region      TEXT NOT NULL,
    credit_code TEXT NOT NULL
);

-- A visit: its enterprise before (a replaced row, a changed code, an undone merge) and after.
CREATE TRIGGER bo_risk_visit_before_insert BEFORE INSERT ON bo_visits BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT region, credit_code FROM bo_visits WHERE id = NEW.id AND credit_code IS NOT NULL;
END;
CREATE TRIGGER bo_risk_visit_insert AFTER INSERT ON bo_visits BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT NEW.region, NEW.credit_code WHERE NEW.credit_code IS NOT NULL;
END;
CREATE TRIGGER bo_risk_visit_update AFTER UPDATE ON bo_visits BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT region, code FROM (SELECT OLD.region AS region, OLD.credit_code AS code
                              UNION SELECT NEW.region, NEW.credit_code)
    WHERE code IS NOT NULL;
END;
CREATE TRIGGER bo_risk_visit_delete AFTER DELETE ON bo_visits BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT OLD.region, OLD.credit_code WHERE OLD.credit_code IS NOT NULL;
END;

-- A finding or a hazard: the enterprise of its visit.
CREATE TRIGGER bo_risk_finding_insert AFTER INSERT ON bo_findings BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT region, credit_code FROM bo_visits
    WHERE id = NEW.visit_id AND credit_code IS NOT NULL;
END;
CREATE TRIGGER bo_risk_finding_delete AFTER DELETE ON bo_findings BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT region, credit_code FROM bo_visits
    WHERE id = OLD.visit_id AND credit_code IS NOT NULL;
END;
CREATE TRIGGER bo_risk_case_insert AFTER INSERT ON bo_cases BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT region, credit_code FROM bo_visits
    WHERE id = NEW.visit_id AND credit_code IS NOT NULL;
END;
CREATE TRIGGER bo_risk_case_update AFTER UPDATE ON bo_cases BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT region, credit_code FROM bo_visits
    WHERE id IN (OLD.visit_id, NEW.visit_id) AND credit_code IS NOT NULL;
END;
CREATE TRIGGER bo_risk_case_delete AFTER DELETE ON bo_cases BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT region, credit_code FROM bo_visits
    WHERE id = OLD.visit_id AND credit_code IS NOT NULL;
END;

-- A registered enterprise (name, sectors).
CREATE TRIGGER bo_risk_enterprise_insert AFTER INSERT ON bo_enterprises BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT NEW.region, NEW.credit_code WHERE NEW.credit_code IS NOT NULL;
END;
CREATE TRIGGER bo_risk_enterprise_update AFTER UPDATE ON bo_enterprises BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT region, code FROM (SELECT OLD.region AS region, OLD.credit_code AS code
                              UNION SELECT NEW.region, NEW.credit_code)
    WHERE code IS NOT NULL;
END;
CREATE TRIGGER bo_risk_enterprise_delete AFTER DELETE ON bo_enterprises BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT OLD.region, OLD.credit_code WHERE OLD.credit_code IS NOT NULL;
END;

-- A merge made or undone: the enterprise it names (its visits' new codes are named by the
-- visit triggers, its leads here).
CREATE TRIGGER bo_risk_merge_insert AFTER INSERT ON bo_site_merges BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT NEW.region, NEW.credit_code WHERE NEW.credit_code IS NOT NULL;
END;
CREATE TRIGGER bo_risk_merge_update AFTER UPDATE ON bo_site_merges BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT region, code FROM (SELECT OLD.region AS region, OLD.credit_code AS code
                              UNION SELECT NEW.region, NEW.credit_code)
    WHERE code IS NOT NULL;
END;

-- A lead: the enterprises it may be linked to by either link of the registry's `LEADS_OF`
-- (a live merge of its site name; a visit answering the push it became), before and after.
CREATE TRIGGER bo_risk_lead_insert AFTER INSERT ON bo_leads BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT region, credit_code FROM bo_site_merges
    WHERE region = NEW.region AND site = NEW.site AND undone_at IS NULL
    UNION SELECT region, credit_code FROM bo_visits
    WHERE assignment = NEW.assignment_id AND credit_code IS NOT NULL;
END;
CREATE TRIGGER bo_risk_lead_update AFTER UPDATE ON bo_leads BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT region, credit_code FROM bo_site_merges
    WHERE region IN (OLD.region, NEW.region) AND site IN (OLD.site, NEW.site)
    AND undone_at IS NULL
    UNION SELECT region, credit_code FROM bo_visits
    WHERE assignment IN (OLD.assignment_id, NEW.assignment_id) AND credit_code IS NOT NULL;
END;
CREATE TRIGGER bo_risk_lead_delete AFTER DELETE ON bo_leads BEGIN
    INSERT INTO bo_risk_changes (region, credit_code)
    SELECT region, credit_code FROM bo_site_merges
    WHERE region = OLD.region AND site = OLD.site AND undone_at IS NULL
    UNION SELECT region, credit_code FROM bo_visits
    WHERE assignment = OLD.assignment_id AND credit_code IS NOT NULL;
END;
