-- The change feed: one row per change a write made, written in the write's own transaction,
-- so that it commits with the data version it belongs to or not at all. A change is found by
-- its data version and its place within it (seq): writers take the version row first, so
-- versions commit in order and a reader that sees a version sees every version before it.
-- What changed is named by kind and action and the keys that apply to the kind; who made it
-- by the token's subject; when by its version's stamp (data_versions).
CREATE TABLE changes (
    version BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    action TEXT NOT NULL,
    region TEXT,
    project_ref TEXT,
    indicator TEXT,
    period TEXT,
    item TEXT,
    changed_by TEXT NOT NULL,
    PRIMARY KEY (version, seq)
);
