CREATE TABLE indicator_values_old (
    project_id BIGINT NOT NULL REFERENCES projects (id),
    indicator TEXT NOT NULL REFERENCES indicators (code),
    period TEXT NOT NULL REFERENCES periods (id),
    value BIGINT NOT NULL,
    kvinnor BIGINT,
    man BIGINT,
    ej_angivet BIGINT,
    comment TEXT,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL,
    submission_id TEXT REFERENCES submissions (id),
    PRIMARY KEY (project_id, indicator, period)
);
INSERT INTO indicator_values_old (project_id, indicator, period, value, kvinnor, man,
    ej_angivet, comment, updated_at, updated_by, submission_id)
SELECT project_id, indicator, period, value, kvinnor, man, ej_angivet, comment, updated_at,
    updated_by, submission_id
FROM indicator_values;
DROP TABLE indicator_values;
ALTER TABLE indicator_values_old RENAME TO indicator_values;
CREATE INDEX indicator_values_by_indicator ON indicator_values (indicator, period, project_id, value);

CREATE TABLE value_entities_old (
    project_id BIGINT NOT NULL,
    indicator TEXT NOT NULL,
    period TEXT NOT NULL,
    orgnr TEXT NOT NULL,
    PRIMARY KEY (project_id, indicator, period, orgnr),
    FOREIGN KEY (project_id, indicator, period)
        REFERENCES indicator_values (project_id, indicator, period) ON DELETE CASCADE
);
INSERT INTO value_entities_old (project_id, indicator, period, orgnr)
SELECT project_id, indicator, period, orgnr FROM value_entities;
DROP TABLE value_entities;
ALTER TABLE value_entities_old RENAME TO value_entities;
CREATE INDEX value_entities_by_indicator ON value_entities (indicator, period, orgnr, project_id);

CREATE TABLE value_revisions_old (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL,
    indicator TEXT NOT NULL,
    period TEXT NOT NULL,
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
    submission_id TEXT,
    version BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT value_revisions_value_fkey FOREIGN KEY (project_id, indicator, period)
        REFERENCES indicator_values (project_id, indicator, period)
);
INSERT INTO value_revisions_old (id, project_id, indicator, period, old_value, new_value,
    new_kvinnor, new_man, new_ej_angivet, new_entities, comment, changed_at, changed_by,
    submission_id, version)
SELECT id, project_id, indicator, period, old_value, new_value, new_kvinnor, new_man,
    new_ej_angivet, new_entities, comment, changed_at, changed_by, submission_id, version
FROM value_revisions;
DROP TABLE value_revisions;
ALTER TABLE value_revisions_old RENAME TO value_revisions;
SELECT setval(pg_get_serial_sequence('value_revisions', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM value_revisions), false);
CREATE INDEX value_revisions_by_project ON value_revisions (project_id, id);
CREATE INDEX value_revisions_by_version ON value_revisions (indicator, period, version);
CREATE INDEX value_revisions_since ON value_revisions (version);
