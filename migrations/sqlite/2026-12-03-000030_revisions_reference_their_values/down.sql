CREATE TABLE value_revisions_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    indicator TEXT NOT NULL REFERENCES indicators (code),
    period TEXT NOT NULL REFERENCES periods (id),
    old_value BIGINT,
    new_value BIGINT NOT NULL,
    new_kvinnor BIGINT,
    new_man BIGINT,
    new_ej_angivet BIGINT,
    -- JSON array of the organisationsnummer, for distinct indicators.
    new_entities TEXT,
    comment TEXT,
    changed_at TIMESTAMP NOT NULL,
    changed_by TEXT NOT NULL,
    submission_id TEXT REFERENCES submissions (id),
    version BIGINT NOT NULL DEFAULT 0
);
INSERT INTO value_revisions_old (id, project_id, indicator, period, old_value, new_value,
    new_kvinnor, new_man, new_ej_angivet, new_entities, comment, changed_at, changed_by,
    submission_id, version)
SELECT id, project_id, indicator, period, old_value, new_value, new_kvinnor, new_man,
    new_ej_angivet, new_entities, comment, changed_at, changed_by, submission_id, version
FROM value_revisions;
DROP TABLE value_revisions;
ALTER TABLE value_revisions_old RENAME TO value_revisions;
-- AUTOINCREMENT goes on after the largest id copied (sqlite_sequence follows the table).
CREATE INDEX value_revisions_by_project ON value_revisions (project_id, id);
CREATE INDEX value_revisions_by_indicator ON value_revisions (indicator, period, changed_at);
CREATE INDEX value_revisions_by_version ON value_revisions (indicator, period, version);
CREATE INDEX value_revisions_since ON value_revisions (version);
