ALTER TABLE narrative_revisions DROP COLUMN changed_by;
