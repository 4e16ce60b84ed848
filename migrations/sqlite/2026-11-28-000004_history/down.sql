DROP TABLE indicator_history;
DROP TABLE project_indicator_history;
DROP TABLE project_code_history;
DROP TABLE project_history;
ALTER TABLE snapshots DROP COLUMN version;
DROP INDEX value_revisions_by_version;
ALTER TABLE value_revisions DROP COLUMN version;
DROP TABLE data_versions;
