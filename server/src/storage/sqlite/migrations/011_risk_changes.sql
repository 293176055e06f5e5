-- Schema version 11 (after 010, tiered supervision): which enterprises' risk facts changed.
-- The office keeps the facts of a region in memory (server/src/backoffice/supervision/
-- cache.rs) and, before each read, gathers again exactly the enterprises named here since
-- its last look. The triggers below name every enterprise whose facts a write may change, for
-- every writer of the tables the facts are read from: the index (visits, findings, hazards),
-- the registry, the merges and the leads. `seq` grows with each change (the latest wins).
CREATE TABLE bo_risk_changes (
    region      TEXT NOT NULL,
    credit_code TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (region, credit_code)
) WITHOUT ROWID;
CREATE INDEX bo_risk_changes_by_seq ON bo_risk_changes (seq);

-- A visit: its enterprise before (a replaced row, a changed code, an undone merge) and after.
CREATE TRIGGER bo_risk_visit_before_insert BEFORE INSERT ON bo_visits BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT v.region, v.credit_code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    FROM bo_visits v WHERE v.id = NEW.id AND v.credit_code IS NOT NULL
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER bo_risk_visit_insert AFTER INSERT ON bo_visits
WHEN NEW.credit_code IS NOT NULL BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT NEW.region, NEW.credit_code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    WHERE true
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER bo_risk_visit_update AFTER UPDATE ON bo_visits BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT region, code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    FROM (SELECT OLD.region AS region, OLD.credit_code AS code
          UNION SELECT NEW.region, NEW.credit_code)
    WHERE code IS NOT NULL
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER bo_risk_visit_delete AFTER DELETE ON bo_visits
WHEN OLD.credit_code IS NOT NULL BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT OLD.region, OLD.credit_code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    WHERE true
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;

-- A finding or a hazard: the enterprise of its visit.
CREATE TRIGGER bo_risk_finding_insert AFTER INSERT ON bo_findings BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT v.region, v.credit_code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    FROM bo_visits v WHERE v.id = NEW.visit_id AND v.credit_code IS NOT NULL
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER bo_risk_finding_delete AFTER DELETE ON bo_findings BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT v.region, v.credit_code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    FROM bo_visits v WHERE v.id = OLD.visit_id AND v.credit_code IS NOT NULL
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER bo_risk_case_insert AFTER INSERT ON bo_cases BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT v.region, v.credit_code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    FROM bo_visits v WHERE v.id = NEW.visit_id AND v.credit_code IS NOT NULL
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER bo_risk_case_update AFTER UPDATE ON bo_cases BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT v.region, v.credit_code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    FROM bo_visits v WHERE v.id IN (OLD.visit_id, NEW.visit_id) AND v.credit_code IS NOT NULL
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER bo_risk_case_delete AFTER DELETE ON bo_cases BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT v.region, v.credit_code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    FROM bo_visits v WHERE v.id = OLD.visit_id AND v.credit_code IS NOT NULL
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;

-- A registered enterprise (name, sectors).
CREATE TRIGGER bo_risk_enterprise_insert AFTER INSERT ON bo_enterprises BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT NEW.region, NEW.credit_code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    WHERE true
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER bo_risk_enterprise_update AFTER UPDATE ON bo_enterprises BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT region, code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    FROM (SELECT OLD.region AS region, OLD.credit_code AS code
          UNION SELECT NEW.region, NEW.credit_code)
    WHERE true
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER bo_risk_enterprise_delete AFTER DELETE ON bo_enterprises BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT OLD.region, OLD.credit_code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    WHERE true
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;

-- A merge made or undone: the enterprise it names (its visits' new codes are named by the
-- visit trigger, its leads here).
CREATE TRIGGER bo_risk_merge_insert AFTER INSERT ON bo_site_merges BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT NEW.region, NEW.credit_code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    WHERE true
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER bo_risk_merge_update AFTER UPDATE ON bo_site_merges BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT region, code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    FROM (SELECT OLD.region AS region, OLD.credit_code AS code
          UNION SELECT NEW.region, NEW.credit_code)
    WHERE true
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;

-- A lead: the enterprises it may be linked to by either link of the registry's `LEADS_OF`
-- (a live merge of its site name; a visit answering the push it became), before and after.
CREATE TRIGGER bo_risk_lead_insert AFTER INSERT ON bo_leads BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT region, code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    FROM (SELECT m.region AS region, m.credit_code AS code FROM bo_site_merges m
            WHERE m.region = NEW.region AND m.site = NEW.site AND m.undone_at IS NULL
          UNION SELECT v.region, v.credit_code FROM bo_visits v
            WHERE v.assignment = NEW.assignment_id AND v.credit_code IS NOT NULL)
    WHERE true
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER bo_risk_lead_update AFTER UPDATE ON bo_leads BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT region, code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    FROM (SELECT m.region AS region, m.credit_code AS code FROM bo_site_merges m
            WHERE m.region IN (OLD.region, NEW.region) AND m.site IN (OLD.site, NEW.site)
            AND m.undone_at IS NULL
          UNION SELECT v.region, v.credit_code FROM bo_visits v
            WHERE v.assignment IN (OLD.assignment_id, NEW.assignment_id)
            AND v.credit_code IS NOT NULL)
    WHERE true
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
CREATE TRIGGER bo_risk_lead_delete AFTER DELETE ON bo_leads BEGIN
    INSERT INTO bo_risk_changes (region, credit_code, seq)
    SELECT region, code, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bo_risk_changes)
    FROM (SELECT m.region AS region, m.credit_code AS code FROM bo_site_merges m
            WHERE m.region = OLD.region AND m.site = OLD.site AND m.undone_at IS NULL
          UNION SELECT v.region, v.credit_code FROM bo_visits v
            WHERE v.assignment = OLD.assignment_id AND v.credit_code IS NOT NULL)
    WHERE true
    ON CONFLICT (region, credit_code) DO UPDATE SET seq = excluded.seq;
END;
