-- The whole schema of uppfoljning. migrations/sqlite holds the same schema in SQLite's words.
-- Values, baselines and targets are exact decimals stored as integers scaled by 10^4
-- (src/domain/decimal.rs), so that both databases sum them exactly.
-- Timestamps are UTC.

CREATE TABLE regions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

-- Every code list of a project's classification, the results-chain levels and the sexes.
CREATE TABLE codes (
    dimension TEXT NOT NULL,
    code TEXT NOT NULL,
    label_sv TEXT NOT NULL,
    label_en TEXT NOT NULL,
    -- For a fokusomrade: the sakomrade it belongs to.
    parent_code TEXT,
    sort_order BIGINT NOT NULL,
    PRIMARY KEY (dimension, code)
);

CREATE TABLE indicators (
    code TEXT PRIMARY KEY,
    name_sv TEXT NOT NULL,
    name_en TEXT NOT NULL,
    unit TEXT NOT NULL,
    level TEXT NOT NULL,
    aggregation TEXT NOT NULL CHECK (aggregation IN ('sum', 'latest', 'ratio', 'distinct')),
    numerator TEXT REFERENCES indicators (code),
    denominator TEXT REFERENCES indicators (code),
    by_sex BOOLEAN NOT NULL,
    decimals BIGINT NOT NULL CHECK (decimals BETWEEN 0 AND 4),
    -- Set for indicators computed from a project field instead of reported values.
    derived_from TEXT CHECK (derived_from IN ('granted_sek', 'total_budget_sek')),
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Which indicators a project of an effektkedja must report.
CREATE TABLE indicator_requirements (
    effektkedja TEXT NOT NULL,
    indicator TEXT NOT NULL REFERENCES indicators (code),
    PRIMARY KEY (effektkedja, indicator)
);

CREATE TABLE periods (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('half_year', 'year')),
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    deadline DATE NOT NULL,
    -- 'deadline': open for the regions until the deadline has passed; 'locked': closed by an
    -- admin; 'open': reopened for every region by an admin, whatever the deadline.
    lock_mode TEXT NOT NULL CHECK (lock_mode IN ('deadline', 'locked', 'open')),
    created_at TIMESTAMP NOT NULL
);

-- A region for which a closed period is open again.
CREATE TABLE period_lock_exceptions (
    period_id TEXT NOT NULL REFERENCES periods (id),
    region TEXT NOT NULL REFERENCES regions (code),
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (period_id, region)
);

CREATE TABLE submissions (
    id TEXT PRIMARY KEY,
    region TEXT NOT NULL REFERENCES regions (code),
    subject TEXT NOT NULL,
    idempotency_key TEXT,
    request_sha256 TEXT NOT NULL,
    -- The JSON answer given, returned again on an idempotent replay.
    response TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (region, idempotency_key)
);

CREATE TABLE projects (
    id BIGSERIAL PRIMARY KEY,
    region TEXT NOT NULL REFERENCES regions (code),
    ref TEXT NOT NULL,
    title TEXT NOT NULL,
    organisation TEXT NOT NULL,
    status TEXT NOT NULL,
    project_type TEXT NOT NULL,
    sakomrade TEXT NOT NULL,
    fokusomrade TEXT,
    effektkedja TEXT NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL,
    granted_sek BIGINT NOT NULL CHECK (granted_sek >= 0),
    total_budget_sek BIGINT NOT NULL CHECK (total_budget_sek >= 0),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (region, ref),
    CHECK (start_date <= end_date)
);

-- The multi-valued codes of a project: bransch, verktyg, syfte.
CREATE TABLE project_codes (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    dimension TEXT NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (project_id, dimension, code)
);
CREATE INDEX project_codes_by_code ON project_codes (dimension, code, project_id);

-- A project's plan for one indicator: baseline, target, goal text and source.
CREATE TABLE project_indicators (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    indicator TEXT NOT NULL REFERENCES indicators (code),
    baseline BIGINT,
    baseline_year BIGINT,
    target BIGINT,
    goal TEXT,
    source TEXT,
    PRIMARY KEY (project_id, indicator)
);

-- The current actual value per project, indicator and half-year.
CREATE TABLE indicator_values (
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
CREATE INDEX indicator_values_by_indicator ON indicator_values (indicator, period, project_id, value);

-- The organisationsnummer behind a value of a distinct indicator (10 digits, normalised).
CREATE TABLE value_entities (
    project_id BIGINT NOT NULL,
    indicator TEXT NOT NULL,
    period TEXT NOT NULL,
    orgnr TEXT NOT NULL,
    PRIMARY KEY (project_id, indicator, period, orgnr),
    FOREIGN KEY (project_id, indicator, period)
        REFERENCES indicator_values (project_id, indicator, period) ON DELETE CASCADE
);
CREATE INDEX value_entities_by_indicator ON value_entities (indicator, period, orgnr, project_id);

-- Append-only history: one row per change of a value, written in the transaction of the change.
CREATE TABLE value_revisions (
    id BIGSERIAL PRIMARY KEY,
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
    submission_id TEXT REFERENCES submissions (id)
);
CREATE INDEX value_revisions_by_project ON value_revisions (project_id, id);
CREATE INDEX value_revisions_by_indicator ON value_revisions (indicator, period, changed_at);

-- The qualitative part per project and half-year.
CREATE TABLE narratives (
    project_id BIGINT NOT NULL REFERENCES projects (id),
    period TEXT NOT NULL REFERENCES periods (id),
    progress TEXT NOT NULL,
    lessons TEXT NOT NULL,
    deviations TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL,
    submission_id TEXT REFERENCES submissions (id),
    PRIMARY KEY (project_id, period)
);

-- Frozen national figures. Never updated.
CREATE TABLE snapshots (
    id TEXT PRIMARY KEY,
    period TEXT NOT NULL,
    label TEXT NOT NULL,
    as_of TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    -- The canonical JSON of the figures.
    figures TEXT NOT NULL
);
CREATE INDEX snapshots_by_period ON snapshots (period, created_at);
