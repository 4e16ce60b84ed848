-- A value's rows keep one foreign key: the value's project. The other keys of the value
-- tables are written by one function (`db::submissions::apply_values`) from one checked
-- record in one transaction: a revision and a value's enterprises with the value's own key,
-- the value with the submission inserted just before it, with an indicator and a half-year
-- the checks found in the reference data read in the same transaction. No project,
-- indicator, half-year, submission or value is ever deleted. On PostgreSQL each of these
-- keys was a per-row trigger that looks up and locks the parent row: together two thirds
-- of a bulk submission's time in the database (100,000 values and revisions in 5.2 s with
-- them, 2.3 s with the project's key alone). `tests/api/integrity.rs` holds the writer to
-- what the keys said, after every kind of write.
-- The tables are built again, the one way SQLite changes a key (the same text for both
-- backends); on SQLite the values and their enterprises WITHOUT ROWID, kept in their primary
-- key's b-tree: one b-tree fewer to write per row (their other index holds the whole key).
-- Children first: a parent still referenced could not be dropped.
CREATE TABLE value_revisions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    version BIGINT NOT NULL DEFAULT 0
);
INSERT INTO value_revisions_new (id, project_id, indicator, period, old_value, new_value,
    new_kvinnor, new_man, new_ej_angivet, new_entities, comment, changed_at, changed_by,
    submission_id, version)
SELECT id, project_id, indicator, period, old_value, new_value, new_kvinnor, new_man,
    new_ej_angivet, new_entities, comment, changed_at, changed_by, submission_id, version
FROM value_revisions;
DROP TABLE value_revisions;
ALTER TABLE value_revisions_new RENAME TO value_revisions;
-- AUTOINCREMENT goes on after the largest id copied (sqlite_sequence follows the table).
CREATE INDEX value_revisions_by_project ON value_revisions (project_id, id);
CREATE INDEX value_revisions_by_version ON value_revisions (indicator, period, version);
CREATE INDEX value_revisions_since ON value_revisions (version);

CREATE TABLE value_entities_new (
    project_id BIGINT NOT NULL,
    indicator TEXT NOT NULL,
    period TEXT NOT NULL,
    orgnr TEXT NOT NULL,
    PRIMARY KEY (project_id, indicator, period, orgnr)
) WITHOUT ROWID;
INSERT INTO value_entities_new (project_id, indicator, period, orgnr)
SELECT project_id, indicator, period, orgnr FROM value_entities;
DROP TABLE value_entities;
ALTER TABLE value_entities_new RENAME TO value_entities;
CREATE INDEX value_entities_by_indicator ON value_entities (indicator, period, orgnr, project_id);

CREATE TABLE indicator_values_new (
    project_id BIGINT NOT NULL REFERENCES projects (id),
    indicator TEXT NOT NULL,
    period TEXT NOT NULL,
    value BIGINT NOT NULL,
    kvinnor BIGINT,
    man BIGINT,
    ej_angivet BIGINT,
    comment TEXT,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL,
    submission_id TEXT,
    PRIMARY KEY (project_id, indicator, period)
) WITHOUT ROWID;
INSERT INTO indicator_values_new (project_id, indicator, period, value, kvinnor, man,
    ej_angivet, comment, updated_at, updated_by, submission_id)
SELECT project_id, indicator, period, value, kvinnor, man, ej_angivet, comment, updated_at,
    updated_by, submission_id
FROM indicator_values;
DROP TABLE indicator_values;
ALTER TABLE indicator_values_new RENAME TO indicator_values;
CREATE INDEX indicator_values_by_indicator ON indicator_values (indicator, period, project_id, value);
