-- A value revision references its value instead of the value's project, indicator,
-- half-year and submission: a revision is written only together with its value, in the
-- same transaction and with the same keys, and the value's own foreign keys hold those.
-- One check per revision instead of four, each a lookup (on PostgreSQL a per-row trigger
-- that also locks the parent row): the largest part of a bulk submission on PostgreSQL.
-- Values are never deleted, so the history keeps its values. The table is built again (the
-- one way SQLite changes a foreign key; the same text for both backends).
CREATE TABLE value_revisions_new (
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
INSERT INTO value_revisions_new (id, project_id, indicator, period, old_value, new_value,
    new_kvinnor, new_man, new_ej_angivet, new_entities, comment, changed_at, changed_by,
    submission_id, version)
SELECT id, project_id, indicator, period, old_value, new_value, new_kvinnor, new_man,
    new_ej_angivet, new_entities, comment, changed_at, changed_by, submission_id, version
FROM value_revisions;
DROP TABLE value_revisions;
ALTER TABLE value_revisions_new RENAME TO value_revisions;
SELECT setval(pg_get_serial_sequence('value_revisions', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM value_revisions), false);
CREATE INDEX value_revisions_by_project ON value_revisions (project_id, id);
CREATE INDEX value_revisions_by_version ON value_revisions (indicator, period, version);
CREATE INDEX value_revisions_since ON value_revisions (version);
-- Not built again: value_revisions_by_indicator (indicator, period, changed_at), another
-- index to write per value. Revisions are found by data version since versions replaced
-- timestamps (the two indexes above); no query reads them by indicator and time.
