-- The aggregate index catches up with the writes since its data version: the value
-- revisions and project changes after a version, found without reading them all.
CREATE INDEX value_revisions_since ON value_revisions (version);
CREATE INDEX project_history_since ON project_history (valid_from);
