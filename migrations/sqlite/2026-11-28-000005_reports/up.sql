-- Reporting rounds: a region's report for a half-year, signed off by the region and
-- accepted or returned by Tillväxtverket. No row: the report is open.
CREATE TABLE reports (
    region TEXT NOT NULL REFERENCES regions (code),
    period TEXT NOT NULL REFERENCES periods (id),
    state TEXT NOT NULL CHECK (state IN ('open', 'submitted', 'accepted', 'returned')),
    -- Increases with every transition; the report's ETag.
    revision BIGINT NOT NULL,
    PRIMARY KEY (region, period)
);

-- Append-only: every transition of a report, and every admin change to an accepted
-- report's data (from_state = to_state = 'accepted').
CREATE TABLE report_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    region TEXT NOT NULL REFERENCES regions (code),
    period TEXT NOT NULL REFERENCES periods (id),
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    subject TEXT NOT NULL,
    role TEXT NOT NULL,
    comment TEXT,
    -- JSON: what was missing when a region signed off an incomplete report.
    missing TEXT,
    -- The data version of the write that made it, so that as_of finds the states then.
    version BIGINT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX report_events_by_report ON report_events (region, period, id);
