-- Figures that stand: every write transaction that changes data commits as the next data
-- version, in commit order, and everything a figure depends on keeps its history by
-- version, so that the answer as of a version is the same query as the live one with
-- another version.

-- When each data version was committed: stamped by its write as its last statement.
CREATE TABLE data_versions (
    version BIGINT PRIMARY KEY,
    committed_at TIMESTAMP NOT NULL
);
CREATE INDEX data_versions_by_time ON data_versions (committed_at, version);

-- A value revision carries the data version of the write that made it.
ALTER TABLE value_revisions ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX value_revisions_by_version ON value_revisions (indicator, period, version);

-- A snapshot records the data version its figures were computed at.
ALTER TABLE snapshots ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- Type-2 history: a row was current from the version valid_from until (not including) the
-- version valid_to; valid_to is NULL while it is current.
CREATE TABLE project_history (
    project_id BIGINT NOT NULL REFERENCES projects (id),
    valid_from BIGINT NOT NULL,
    valid_to BIGINT,
    region TEXT NOT NULL,
    title TEXT NOT NULL,
    organisation TEXT NOT NULL,
    status TEXT NOT NULL,
    project_type TEXT NOT NULL,
    sakomrade TEXT NOT NULL,
    fokusomrade TEXT,
    effektkedja TEXT NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    granted_sek BIGINT NOT NULL,
    total_budget_sek BIGINT NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    changed_by TEXT NOT NULL,
    PRIMARY KEY (project_id, valid_from)
);
CREATE INDEX project_history_current ON project_history (valid_to, project_id);

CREATE TABLE project_code_history (
    project_id BIGINT NOT NULL REFERENCES projects (id),
    dimension TEXT NOT NULL,
    code TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT,
    PRIMARY KEY (project_id, dimension, code, valid_from)
);
CREATE INDEX project_code_history_by_code ON project_code_history (dimension, code, project_id);

CREATE TABLE project_indicator_history (
    project_id BIGINT NOT NULL REFERENCES projects (id),
    indicator TEXT NOT NULL,
    baseline BIGINT,
    baseline_year BIGINT,
    target BIGINT,
    goal TEXT,
    source TEXT,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT,
    PRIMARY KEY (project_id, indicator, valid_from)
);

CREATE TABLE indicator_history (
    code TEXT NOT NULL,
    name_sv TEXT NOT NULL,
    name_en TEXT NOT NULL,
    unit TEXT NOT NULL,
    level TEXT NOT NULL,
    aggregation TEXT NOT NULL,
    numerator TEXT,
    denominator TEXT,
    by_sex BOOLEAN NOT NULL,
    decimals BIGINT NOT NULL,
    derived_from TEXT,
    active BOOLEAN NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT,
    PRIMARY KEY (code, valid_from)
);

-- What was stored before this migration is known as it is now: its history starts at
-- version 0. Value revisions get a version per instant they were made at, in time order.
INSERT INTO data_versions (version, committed_at)
SELECT ROW_NUMBER() OVER (ORDER BY changed_at), changed_at
FROM (SELECT DISTINCT changed_at FROM value_revisions) AS instants;
UPDATE value_revisions SET version = (
    SELECT d.version FROM data_versions d WHERE d.committed_at = value_revisions.changed_at
);
INSERT INTO project_history (project_id, valid_from, valid_to, region, title, organisation,
    status, project_type, sakomrade, fokusomrade, effektkedja, start_date, end_date,
    granted_sek, total_budget_sek, changed_at, changed_by)
SELECT id, 0, NULL, region, title, organisation, status, project_type, sakomrade, fokusomrade,
    effektkedja, start_date, end_date, granted_sek, total_budget_sek, updated_at, 'migration'
FROM projects;
INSERT INTO project_code_history (project_id, dimension, code, valid_from, valid_to)
SELECT project_id, dimension, code, 0, NULL FROM project_codes;
INSERT INTO project_indicator_history (project_id, indicator, baseline, baseline_year, target,
    goal, source, valid_from, valid_to)
SELECT project_id, indicator, baseline, baseline_year, target, goal, source, 0, NULL
FROM project_indicators;
INSERT INTO indicator_history (code, name_sv, name_en, unit, level, aggregation, numerator,
    denominator, by_sex, decimals, derived_from, active, valid_from, valid_to)
SELECT code, name_sv, name_en, unit, level, aggregation, numerator, denominator, by_sex,
    decimals, derived_from, active, 0, NULL
FROM indicators;

-- This migration changes what figures are computed from, so it is a data version of its
-- own, after every version above.
UPDATE data_version SET version = version + (SELECT COUNT(*) FROM data_versions) + 1;
INSERT INTO data_versions (version, committed_at)
SELECT version, STRFTIME('%Y-%m-%d %H:%M:%f', 'now') FROM data_version;
